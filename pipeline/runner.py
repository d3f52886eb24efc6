"""The runner: wires the stages together, batches documents, writes the records.

Documents stream through in batches: each batch goes through every requested stage, so
model stages see many documents at once while memory stays bounded. A stage whose
predecessor did not run in this invocation takes the document text as it is; the
single-stage commands read the previous stage's records from OUT instead.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import EXIT_DEGRADED, EXIT_FAILED, EXIT_OK, InputError, OutputError
from pipeline.inputs import Discovery, Document, read_document
from pipeline.models import ModelRegistry
from pipeline.records import (
    DEGRADED,
    FAILED,
    OK,
    RECORD_FILES,
    RECORD_TYPES,
    STAGES,
    CleanRecord,
    DetectRecord,
    Record,
    TranslateRecord,
    read_record,
    record_path,
    write_record,
)

log = logging.getLogger("newsum")

PREVIOUS = {"detect": "clean", "translate": "detect", "summarize": "translate"}


@dataclass
class RunResult:
    """What a run did: counts per stage and status, and what failed or degraded, and why."""

    counts: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in STAGES})
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)  # doc, stage, status, reason
    documents: int = 0
    skipped: Counter = field(default_factory=Counter)
    model_loads: int = 0
    seconds: float = 0.0

    def add(self, record: Record) -> None:
        self.counts[record.stage][record.status] += 1
        if record.status == FAILED:
            self.problems.append((record.doc_id, record.stage, FAILED, record.error["message"]))
        elif record.status == DEGRADED:
            for reason in record.report.get("degraded", []):
                self.problems.append((record.doc_id, record.stage, DEGRADED, reason))

    @property
    def failed_docs(self) -> int:
        return len({d for d, _, status, _ in self.problems if status == FAILED})

    @property
    def degraded_docs(self) -> int:
        return len({d for d, _, status, _ in self.problems if status == DEGRADED})

    @property
    def exit_code(self) -> int:
        if self.failed_docs:
            return EXIT_FAILED
        if self.degraded_docs:
            return EXIT_DEGRADED
        return EXIT_OK


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def passthrough(stage: str, doc: Document) -> Record:
    """The input a stage gets when its predecessor did not run: the document text as it is."""
    source = read_document(doc)
    if stage == "detect":
        return CleanRecord(doc_id=doc.doc_id, text=source.text)
    if stage == "translate":
        return DetectRecord(doc_id=doc.doc_id, text=source.text)
    return TranslateRecord(doc_id=doc.doc_id, text=source.text)


class Runner:
    """Runs an ordered subset of the stages over documents, writing one record per stage."""

    def __init__(self, out_dir: str | Path, config: Config, stages: Iterable[str], *,
                 declared_language: str | None = None, batch_size: int = 32,
                 on_record: Callable[[Record], None] | None = None):
        self.out_dir = Path(out_dir)
        self.config = config
        self.stages = [s for s in STAGES if s in set(stages)]
        self.declared_language = declared_language
        self.batch_size = batch_size
        self.on_record = on_record or (lambda record: None)
        self.registry = ModelRegistry(config)
        self._stage_objects: dict[str, Callable] = {}

    def stage(self, name: str) -> Callable:
        """Stage objects are built on first use: a run without models imports no model code."""
        if name not in self._stage_objects:
            if name == "clean":
                from pipeline.stages.clean import CleanStage
                self._stage_objects[name] = CleanStage()
            elif name == "detect":
                from pipeline.stages.detect import DetectStage
                self._stage_objects[name] = DetectStage(self.config.detect, self.declared_language)
            elif name == "translate":
                from pipeline.stages.translate import TranslateStage
                self._stage_objects[name] = TranslateStage(self.config.translate, self.registry, out_dir=self.out_dir)
            else:
                from pipeline.stages.summarize import SummarizeStage
                self._stage_objects[name] = SummarizeStage(self.config.summarize, self.registry)
        return self._stage_objects[name]

    # -- entry points -------------------------------------------------------------------

    def run_documents(self, documents: Iterable[Document], discovery: Discovery | None = None) -> RunResult:
        """`newsum run`: documents from the inputs through every requested stage."""
        result = RunResult()
        started = time.perf_counter()
        first = self.stages[0]
        for batch in _batches(documents, self.batch_size):
            result.documents += len(batch)
            if first == "clean":
                current = {doc.doc_id: self._clean(doc, result) for doc in batch}
                rest = self.stages[1:]
            else:
                current = {}
                for doc in batch:
                    try:
                        current[doc.doc_id] = passthrough(first, doc)
                    except InputError as exc:
                        record = self._failed_input(first, doc, exc)
                        self._emit(record, result)
                rest = self.stages
            self._run_stages(rest, current, result)
        if discovery is not None:
            result.skipped = discovery.skipped
        result.model_loads = self.registry.loads
        result.seconds = time.perf_counter() - started
        return result

    def run_from_records(self, doc_ids: Iterable[str]) -> RunResult:
        """A single-stage command: read each document's previous record from OUT."""
        result = RunResult()
        started = time.perf_counter()
        stage = self.stages[0]
        for batch in _batches(doc_ids, self.batch_size):
            result.documents += len(batch)
            current = {}
            for doc_id in batch:
                previous = read_record(self.out_dir, doc_id, PREVIOUS[stage])
                if previous is not None:
                    current[doc_id] = previous
            self._run_stages([stage], current, result)
        result.model_loads = self.registry.loads
        result.seconds = time.perf_counter() - started
        return result

    # -- internals ----------------------------------------------------------------------

    def _failed_input(self, stage: str, doc: Document, exc: InputError) -> Record:
        record = RECORD_TYPES[stage](doc_id=doc.doc_id)
        if isinstance(record, CleanRecord):
            record.source = {"path": str(doc.path), "sha256": "0" * 64, "format": doc.suffix_format, "encoding": None}
        record.fail(exc.code, str(exc))
        record.timings = {"started_at": _now(), "seconds": 0.0}
        return record

    def _clean(self, doc: Document, result: RunResult) -> Record:
        started_at, started = _now(), time.perf_counter()
        try:
            source = read_document(doc)
            record = self.stage("clean")(doc.doc_id, str(doc.path), source)
        except InputError as exc:
            record = self._failed_input("clean", doc, exc)
        except Exception as exc:  # a bug on one page must not stop the night's run
            record = self._internal_error("clean", doc.doc_id, exc)
        record.timings = {"started_at": started_at, "seconds": round(time.perf_counter() - started, 6)}
        self._emit(record, result)
        return record

    def _internal_error(self, stage: str, doc_id: str, exc: Exception) -> Record:
        log.debug("internal error in %s for %s:\n%s", stage, doc_id, traceback.format_exc())
        record = RECORD_TYPES[stage](doc_id=doc_id)
        if isinstance(record, CleanRecord):
            record.source = {"path": "", "sha256": "0" * 64, "format": "text", "encoding": None}
        record.fail("internal_error", f"{type(exc).__name__}: {exc}")
        return record

    def _run_stages(self, stages: list[str], current: dict[str, Record], result: RunResult) -> None:
        for name in stages:
            ready = {doc_id: rec for doc_id, rec in current.items() if rec.status != FAILED}
            for doc_id in current.keys() - ready.keys():
                self._remove_stale(doc_id, name)
            if not ready:
                current = {}
                continue
            current = self._apply(name, list(ready.values()))
            for record in current.values():
                self._emit(record, result)

    def _apply(self, name: str, inputs: list[Record]) -> dict[str, Record]:
        stage = self.stage(name)
        started_at, started = _now(), time.perf_counter()
        if name == "detect":
            outputs = []
            for record in inputs:
                t0 = time.perf_counter()
                try:
                    out = stage(record)
                except Exception as exc:
                    out = self._internal_error(name, record.doc_id, exc)
                out.timings = {"started_at": started_at, "seconds": round(time.perf_counter() - t0, 6)}
                outputs.append(out)
            return {o.doc_id: o for o in outputs}
        try:
            outputs = stage(inputs)
        except Exception:
            # Isolate the document that broke the batch: run them one by one.
            outputs = []
            for record in inputs:
                try:
                    outputs.extend(stage([record]))
                except Exception as exc:
                    outputs.append(self._internal_error(name, record.doc_id, exc))
        share = round((time.perf_counter() - started) / max(1, len(outputs)), 6)
        for out in outputs:
            out.timings = {"started_at": started_at, "seconds": share, "batch_documents": len(outputs)}
        return {o.doc_id: o for o in outputs}

    def _remove_stale(self, doc_id: str, stage: str) -> None:
        """A document that failed upstream must not keep a downstream record from an older run."""
        path = record_path(self.out_dir, doc_id, stage)
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def _emit(self, record: Record, result: RunResult) -> None:
        try:
            write_record(self.out_dir, record)
        except OSError as exc:
            raise OutputError(f"{self.out_dir}: cannot write records: {exc.strerror or exc}") from None
        result.add(record)
        self.on_record(record)


def documents_in_out(out_dir: str | Path, stage: str) -> Iterator[str]:
    """Document ids under OUT that have a record of `stage`, in sorted order."""
    root = Path(out_dir)
    name = RECORD_FILES[stage]
    for path in sorted(root.rglob(name)):
        rel = path.parent.relative_to(root)
        if not any(part.startswith(".") for part in rel.parts):
            yield "/".join(rel.parts)


__all__ = ["Runner", "RunResult", "documents_in_out", "OK", "DEGRADED", "FAILED"]
