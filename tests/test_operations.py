"""Nightly operations, with real processes: incremental reruns, locks, kills, bad input."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, load_records, run_cli, validate, write_config

SAMPLES = ROOT / "samples"


def newsum(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, **kwargs)


def start_newsum(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def last_run(out: Path) -> dict:
    result = newsum("status", str(out), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["runs"][0]


def extractive_config(tmp_path: Path) -> Path:
    path = tmp_path / "extractive.yaml"
    path.write_text("translate:\n  models: {}\nsummarize:\n  method: extractive\n", encoding="utf-8")
    return path


def make_corpus(folder: Path, n: int) -> Path:
    """n small documents in the shapes of the samples, each made distinct."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    for i in range(n):
        sub = folder / f"day{i % 7}"
        sub.mkdir(exist_ok=True)
        (sub / f"doc{i:04d}.txt").write_text(texts[i % len(texts)] + f"\n\nNote {i}: this copy is number {i}.\n",
                                             encoding="utf-8")
    return folder


def test_rerun_with_nothing_changed_does_no_stage_work(tiny_config, tmp_path):
    out = tmp_path / "out"
    first = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(tiny_config))
    assert first.exit_code == 0, first.output
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    # What a run killed in the middle of a write leaves (never a partial record), and files of someone else's.
    doc = next(out.rglob("summary.json")).parent
    stale = doc / ".summary.json.k3j2x9.tmp"
    stale.write_text('{"doc_id": "half a rec')
    others = [doc / ".notes.tmp", doc / "summary.json.tmp", out / ".newsum" / ".clean.json.abc.tmp"]
    for path in others:
        path.write_text("keep")
    second = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(tiny_config))
    assert second.exit_code == 0, second.output
    counts = last_run(out)["counts"]["stages"]
    n = len(list(SAMPLES.glob("*.*"))) - 1  # README.md is not a document
    assert counts == {stage: {"skipped": n} for stage in ("clean", "detect", "translate", "summarize")}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == before
    assert not stale.exists() and all(path.read_text() == "keep" for path in others)
    assert "removed 1 temporary file" in second.output


def test_changed_summarizer_config_reruns_only_summarize(tiny_models, tmp_path):
    out = tmp_path / "out"
    config = write_config(tmp_path / "models.yaml", tiny_models)
    assert run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(config)).exit_code == 0
    changed = write_config(tmp_path / "models.yaml", tiny_models,
                           summarize={"method": "extractive", "sentences": 2})
    result = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(changed))
    assert result.exit_code == 0, result.output
    counts = last_run(out)["counts"]["stages"]
    n = counts["clean"]["skipped"]
    assert counts["detect"] == {"skipped": n} and counts["translate"] == {"skipped": n}
    assert counts["summarize"] == {"ok": n}
    for stages in load_records(out).values():
        assert stages["summary"]["method"] == "extractive"
        assert stages["summary"]["length"]["sentences"] == 2


