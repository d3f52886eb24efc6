"""End to end: the CLI over samples/ with tiny real models, records against their schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, load_records, run_cli, sample_files, validate, write_config

STAGE_FILES = ("clean", "detect", "translate", "summary")


def _strip_timings(records: dict) -> dict:
    return {doc: {stage: {k: v for k, v in rec.items() if k != "timings"} for stage, rec in stages.items()}
            for doc, stages in records.items()}


@pytest.fixture(scope="module")
def samples_run(tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = run_cli("run", str(ROOT / "samples"), "--out", str(out), "--config", str(tiny_config))
    return result, out


def test_every_sample_gets_four_valid_records(samples_run):
    result, out = samples_run
    assert result.exit_code == 0, result.output
    records = load_records(out)
    expected = {p.relative_to(ROOT / "samples").with_suffix("").as_posix() for p in sample_files()}
    assert set(records) == expected
    for doc_id, stages in records.items():
        assert sorted(stages) == sorted(STAGE_FILES), doc_id
        for record in stages.values():
            validate(record)
            assert record["doc_id"] == doc_id
            assert record["status"] == "ok", (doc_id, record["stage"], record["report"])


def test_non_english_samples_are_translated_by_their_pair_model(samples_run, tiny_models):
    _, out = samples_run
    records = load_records(out)
    routed = {}
    for _doc_id, stages in records.items():
        language = stages["detect"]["language"]
        translate = stages["translate"]
        if language == "en":
            assert translate["translated"] is False
            assert translate["text"] == stages["detect"]["text"]
        elif language in ("it", "fr"):
            assert translate["translated"] is True
            assert translate["model"]["id"] == str(tiny_models[language])
            # paragraph n of the output is the translation of paragraph n of the input
            n_in = len([p for p in stages["detect"]["text"].split("\n\n") if p.strip()])
            assert {s["paragraph"] for s in translate["segments"]} >= set(range(n_in))
            routed[language] = True
    assert routed == {"it": True, "fr": True}


def test_summaries_are_english_when_translated_and_abstractive_with_a_model(samples_run, tiny_models):
    _, out = samples_run
    for _doc_id, stages in load_records(out).items():
        summary = stages["summary"]
        if stages["translate"]["translated"] or stages["detect"]["language"] == "en":
            assert summary["language"] == "en"
            assert summary["method"] == "abstractive"
            assert summary["model"]["id"] == str(tiny_models["bart"])
        assert 3 <= len(summary["key_points"]) <= 5
        ids = {s["id"] for s in summary["sentences"]}
        for item in summary["provenance"]:
            assert {s["id"] for s in item["sources"]} <= ids


def test_same_run_twice_gives_the_same_records(samples_run, tiny_config, tmp_path):
    _, first = samples_run
    result = run_cli("run", str(ROOT / "samples"), "--out", str(tmp_path), "--config", str(tiny_config))
    assert result.exit_code == 0
    assert _strip_timings(load_records(tmp_path)) == _strip_timings(load_records(first))


def test_missing_model_degrades_with_exit_3_and_still_summarizes(tiny_models, tmp_path):
    models = dict(tiny_models, it=tmp_path / "no-such-model")
    config = write_config(tmp_path / "models.yaml", models)
    out = tmp_path / "out"
    result = run_cli("run", str(ROOT / "samples"), "--out", str(out), "--config", str(config))
    assert result.exit_code == 3, result.output
    assert "no-such-model" in result.output and "degraded for" in result.output
    records = load_records(out)
    italian = [d for d, s in records.items() if s["detect"]["language"] == "it"]
    assert italian
    for doc_id in italian:
        translate = records[doc_id]["translate"]
        assert translate["status"] == "degraded"
        assert translate["translated"] is False
        assert translate["text"] == records[doc_id]["detect"]["text"]
        summary = records[doc_id]["summary"]
        assert summary["language"] == "it" and summary["summary"]
        validate(translate)
        validate(summary)


def test_hub_model_not_in_cache_degrades_without_network(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config = write_config(tmp_path / "models.yaml", tiny_models,
                          summarize={"model": {"model": "example-org/not-cached-model"}})
    result = run_cli("run", str(ROOT / "samples" / "en-wire-story.txt"), "--out", str(tmp_path / "o"),
                     "--config", str(config))
    assert result.exit_code == 3
    assert "example-org/not-cached-model" in result.output and "newsum models pull" in result.output
    summary = load_records(tmp_path / "o")["en-wire-story"]["summary"]
    assert summary["method"] == "extractive" and summary["status"] == "degraded"


def test_bad_inputs_fail_alone_and_the_run_goes_on(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 8)
    good = "Il governo ha approvato la legge di bilancio dopo una lunga discussione in aula. " * 6
    (src / "latin1.txt").write_bytes(("Titolo della notizia di oggi\n\n" + good + " Perché così è.").encode("latin-1"))
    (src / "utf16.txt").write_bytes(("Titre de la nouvelle\n\n" + "Le gouvernement a présenté son budget hier soir. " * 6).encode("utf-16"))
    (src / "all-furniture.txt").write_text("Skip to main content\nShare on Facebook\n© 2025 Example News\n")
    (src / "notes.pdf").write_bytes(b"%PDF-1.4")
    (src / ".hidden.txt").write_text("hidden")
    out = tmp_path / "out"
    result = run_cli("run", str(src), "--out", str(out), "--stages", "clean,detect")
    assert result.exit_code == 2, result.output
    records = load_records(out)
    assert records["empty"]["clean"]["error"]["code"] == "empty"
    assert records["binary"]["clean"]["error"]["code"] == "binary"
    assert records["all-furniture"]["clean"]["error"]["code"] == "no_article_text"
    assert "detect" not in records["empty"]
    assert records["latin1"]["clean"]["status"] == "ok"
    assert "Perché" in records["latin1"]["clean"]["text"]
    assert records["latin1"]["detect"]["language"] == "it"
    assert records["utf16"]["clean"]["source"]["encoding"] == "utf-16"
    assert records["utf16"]["detect"]["language"] == "fr"
    for stages in records.values():
        for record in stages.values():
            validate(record)
    assert "Traceback" not in result.output
    assert "empty.txt: clean failed: empty file" in result.output
    assert "2 files skipped" in result.output


def test_folder_without_documents_is_a_usage_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "image.png").write_bytes(b"\x89PNG")
    result = run_cli("run", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "no documents" in result.output


def test_config_error_names_the_bad_key(tmp_path):
    config = tmp_path / "models.yaml"
    config.write_text("translate:\n  models:\n    it:\n      model: x\n      revison: abc\n")
    result = run_cli("run", str(ROOT / "samples"), "--out", str(tmp_path / "o"), "--config", str(config))
    assert result.exit_code == 1
    assert "translate.models.it.revison: unknown key" in result.output


def test_stage_subset_and_single_stage_commands(tiny_config, tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", str(ROOT / "samples"), "--out", str(out), "--stages", "clean,detect")
    assert result.exit_code == 0, result.output
    assert all(sorted(s) == ["clean", "detect"] for s in load_records(out).values())
    result = run_cli("translate", str(out), "--config", str(tiny_config))
    assert result.exit_code == 0, result.output
    result = run_cli("summarize", str(out), "--config", str(tiny_config))
    assert result.exit_code == 0, result.output
    for stages in load_records(out).values():
        assert sorted(stages) == sorted(STAGE_FILES)
        for record in stages.values():
            validate(record)


def test_a_stage_without_its_predecessor_takes_the_text_as_it_is(tmp_path):
    sample = ROOT / "samples" / "en-wire-story.txt"
    result = run_cli("run", str(sample), "--out", str(tmp_path), "--stages", "detect")
    assert result.exit_code == 0, result.output
    record = load_records(tmp_path)["en-wire-story"]["detect"]
    assert record["language"] == "en"
    assert record["text"] == sample.read_text(encoding="utf-8")


def test_bad_stage_list_is_a_usage_error(tmp_path):
    result = run_cli("run", str(ROOT / "samples"), "--out", str(tmp_path), "--stages", "detect,clean")
    assert result.exit_code == 1
    assert "order" in result.output


def test_help_is_instant_and_imports_no_model_code():
    code = "import sys, pipeline.cli, pipeline.runner; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    help_out = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ})
    assert help_out.returncode == 0
    assert "Exit codes" in help_out.stdout


def test_version():
    from pipeline import __version__

    result = run_cli("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_records_are_json_with_the_minimum_fields(samples_run):
    _, out = samples_run
    record = json.loads(next(Path(out).rglob("clean.json")).read_text(encoding="utf-8"))
    for key in ("schema_version", "stage", "doc_id", "status", "report", "timings", "text", "title", "removed", "source"):
        assert key in record
