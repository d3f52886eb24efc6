"""Every per-document step is bounded: a document that runs past its stage's time limit
(models.yaml `limits`) becomes a failed record and the rest of the run goes on; a text with
more lines than any page has fails at once; and a state database that was lost is rebuilt
from the records instead of the night's work being redone."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import SAMPLES, run_cli

from pipeline import stages
from pipeline.deadline import paused
from pipeline.records import Record
from pipeline.stages.base import Stage
from pipeline.stages.clean.stage import MAX_LINES

STALL = "STALL-HERE"


def spin(seconds: float) -> None:
    """Burn CPU time (the clock of a CPU stage's limit) for that long."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        sum(range(1000))


@dataclass
class StallRecord(Record):
    stage: ClassVar[str] = "stall"
    file: ClassVar[str] = "stall.json"
    chars: int = 0


class StallStage(Stage):
    """A stage that never finishes on a text holding the mark, as a runaway page would."""

    name = "stall"
    record = StallRecord
    consumes = "clean"
    per_document = True

    def __call__(self, batch):
        for record in batch:
            if STALL in record.text:
                spin(10_000)  # a page that never ends, as far as the limit is concerned
        return [StallRecord(doc_id=r.doc_id, chars=len(r.text)) for r in batch]


@dataclass
class SlowLoadRecord(Record):
    stage: ClassVar[str] = "slowload"
    file: ClassVar[str] = "slowload.json"


class SlowLoadStage(Stage):
    """Its first document in a process loads something slow, as a model is, the clock paused."""

    name = "slowload"
    record = SlowLoadRecord
    consumes = "clean"
    per_document = True
    loaded = False

    def __call__(self, batch):
        if not SlowLoadStage.loaded:
            with paused():
                spin(2.0)
            SlowLoadStage.loaded = True
        return [SlowLoadRecord(doc_id=r.doc_id) for r in batch]


@pytest.fixture
def stall_stage():
    stages.register(StallStage)
    yield StallStage
    stages.unregister(StallStage)


def limits_config(folder: Path, seconds: float) -> Path:
    path = folder / f"limits-{seconds:g}.yaml"
    path.write_text(f"limits:\n  cpu_seconds: {seconds}\n", encoding="utf-8")
    return path


def stall_inputs(folder: Path) -> Path:
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text((SAMPLES / "en-wire-story.txt").read_text(encoding="utf-8"), encoding="utf-8")
    text = (SAMPLES / "en-wire-story.txt").read_text(encoding="utf-8")
    assert " said" in text
    (folder / "b.txt").write_text(text.replace(" said", f" said ({STALL})"), encoding="utf-8")
    return folder


def stall_run(inputs: Path, out: Path, config: Path, workers: str):
    return run_cli("run", str(inputs), "--out", str(out), "--stages", "clean,stall", "--config", str(config),
                   "--workers", workers)


def load(out: Path, doc_id: str, stage: str) -> dict:
    return json.loads((out / doc_id / f"{stage}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_document_past_its_time_limit_fails_alone(stall_stage, tmp_path, workers):
    inputs, out = stall_inputs(tmp_path / "in"), tmp_path / "out"
    result = stall_run(inputs, out, limits_config(tmp_path, 1.5), workers)
    assert result.exit_code == 2, result.stderr
    stalled = load(out, "b", "stall")
    assert stalled["status"] == "failed" and stalled["error"]["code"] == "time_limit"
    assert "1.5 s of CPU time" in stalled["error"]["message"]
    assert "b: stall failed" in result.stderr and "Traceback" not in result.stderr
    for doc_id in ("a", "c"):
        assert load(out, doc_id, "stall")["status"] == "ok"
        assert load(out, doc_id, "clean")["status"] == "ok"


def test_a_load_with_the_clock_paused_is_not_the_documents_time(tmp_path):
    stages.register(SlowLoadStage)
    try:
        inputs, out = stall_inputs(tmp_path / "in"), tmp_path / "out"
        (inputs / "b.txt").unlink()
        result = run_cli("run", str(inputs), "--out", str(out), "--stages", "clean,slowload", "--config",
                         str(limits_config(tmp_path, 1.5)), "--workers", "1")
    finally:
        stages.unregister(SlowLoadStage)
    assert result.exit_code == 0, result.stderr
    assert SlowLoadStage.loaded and all(load(out, d, "slowload")["status"] == "ok" for d in ("a", "c"))


def test_a_time_limit_failure_is_redone_only_when_the_limit_changes(stall_stage, tmp_path):
    inputs, out = stall_inputs(tmp_path / "in"), tmp_path / "out"
    assert stall_run(inputs, out, limits_config(tmp_path, 1.5), "1").exit_code == 2
    written = (out / "b" / "stall.json").stat().st_mtime_ns
    again = stall_run(inputs, out, limits_config(tmp_path, 1.5), "1")
    assert again.exit_code == 2
    assert (out / "b" / "stall.json").stat().st_mtime_ns == written  # the same limit: not tried again
    raised = stall_run(inputs, out, limits_config(tmp_path, 2), "1")
    assert raised.exit_code == 2
    redone = load(out, "b", "stall")
    assert (out / "b" / "stall.json").stat().st_mtime_ns != written
    assert redone["error"]["code"] == "time_limit" and "2 s of CPU time" in redone["error"]["message"]


def test_a_time_limit_stops_the_real_clean_stage(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    page = (SAMPLES / "en-wire-story.txt").read_text(encoding="utf-8")
    (inputs / "long.txt").write_text(page * 400, encoding="utf-8")
    (inputs / "short.txt").write_text(page, encoding="utf-8")
    config = limits_config(tmp_path, 0.05)
    result = run_cli("run", str(inputs), "--out", str(out), "--stages", "clean", "--config", str(config),
                     "--workers", "2")  # in workers: a limit reached in this process's imports would stay
    long = load(out, "long", "clean")
    assert long["status"] == "failed" and long["error"]["code"] == "time_limit", long.get("error")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_a_text_with_more_lines_than_a_page_fails_at_once(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "log.txt").write_text("GET /index.html 200\n" * (MAX_LINES + 1), encoding="utf-8")
    (inputs / "page.txt").write_text((SAMPLES / "en-wire-story.txt").read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("run", str(inputs), "--out", str(out), "--stages", "clean", "--workers", "1")
    assert result.exit_code == 2
    failed = load(out, "log", "clean")
    assert failed["error"]["code"] == "too_many_lines" and str(MAX_LINES) in failed["error"]["message"]
    assert "log.txt" in result.stderr
    assert load(out, "page", "clean")["status"] == "ok"


def test_limits_are_checked_like_every_setting(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("limits:\n  cpu_seconds: -1\n", encoding="utf-8")
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "out"), "--config", str(bad))
    assert result.exit_code == 1 and "limits.cpu_seconds" in result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("limits:\n  seconds: 5\n", encoding="utf-8")
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "out"), "--config", str(unknown))
    assert result.exit_code == 1 and "limits.seconds" in result.stderr


# -- a lost state is rebuilt from the records ---------------------------------------------------

def record_times(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*.json")
            if not any(part.startswith(".") for part in p.relative_to(out).parts)}


@pytest.mark.parametrize("loss", ["deleted", "damaged"])
def test_a_lost_state_is_rebuilt_from_the_records_without_redoing_them(tmp_path, loss):
    out = tmp_path / "out"
    args = ["run", str(SAMPLES), "--out", str(out), "--stages", "clean,detect", "--workers", "1"]
    first = run_cli(*args)
    assert first.exit_code == 0, first.stderr
    before = record_times(out)
    records = [json.loads((out / name).read_text(encoding="utf-8")) for name in before]
    assert len(records) == 2 * len(list(SAMPLES.glob("*.*t*"))) and all(len(r["key"]) == 24 for r in records)
    state = out / ".newsum" / "state.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    if loss == "damaged":
        state.write_bytes(b"not a database " * 200)
    second = run_cli(*args)
    assert second.exit_code == 0, second.stderr
    assert record_times(out) == before  # every record taken back as it is, none redone
    status = run_cli("status", str(out))
    assert status.exit_code == 0 and "Traceback" not in status.stderr
    assert run_cli(*args).exit_code == 0
    assert record_times(out) == before  # the rebuilt state holds every document-stage


def test_a_record_made_under_another_key_is_not_taken_back(tmp_path):
    out = tmp_path / "out"
    args = ["run", str(SAMPLES), "--out", str(out), "--stages", "clean", "--workers", "1"]
    assert run_cli(*args).exit_code == 0
    target = next(out.rglob("clean.json"))
    data = json.loads(target.read_text(encoding="utf-8"))
    data["key"], data["title"] = "0" * 24, "A title no run wrote"
    target.write_text(json.dumps(data), encoding="utf-8")
    (out / ".newsum" / "state.sqlite").unlink()
    assert run_cli(*args).exit_code == 0
    again = json.loads(target.read_text(encoding="utf-8"))
    assert again["key"] != "0" * 24 and again["title"] != "A title no run wrote"