def test_changed_input_reruns_that_document_only_and_force_redoes_all(tmp_path):
    src = tmp_path / "in"
    make_corpus(src, 6)
    out = tmp_path / "out"
    config = extractive_config(tmp_path)
    assert newsum("run", str(src), "--out", str(out), "--config", str(config)).returncode == 3  # no it/fr model
    target = next(src.rglob("doc0003.txt"))
    target.write_text(target.read_text(encoding="utf-8") + "\nOne more paragraph, added later in the day.\n",
                      encoding="utf-8")
    newsum("run", str(src), "--out", str(out), "--config", str(config))
    counts = last_run(out)["counts"]["stages"]
    assert counts["clean"] == {"skipped": 5, "ok": 1}
    import hashlib

    assert load_records(out)["day3/doc0003"]["clean"]["source"]["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    newsum("run", str(src), "--out", str(out), "--config", str(config), "--force")
    counts = last_run(out)["counts"]["stages"]
    assert "skipped" not in counts["clean"] and sum(counts["clean"].values()) == 6


def test_retry_failed_redoes_only_failures(tmp_path):
    src = tmp_path / "in"
    make_corpus(src, 3)
    (src / "broken.txt").write_bytes(b"")
    out = tmp_path / "out"
    config = extractive_config(tmp_path)
    assert newsum("run", str(src), "--out", str(out), "--config", str(config), "--stages", "clean").returncode == 2
    # unchanged, so skipped, and still failed: the night says so again
    assert newsum("run", str(src), "--out", str(out), "--config", str(config), "--stages", "clean").returncode == 2
    assert last_run(out)["counts"]["stages"]["clean"] == {"skipped": 4}
    newsum("run", str(src), "--out", str(out), "--config", str(config), "--stages", "clean", "--retry-failed")
    assert last_run(out)["counts"]["stages"]["clean"] == {"skipped": 3, "failed": 1}
    status = newsum("status", str(out))
    assert "broken" in status.stdout and "empty file" in status.stdout


def test_second_run_on_the_same_out_exits_4_and_a_dead_holder_is_taken_over(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pipeline.workspace import Workspace; Workspace(sys.argv[1]).lock().acquire(); "
                               "print('held', flush=True); time.sleep(120)", str(out)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = newsum("run", str(SAMPLES), "--out", str(out), "--stages", "clean")
        assert result.returncode == 4
        assert f"pid {holder.pid}" in result.stderr and "--wait" in result.stderr
        started = time.monotonic()
        result = newsum("run", str(SAMPLES), "--out", str(out), "--stages", "clean", "--wait", "1")
        assert result.returncode == 4 and time.monotonic() - started >= 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    result = newsum("run", str(SAMPLES), "--out", str(out), "--stages", "clean", "--log-file", str(tmp_path / "log"))
    assert result.returncode == 0, result.stderr
    assert f"pid {holder.pid}" in (tmp_path / "log").read_text(encoding="utf-8")


def test_two_concurrent_runs_one_wins_the_other_exits_4(tmp_path):
    src = make_corpus(tmp_path / "in", 60)
    out = tmp_path / "out"
    config = extractive_config(tmp_path)
    first = start_newsum("run", str(src), "--out", str(out), "--config", str(config), "--batch-size", "4")
    deadline = time.monotonic() + 60
    while not (out / ".newsum" / "lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = newsum("run", str(src), "--out", str(out), "--config", str(config))
    first.communicate(timeout=600)
    assert second.returncode == 4, second.stderr
    assert first.returncode == 3  # no Italian/French model in this config: degraded, not failed


def _assert_records_valid(out: Path) -> None:
    for path in out.rglob("*.json"):
        if any(part.startswith(".") for part in path.relative_to(out).parts):
            continue
        validate(json.loads(path.read_text(encoding="utf-8")))


def test_sigkill_at_random_moments_leaves_valid_records_and_the_next_run_finishes(tiny_config, tmp_path):
    src = make_corpus(tmp_path / "in", 24)
    out = tmp_path / "out"
    rng = random.Random(7)
    for _ in range(4):
        process = start_newsum("run", str(src), "--out", str(out), "--config", str(tiny_config), "--batch-size", "2")
        time.sleep(rng.uniform(0.5, 4.0))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        _assert_records_valid(out)
    result = newsum("run", str(src), "--out", str(out), "--config", str(tiny_config))
    assert result.returncode == 0, result.stderr
    _assert_records_valid(out)
    records = load_records(out)
    assert len(records) == 24
    assert all(sorted(s) == ["clean", "detect", "summary", "translate"] for s in records.values())
    # and nothing is left to do
    newsum("run", str(src), "--out", str(out), "--config", str(tiny_config))
    assert all(set(c) == {"skipped"} for c in last_run(out)["counts"]["stages"].values())


def test_sigterm_finishes_the_documents_in_hand_and_exits_130(tmp_path):
    src = make_corpus(tmp_path / "in", 300)
    out = tmp_path / "out"
    config = extractive_config(tmp_path)
    process = start_newsum("run", str(src), "--out", str(out), "--config", str(config), "--batch-size", "4",
                           "--workers", "1")
    deadline = time.monotonic() + 120
    while len(list(out.rglob("summary.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    _assert_records_valid(out)
    done = len(list(out.rglob("summary.json")))
    assert 4 <= done < 300
    result = newsum("run", str(src), "--out", str(out), "--config", str(config))
    assert result.returncode == 3
    assert len(list(out.rglob("summary.json"))) == 300
    assert last_run(out)["counts"]["stages"]["clean"]["skipped"] >= done


def test_removed_documents_are_reported_and_pruned_on_request(tmp_path):
    src = make_corpus(tmp_path / "in", 4)
    out = tmp_path / "out"
    assert newsum("run", str(src), "--out", str(out), "--stages", "clean").returncode == 0
    gone = next(src.rglob("doc0002.txt"))
    gone.unlink()
    result = newsum("run", str(src), "--out", str(out), "--stages", "clean")
    assert "1 document no longer in the input" in result.stderr and "day2/doc0002" in result.stderr
    assert (out / "day2" / "doc0002" / "clean.json").exists()
    result = newsum("run", str(src), "--out", str(out), "--stages", "clean", "--prune")
    assert not (out / "day2").exists()
    assert (out / "day0" / "doc0000" / "clean.json").exists()


def test_bad_input_corpus_gives_one_failure_per_bad_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("A page outside the input folder, which must never be read. " * 20)
    good = (SAMPLES / "en-wire-story.txt").read_text(encoding="utf-8")
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(os.urandom(4096))
    big_paragraph = "The council met again on Tuesday to discuss the budget and the new bus lines. " * 12
    with open(src / "huge.txt", "w", encoding="utf-8") as fh:
        fh.write("Council budget debate runs into the night\n")
        while fh.tell() < 20 * 1024 * 1024:
            fh.write(big_paragraph + "\n")
    (src / "bad-utf8.txt").write_bytes(good.encode("utf-8")[:2000] + b"\xff\xfe\xfa broken \xc3\x28 bytes\n"
                                       + good.encode("utf-8")[2000:])
    (src / "utf16-bom.txt").write_bytes(good.encode("utf-16"))
    (src / "latin1.txt").write_bytes("Perché il Comune ha deciso così, secondo l'assessore.\n\n".encode("latin-1")
                                     + ("Il consiglio comunale ha approvato il bilancio dopo una lunga seduta. " * 8).encode("latin-1"))
    (src / "name with spaces é.txt").write_text(good, encoding="utf-8")
    (src / "new\nline.txt").write_text(good, encoding="utf-8")
    (src / "loop").symlink_to(src, target_is_directory=True)
    (src / "escape.txt").symlink_to(outside)
    if os.geteuid() != 0:
        (src / "unreadable.txt").write_text(good, encoding="utf-8")
        (src / "unreadable.txt").chmod(0)
    out = tmp_path / "out"
    started = time.monotonic()
    result = newsum("run", str(src), "--out", str(out), "--stages", "clean,detect")
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert elapsed < 120
    records = load_records(out)
    failed = {doc for doc, stages in records.items() if stages["clean"]["status"] == "failed"}
    expected_failed = {"empty", "binary"} | ({"unreadable"} if os.geteuid() != 0 else set())
    assert failed == expected_failed
    for doc in ("huge", "bad-utf8", "utf16-bom", "latin1", "name with spaces é", "new\nline"):
        assert records[doc]["clean"]["status"] == "ok", doc
        assert records[doc]["detect"]["status"] == "ok", doc
    assert records["latin1"]["detect"]["language"] == "it"
    assert records["utf16-bom"]["detect"]["language"] == "en"
    assert "escape" not in records and "loop" not in records
    assert "symlink_outside_input: 1" in result.stderr and "symlinked_folder: 1" in result.stderr
    assert result.stderr.count("clean failed") == len(expected_failed)
    assert "Traceback" not in result.stderr
    _assert_records_valid(out)


def test_unwritable_out_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = newsum("run", str(SAMPLES), "--out", str(blocker / "out"), "--stages", "clean")
    assert result.returncode == 1
    assert "cannot create the output folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_cron_output_is_short_and_json_logs_parse(tmp_path):
    out = tmp_path / "out"
    log_file = tmp_path / "newsum.log"
    result = newsum("run", str(SAMPLES), "--out", str(out), "--stages", "clean,detect",
                    "--log-file", str(log_file), "--log-format", "json")
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 4  # one per stage, the summary
    events = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert {e.get("event") for e in events} >= {"record", "stage", "summary"}
    quiet = newsum("run", str(SAMPLES), "--out", str(tmp_path / "o2"), "--stages", "clean", "--quiet")
    assert len(quiet.stderr.strip().splitlines()) == 1


def test_workers_give_the_same_records(tmp_path):
    """clean, detect and (extractive) summarize run in the worker pool with --workers 2."""
    config = extractive_config(tmp_path)
    inputs = tmp_path / "in"  # two copies of the samples: enough documents for the pool to start
    for copy in ("a", "b"):
        shutil.copytree(SAMPLES, inputs / copy)
    records = {}
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        result = newsum("run", str(inputs), "--out", str(out), "--config", str(config), "--workers", workers)
        assert result.returncode in (0, 3), result.stderr  # 3: no translation models here
        records[workers] = {d: {s: {k: v for k, v in r.items() if k != "timings"} for s, r in st.items()}
                            for d, st in load_records(out).items()}
    assert records["1"] == records["2"]
    assert sum("summary" in stages for stages in records["1"].values()) == len(records["1"]) >= 16
