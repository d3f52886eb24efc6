"""One bad or damaged file never stops the night: ids that never collide or move, damaged state,
caches and records, writes that never leave OUT. Each case through the command line; the bad
file gets a failed record or a counted, named skip, the rest of the run is right, nothing
outside OUT changes."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli

GERMAN = ("Neue Radwege für die Innenstadt\n\nDer Stadtrat hat am Dienstag beschlossen, dass bis zum Sommer "
          "drei neue Radwege durch die Innenstadt gebaut werden.\n\nDie Arbeiten beginnen im März und sollen "
          "zwei Millionen Euro kosten, sagte die Bürgermeisterin.\n")
ENGLISH = ("New cycle lanes for the city centre\n\nThe council decided on Tuesday that three new cycle lanes "
           "will be built through the city centre by the summer.\n\nWork starts in March and will cost two "
           "million euros, the mayor said.\n")
FRENCH = ("De nouvelles pistes cyclables au centre-ville\n\nLe conseil municipal a décidé mardi que trois "
          "nouvelles pistes cyclables seraient construites d'ici l'été.\n\nLes travaux commencent en mars et "
          "coûteront deux millions d'euros, a dit la maire.\n")


def clean_run(inputs: list[Path] | Path, out: Path, *extra: str):
    inputs = inputs if isinstance(inputs, list) else [inputs]
    return run_cli("run", *map(str, inputs), "--out", str(out), "--stages", "clean", "--workers", "1", *extra)


def record(out: Path, doc_id: str, stage: str = "clean") -> dict:
    return json.loads((out / doc_id / f"{stage}.json").read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ids_never_move_when_files_appear(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "a.txt.txt").write_text(GERMAN, encoding="utf-8")
    (inputs / "a.txt").write_text(ENGLISH, encoding="utf-8")
    assert clean_run(inputs, out).exit_code == 0
    german_before = record(out, "a.txt")
    assert "Radwege" in german_before["text"] and "cycle lanes" in record(out, "a")["text"]

    (inputs / "a.html").write_text(f"<html><body><p>{FRENCH}</p></body></html>", encoding="utf-8")
    night2 = clean_run(inputs, out)
    assert night2.exit_code == 2
    assert record(out, "a.txt")["text"] == german_before["text"], "the German document's records were replaced"
    assert "cycle lanes" in record(out, "a")["text"]
    clash = record(out, "a.html")
    assert clash["status"] == "failed" and clash["error"]["code"] == "id_clash"
    assert "a.html" in clash["error"]["message"] and "a.txt" in clash["error"]["message"]
    assert "a.html" in night2.stderr
    assert clean_run(inputs, out).exit_code == 2  # the same, night after night, until one is renamed


def test_the_same_name_in_two_inputs_fails_the_second_and_keeps_the_first(tmp_path):
    one, two, out = tmp_path / "in1", tmp_path / "in2", tmp_path / "out"
    one.mkdir()
    two.mkdir()
    (one / "x.txt").write_text(ENGLISH, encoding="utf-8")
    (two / "x.txt").write_text(GERMAN, encoding="utf-8")
    result = clean_run([one, two], out)
    assert result.exit_code == 2
    assert "cycle lanes" in record(out, "x")["text"]
    assert record(out, "x.txt")["error"]["code"] == "id_clash"
    alone = clean_run(two, out)  # in2 alone into the same OUT: in1's x is still there, and keeps its records
    assert alone.exit_code == 2 and "cycle lanes" in record(out, "x")["text"]


def test_names_that_collide_with_record_files_or_the_digest_get_their_full_name(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    (inputs / "a").mkdir(parents=True)
    (inputs / "a.txt").write_text(ENGLISH, encoding="utf-8")
    (inputs / "a" / "clean.json.txt").write_text(GERMAN, encoding="utf-8")
    (inputs / "digest.md.txt").write_text(FRENCH, encoding="utf-8")
    for _ in range(2):
        result = clean_run(inputs, out)
        assert result.exit_code == 0, result.stderr
    assert "cycle lanes" in record(out, "a")["text"]
    assert "Radwege" in record(out, "a/clean.json.txt")["text"]
    assert "pistes" in record(out, "digest.md.txt")["text"]
    digest = run_cli("digest", str(out))
    assert digest.exit_code == 0, digest.stderr
    assert (out / "digest.md").is_file()


def test_a_name_that_is_not_utf8_is_a_named_skip(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "good.txt").write_text(ENGLISH, encoding="utf-8")
    bad = os.fsencode(inputs) + b"/caf\xe9.txt"
    with open(bad, "wb") as fh:
        fh.write(FRENCH.encode("utf-8"))
    for _ in range(2):
        result = clean_run(inputs, out)
        assert result.exit_code == 0, result.stderr
        assert "undecodable_name: 1" in result.stderr
    assert record(out, "good")["status"] == "ok"


def test_a_name_with_a_newline_stays_on_one_line(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "good.txt").write_text(ENGLISH, encoding="utf-8")
    (inputs / "forged\nnewsum: all is well.txt").write_bytes(b"")
    result = clean_run(inputs, out)
    assert result.exit_code == 2
    failures = [line for line in result.stderr.splitlines() if "failed" in line and "forged" in line]
    assert len(failures) >= 1 and all("\\n" in line for line in failures)
    assert not any(line.startswith("newsum: all is well") for line in result.stderr.splitlines())


@pytest.mark.parametrize("damage", [b"", b"not a database at all " * 100, b"SQLite format 3\x00" + b"\x01" * 600])
def test_a_damaged_state_database_is_moved_aside_and_rebuilt(tmp_path, damage):
    out = tmp_path / "out"
    assert clean_run(SAMPLES, out).exit_code == 0
    state = out / ".newsum" / "state.sqlite"
    for extra in (".newsum/state.sqlite-wal", ".newsum/state.sqlite-shm"):
        (out / extra).unlink(missing_ok=True)
    state.write_bytes(damage)
    status = run_cli("status", str(out))
    assert status.exit_code == 1 and "state" in status.stderr and "Traceback" not in status.stderr
    result = clean_run(SAMPLES, out)
    assert result.exit_code == 0, result.stderr
    assert damage == b"" or "moved aside" in result.stderr
    if damage:
        assert [p.name for p in (out / ".newsum").glob("state.sqlite.damaged-*")]
    assert run_cli("status", str(out)).exit_code == 0
    assert clean_run(SAMPLES, out).exit_code == 0


def test_a_damaged_translation_cache_costs_no_record(tmp_path, tiny_config):
    out = tmp_path / "out"
    args = ["run", str(SAMPLES), "--out", str(out), "--config", str(tiny_config), "--workers", "1", "--quiet"]
    assert run_cli(*args).exit_code == 0
    summaries = sorted(p.relative_to(out) for p in out.rglob("summary.json"))
    cache = out / ".newsum" / "translations.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{cache}{extra}").unlink(missing_ok=True)
    cache.write_bytes(b"garbage" * 1000)
    assert run_cli(*args, "--force").exit_code == 0
    assert sorted(p.relative_to(out) for p in out.rglob("summary.json")) == summaries
    translated = [json.loads(p.read_text(encoding="utf-8")) for p in out.rglob("translate.json")]
    assert all(t["status"] == "ok" for t in translated) and any(t["translated"] for t in translated)


@pytest.mark.parametrize("garbage", ["{garbage", "[]", '{"stage": "detect", "doc_id": "x"}'])
def test_a_record_replaced_by_garbage_is_redone(tmp_path, garbage):
    out = tmp_path / "out"
    args = ["run", str(SAMPLES / "en-wire-story.txt"), "--out", str(out), "--stages", "clean,detect", "--workers", "1"]
    assert run_cli(*args).exit_code == 0
    good = record(out, "en-wire-story")
    (out / "en-wire-story" / "clean.json").write_text(garbage, encoding="utf-8")
    assert run_cli(*args).exit_code == 0
    assert record(out, "en-wire-story") == {**good, "timings": record(out, "en-wire-story")["timings"]}
    (out / "en-wire-story" / "detect.json").write_text(garbage, encoding="utf-8")
    assert run_cli(*args, "--declared-lang", "en").exit_code == 0  # a changed key: no JSON traceback either
    assert record(out, "en-wire-story", "detect")["language"] == "en"


def test_a_record_path_taken_by_a_folder_fails_that_document_alone(tmp_path):
    out = tmp_path / "out"
    (out / "en-wire-story" / "clean.json").mkdir(parents=True)
    result = clean_run(SAMPLES, out, "--force")
    assert result.exit_code == 2
    assert "en-wire-story" in result.stderr and "cannot write" in result.stderr
    assert record(out, "fr-article")["status"] == "ok"


def test_a_full_disk_stops_the_run_and_the_state_says_so(tmp_path, monkeypatch):
    import pipeline.workspace

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "out"
    monkeypatch.setattr(pipeline.workspace, "write_json_atomic", full)
    result = clean_run(SAMPLES, out)
    assert result.exit_code == 1 and "No space left" in result.stderr
    monkeypatch.undo()
    status = json.loads(run_cli("status", str(out), "--json").stdout)
    assert status["runs"][0]["exit_code"] == 1


def test_a_symlinked_record_folder_is_never_written_through(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    assert clean_run(SAMPLES, out).exit_code == 0
    shutil.rmtree(out / "fr-article")
    (out / "fr-article").symlink_to(outside, target_is_directory=True)
    result = clean_run(SAMPLES, out, "--force")
    assert result.exit_code == 2 and "symlink" in result.stderr
    assert list(outside.iterdir()) == []
    assert record(out, "en-wire-story")["status"] == "ok"


def test_inputs_inside_out_are_refused_and_out_inside_an_input_is_left_out(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLES, inputs)
    before = tree(inputs)
    nested_out = inputs / "out"
    for _ in range(2):
        result = clean_run(inputs, nested_out)
        assert result.exit_code == 0, result.stderr
        assert "output_folder: 1" in result.stderr
        assert run_cli("digest", str(nested_out)).exit_code == 0
    docs = {p.parent.relative_to(nested_out).as_posix() for p in nested_out.rglob("clean.json")}
    assert not any(d.startswith("out") for d in docs)
    assert {k: v for k, v in tree(inputs).items() if not k.startswith("out/")} == before
    inside = tmp_path / "o" / "in"
    shutil.copytree(SAMPLES, inside)
    refused = clean_run(inside, tmp_path / "o")
    assert refused.exit_code == 1 and "inside the output folder" in refused.stderr
    assert not (tmp_path / "o" / ".newsum").exists()


def remove_tree(top: Path) -> None:
    """rm -r with a stack of its own (shutil.rmtree recurses once per level)."""
    pending = [top]
    while pending:
        folder = pending[-1]
        subfolders = [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
        if subfolders:
            pending.extend(subfolders)
            continue
        for entry in os.scandir(folder):
            os.unlink(entry.path)
        folder.rmdir()
        pending.pop()


@pytest.fixture
def deep_tree(tmp_path):
    yield tmp_path
    for name in ("in", "out"):
        if (tmp_path / name).exists():
            remove_tree(tmp_path / name)


def test_a_very_deep_tree_is_walked_without_recursion(deep_tree):
    inputs, out = deep_tree / "in", deep_tree / "out"
    inputs.mkdir()
    deep = inputs
    for _ in range(1100):  # os.makedirs itself recurses once per level
        deep = deep / "d"
        deep.mkdir()
    (deep / "story.txt").write_text(ENGLISH, encoding="utf-8")
    (inputs / "top.txt").write_text(ENGLISH, encoding="utf-8")
    for _ in range(2):
        result = clean_run(inputs, out)
        assert result.exit_code == 0, result.stderr
        assert record(out, "top")["status"] == "ok"
    assert run_cli("digest", str(out)).exit_code == 0
    assert run_cli("detect", str(out)).exit_code == 0
