"""Nights that never lie: degraded work is redone once its cause is fixed, and every run's exit
code, summary and status tell the state of OUT, through the command line as cron runs it."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import yaml
from conftest import SAMPLES, run_cli, sample_files, write_config


def missing_summarizer_config(tmp_path: Path, tiny_models: dict[str, Path]) -> tuple[Path, Path]:
    """The tiny models, with summarize.model a folder that is not there yet."""
    folder = tmp_path / "models" / "bart-sum"
    config = write_config(tmp_path / "models.yaml", tiny_models)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["summarize"]["model"]["model"] = str(folder)
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config, folder


def status_json(out: Path) -> dict:
    result = run_cli("status", str(out), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_degraded_night_is_redone_once_the_model_is_there(tmp_path, tiny_models):
    config, folder = missing_summarizer_config(tmp_path, tiny_models)
    out = tmp_path / "out"
    args = ["run", str(SAMPLES), "--out", str(out), "--config", str(config), "--workers", "1"]
    night1 = run_cli(*args)
    assert night1.exit_code == 3
    night2 = run_cli(*args)  # nothing changed: nothing is redone, but the night still says what is wrong
    assert night2.exit_code == 3
    assert "8 degraded" in night2.stderr and "unchanged since an earlier run" in night2.stderr
    assert "summarize degraded for 8 documents" in night2.stderr
    assert [r["exit_code"] for r in status_json(out)["runs"]] == [3, 3]

    shutil.copytree(tiny_models["bart"], folder)  # the fix: the model is put in place
    night3 = run_cli(*args)
    assert night3.exit_code == 0, night3.stderr
    summaries = [json.loads(p.read_text(encoding="utf-8")) for p in out.rglob("summary.json")]
    assert len(summaries) == len(sample_files())
    assert all(s["status"] == "ok" for s in summaries)
    english = [s for s in summaries if s["language"] == "en"]
    assert english and all(s["method"] == "abstractive" for s in english)
    counts = status_json(out)["runs"][0]["counts"]["stages"]
    assert counts["summarize"] == {"ok": 8} and counts["translate"] == {"skipped": 8}
    assert status_json(out)["problems"] == []


def test_problems_are_grouped_by_cause_at_the_end_of_a_run_and_in_status(tmp_path, tiny_models):
    config = write_config(tmp_path / "models.yaml", tiny_models, translate={"models": {}})  # no model at all
    out = tmp_path / "out"
    result = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(config), "--workers", "1",
                     "--stages", "clean,detect,translate")
    assert result.exit_code == 3
    cause_lines = [line for line in result.stderr.splitlines() if " degraded for " in line]
    languages = {"it", "fr", "de", "es"}  # the non-English samples
    assert len(cause_lines) == len(languages), result.stderr
    assert all(len(line) < 400 for line in cause_lines)
    status = run_cli("status", str(out))
    assert sum(" degraded for " in line for line in status.stdout.splitlines()) == len(languages)
    verbose = run_cli("status", str(out), "--verbose")
    degraded_docs = sum(1 for line in verbose.stdout.splitlines() if line.startswith("degraded"))
    assert degraded_docs > len(languages)  # every document-stage, one line each
    assert {c["documents"] for c in status_json(out)["causes"]} <= {1, 2, 3}


def test_usage_errors_exit_1_and_failed_documents_exit_2(tmp_path):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    assert run_cli("run", str(SAMPLES), "--out", str(tmp_path / "o"), "--stagess", "clean").exit_code == 1
    assert run_cli("run", str(SAMPLES)).exit_code == 1  # no --out
    assert run_cli("run", str(SAMPLES), "--out", str(tmp_path / "a-file")).exit_code == 1
    assert run_cli("status", str(tmp_path / "nowhere")).exit_code == 1
    assert run_cli("digest", str(tmp_path / "nowhere")).exit_code == 1
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    shutil.copy(SAMPLES / "en-wire-story.txt", bad)
    result = run_cli("run", str(bad), "--out", str(tmp_path / "out"), "--stages", "clean")
    assert result.exit_code == 2
    again = run_cli("run", str(bad), "--out", str(tmp_path / "out"), "--stages", "clean")
    assert again.exit_code == 2, "the failed document is still failed: the night must say so again"


def test_records_and_the_digest_are_created_with_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "out"
        assert run_cli("run", str(SAMPLES), "--out", str(out), "--stages", "clean", "--workers", "1").exit_code == 0
        assert run_cli("digest", str(out)).exit_code == 0
        files = [*out.rglob("clean.json"), out / "digest.md", out / "digest.html"]
        assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    finally:
        os.umask(previous)


def test_the_declared_language_is_checked_recorded_and_part_of_the_key(tmp_path):
    out = tmp_path / "out"
    args = ["run", str(SAMPLES / "en-wire-story.txt"), "--out", str(out), "--stages", "clean,detect", "--workers", "1"]
    bad = run_cli(*args, "--declared-lang", "italian")
    assert bad.exit_code == 1 and "ISO 639-1" in bad.stderr
    assert run_cli(*args, "--declared-lang", "it-IT").exit_code == 0
    clean = json.loads((out / "en-wire-story" / "clean.json").read_text(encoding="utf-8"))
    detect = json.loads((out / "en-wire-story" / "detect.json").read_text(encoding="utf-8"))
    assert clean["declared_language"] == "it" and detect["declared_language"] == "it"
    assert detect["language"] == "en" and detect["declaration_disagrees"] is True
    assert run_cli(*args, "--declared-lang", "fr").exit_code == 0
    counts = status_json(out)["runs"][0]["counts"]["stages"]
    assert counts == {"clean": {"ok": 1}, "detect": {"ok": 1}}, "another declared language must redo both stages"
    assert json.loads((out / "en-wire-story" / "detect.json").read_text(encoding="utf-8"))["declared_language"] == "fr"


def test_a_single_stage_command_on_a_folder_that_is_not_an_output_writes_nothing(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLES, inputs)
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*"))
    for command in ("detect", "translate", "summarize"):
        result = run_cli(command, str(inputs))
        assert result.exit_code == 1 and "not a newsum output folder" in result.stderr
    assert sorted(p.relative_to(inputs) for p in inputs.rglob("*")) == before
    assert run_cli("status", str(inputs)).exit_code == 1
    assert sorted(p.relative_to(inputs) for p in inputs.rglob("*")) == before


def test_models_list_exits_3_and_names_the_cache_when_models_are_missing(tmp_path):
    config = tmp_path / "models.yaml"
    config.write_text(f"cache_dir: {tmp_path / 'hf'}\ntranslate:\n  models:\n    it: {{model: Org/no-such-model}}\n",
                      encoding="utf-8")
    result = run_cli("models", "list", "--config", str(config))
    assert result.exit_code == 3
    assert str(tmp_path / "hf") in result.stdout and "missing" in result.stdout


def test_a_changed_model_or_cue_list_redoes_the_records_of_the_stages_that_read_it(tmp_path, monkeypatch):
    import pipeline.resources

    out = tmp_path / "out"
    args = ["run", str(SAMPLES / "en-wire-story.txt"), "--out", str(out), "--stages", "clean,detect", "--workers", "1"]
    assert run_cli(*args).exit_code == 0
    assert run_cli(*args).exit_code == 0
    skipped = {"clean": {"skipped": 1}, "detect": {"skipped": 1}}
    assert status_json(out)["runs"][0]["counts"]["stages"] == skipped, "nothing changed: nothing is redone"
    real = pipeline.resources.digest
    # the same package version, another block model (clean reads pipeline/resources/clean)
    monkeypatch.setattr(pipeline.resources, "digest", lambda *folders: real(*folders) + ("x" if "clean" in folders else ""))
    assert run_cli(*args).exit_code == 0
    assert status_json(out)["runs"][0]["counts"]["stages"] == {"clean": {"ok": 1}, "detect": {"ok": 1}}


def test_the_resource_digest_follows_every_file_name_and_byte(tmp_path):
    from pipeline.resources import tree_digest

    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "one.json").write_text("{}", encoding="utf-8")
    (tmp_path / "a" / "deep" / "two.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "b" / "three.txt").write_text("y\n", encoding="utf-8")
    first = tree_digest(tmp_path, ("a", "b"))
    assert tree_digest(tmp_path, ("b", "a")) == first  # the folders' order does not matter
    assert tree_digest(tmp_path, ("a",)) != first
    (tmp_path / "a" / "deep" / "two.txt").write_text("x \n", encoding="utf-8")
    second = tree_digest(tmp_path, ("a", "b"))
    assert second != first
    (tmp_path / "a" / "deep" / "two.txt").rename(tmp_path / "a" / "deep" / "renamed.txt")
    assert tree_digest(tmp_path, ("a", "b")) not in (first, second)
    (tmp_path / "b" / "four.txt").write_text("", encoding="utf-8")
    assert len({first, second, tree_digest(tmp_path, ("a", "b"))}) == 3
