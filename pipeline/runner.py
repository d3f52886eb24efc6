"""The runner: decides what needs doing, wires the stages together, writes records and state.

Documents stream through in batches: each batch goes through every requested stage, so
model stages see many documents at once while memory stays bounded. CPU stages (clean,
detect, and summarize when it is extractive only) run in a process pool; model stages run in
this process, each model loaded once.

A document-stage is skipped when its key (content hash + the configuration sections it
depends on + code version) is unchanged and its record is on disk. A stage whose
predecessor is not part of the run takes the document text as it is; the single-stage
commands read the previous stage's records from OUT instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from pipeline import __version__
from pipeline.config import Config
from pipeline.errors import (
    EXIT_DEGRADED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    OutputError,
)
from pipeline.inputs import Discovery, Document, read_document
from pipeline.models.loading import ModelRegistry
from pipeline.records import (
    DEGRADED,
    FAILED,
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
from pipeline.state import State

log = logging.getLogger("newsum")

PREVIOUS = {"detect": "clean", "translate": "detect", "summarize": "translate"}
CPU_STAGES = ("clean", "detect")
SKIPPED = "skipped"  # counted, not a record status: unchanged since the last run


@dataclass
class RunOptions:
    declared_language: str | None = None
    batch_size: int = 32
    workers: int = 1
    force: bool = False
    retry_failed: bool = False
    prune: bool = False
    explain: bool = False


@dataclass
class RunResult:
    """What a run did: counts per stage and status, and what failed or degraded, and why."""

    counts: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in STAGES})
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)  # doc, stage, status, reason
    documents: int = 0
    skipped: Counter = field(default_factory=Counter)
    removed: list[tuple[str, str]] = field(default_factory=list)
    pruned: bool = False
    model_loads: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stages: list[str] = field(default_factory=list)

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
        failed = {d for d, _, status, _ in self.problems if status == FAILED}
        return len({d for d, _, status, _ in self.problems if status == DEGRADED} - failed)

    @property
    def stage_work(self) -> int:
        """How many document-stages actually ran (skipped ones are not work)."""
        return sum(n for counts in self.counts.values() for status, n in counts.items() if status != SKIPPED)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed_docs:
            return EXIT_FAILED
        if self.degraded_docs:
            return EXIT_DEGRADED
        return EXIT_OK

    def counts_dict(self) -> dict:
        return {"documents": self.documents, "seconds": round(self.seconds, 3),
                "stages": {s: dict(self.counts[s]) for s in self.stages},
                "failed_documents": self.failed_docs, "degraded_documents": self.degraded_docs,
                "skipped_files": dict(self.skipped), "removed_documents": len(self.removed),
                "interrupted": self.interrupted}


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


def failed_record(stage: str, doc_id: str, code: str, message: str, path: str = "") -> Record:
    record = RECORD_TYPES[stage](doc_id=doc_id)
    if isinstance(record, CleanRecord):
        record.source = {"path": path, "sha256": "0" * 64, "format": "text", "encoding": None}
    record.fail(code, message)
    record.timings = {"started_at": _now(), "seconds": 0.0}
    return record


# -- CPU stages: run in worker processes when --workers > 1 --------------------------------

_worker_stages: dict[str, Callable] = {}


def _build_cpu_stage(name: str, config: Config, options: RunOptions) -> Callable:
    if name == "clean":
        from pipeline.stages.clean.stage import CleanStage

        return CleanStage(explain=options.explain)
    from pipeline.stages.detect.stage import DetectStage

    return DetectStage(config.detect, options.declared_language)


def build_stage(name: str, config: Config, options: RunOptions, registry: ModelRegistry | None,
                out_dir: str | os.PathLike | None = None) -> Callable:
    """The stage object for `name`; model stages load their models through `registry`, on first use
    (CPU stages load none, and take None). `out_dir` places translate's cache in OUT/.newsum/."""
    if name in CPU_STAGES:
        return _build_cpu_stage(name, config, options)
    if name == "translate":
        from pipeline.stages.translate.stage import TranslateStage

        return TranslateStage(config.translate, registry, out_dir=out_dir)
    from pipeline.stages.summarize.stage import SummarizeStage

    return SummarizeStage(config.summarize, registry)


def _die_with_parent(parent_pid: int) -> None:
    """A run killed with SIGKILL must not leave its workers behind (holding its pipes open)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _init_worker(config: Config, options: RunOptions, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for name in CPU_STAGES:
        _worker_stages[name] = _build_cpu_stage(name, config, options)
    if summarize_needs_no_model(config):
        from pipeline.stages.summarize.stage import SummarizeStage

        _worker_stages["summarize"] = SummarizeStage(config.summarize, None)


def run_cpu_stage(stage: Callable, name: str, item: Document | Record) -> Record:
    """One document through clean or detect, never raising: errors become failed records."""
    started_at, started = _now(), time.perf_counter()
    doc_id = item.doc_id
    try:
        if name == "clean":
            source = read_document(item)
            record = stage(doc_id, str(item.path), source)
        else:
            record = stage(item)
    except InputError as exc:
        record = failed_record(name, doc_id, exc.code, str(exc), str(getattr(item, "path", "")))
    except Exception as exc:  # a bug on one page must not stop the night's run
        log.debug("internal error in %s for %s:\n%s", name, doc_id, traceback.format_exc())
        record = failed_record(name, doc_id, "internal_error", f"{type(exc).__name__}: {exc}",
                               str(getattr(item, "path", "")))
    record.timings = {"started_at": started_at, "seconds": round(time.perf_counter() - started, 6)}
    return record


def _worker_task(args: tuple[str, Document | Record]) -> Record:
    name, item = args
    return run_cpu_stage(_worker_stages[name], name, item)


def summarize_needs_no_model(config: Config) -> bool:
    """Extractive summaries only (method extractive, or no model named): summarize is then
    CPU work like clean and detect, and runs in the worker pool."""
    return config.summarize.method == "extractive" or config.summarize.model is None


def _worker_summarize(records: list[Record]) -> list[Record]:
    return run_model_stage(_worker_stages["summarize"], "summarize", records)


def run_model_stage(stage: Callable, name: str, inputs: list[Record]) -> list[Record]:
    """Records through translate or summarize as one batch, never raising.

    When the batch raises, its documents are run one by one, so that only the document that
    breaks the stage gets a failed record.
    """
    started_at, started = _now(), time.perf_counter()
    try:
        outputs = stage(inputs)
    except Exception:
        outputs = []
        for record in inputs:
            try:
                outputs.extend(stage([record]))
            except Exception as exc:
                log.debug("internal error in %s for %s:\n%s", name, record.doc_id, traceback.format_exc())
                outputs.append(failed_record(name, record.doc_id, "internal_error", f"{type(exc).__name__}: {exc}"))
    share = round((time.perf_counter() - started) / max(1, len(outputs)), 6)
    for out in outputs:
        out.timings = {"started_at": started_at, "seconds": share, "batch_documents": len(outputs)}
    return outputs


class Engine:
    """Where the stages compute: the runner plans, skips and writes; an engine only computes.

    `Runner` computes in this process (and its process pool) when it has no engine; another
    engine (pipeline.engines.ray) computes elsewhere and hands back the same records.
    """

    def window(self, options: RunOptions) -> int:
        """How many documents the runner plans, computes and writes together."""
        return options.batch_size

    def apply(self, name: str, inputs: list[Document | Record]) -> list[Record]:
        """One stage over inputs: one record per input, in the same order; never raises for one document."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the engine holds (workers, connections)."""


# -- the runner ----------------------------------------------------------------------------

def content_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class Runner:
    """Runs an ordered subset of the stages over documents, writing one record per stage."""

    def __init__(self, out_dir: str | Path, config: Config, stages: Iterable[str],
                 options: RunOptions | None = None, *,
                 on_record: Callable[[Record], None] | None = None,
                 on_progress: Callable[[str, int], None] | None = None,
                 engine: Engine | None = None):
        self.out_dir = Path(out_dir)
        self.config = config
        self.stages = [s for s in STAGES if s in set(stages)]
        self.options = options or RunOptions()
        self.on_record = on_record or (lambda record: None)
        self.on_progress = on_progress or (lambda stage, n: None)
        self.registry = ModelRegistry(config)
        self.engine = engine  # None: compute here (process pool for CPU stages, models in this process)
        self.stop_requested = False
        self._stage_objects: dict[str, Callable] = {}
        self._pool: ProcessPoolExecutor | None = None
        self.state: State | None = None
        self.run_id: int | None = None

    def stage(self, name: str) -> Callable:
        """Stage objects are built on first use: a run without models imports no model code."""
        if name not in self._stage_objects:
            self._stage_objects[name] = build_stage(name, self.config, self.options, self.registry, self.out_dir)
        return self._stage_objects[name]

    def key(self, stage: str, content: str | None) -> str:
        """What a stage's output depends on: the content, the configuration of the chain, the code."""
        chain = self.stages[: self.stages.index(stage) + 1]
        start = "clean" if chain[0] == "clean" else f"raw>{chain[0]}"
        if self.options.explain and chain[0] == "clean":
            start += "+explain"  # explained records differ from plain ones
        parts = [__version__, content or "unreadable", start] + [f"{s}:{self.config.section_hash(s)}" for s in chain]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]

    # -- entry points -------------------------------------------------------------------

    def run_documents(self, documents: Iterable[Document], discovery: Discovery | None = None,
                      command: str = "run") -> RunResult:
        """`newsum run`: documents from the inputs through every requested stage."""

        def finish(result: RunResult) -> None:
            if self.state is not None:
                result.removed = self.state.unseen_documents(self.run_id)
                if result.removed and self.options.prune:
                    self._prune(result.removed)
                    result.pruned = True

        result = self._drive(documents, command, self._run_batch, finish)
        if discovery is not None:
            result.skipped = discovery.skipped
        return result

    def run_from_records(self, doc_ids: Iterable[str], command: str) -> RunResult:
        """A single-stage command: read each document's previous record from OUT, always rerun."""
        stage = self.stages[0]

        def run_batch(batch: list[str], result: RunResult) -> None:
            inputs = []
            for doc_id in batch:
                previous = read_record(self.out_dir, doc_id, PREVIOUS[stage])
                if previous is None:
                    continue
                if previous.status == FAILED:
                    self._remove_stale(doc_id, stage)
                    continue
                inputs.append(previous)
            self._emit_all(self._apply(stage, inputs), self._manual_key, result)

        return self._drive(doc_ids, command, run_batch)

    def _drive(self, items: Iterable, command: str, run_batch: Callable[[list, RunResult], None],
               finish: Callable[[RunResult], None] | None = None) -> RunResult:
        """Open the state, feed windows of items to `run_batch` until done or stopped, close."""
        result = RunResult(stages=list(self.stages))
        started = time.perf_counter()
        self._open_state(command)
        try:
            window = self.engine.window(self.options) if self.engine is not None else self.options.batch_size
            for batch in _batches(items, window):
                if self.stop_requested:
                    break
                result.documents += len(batch)
                run_batch(batch, result)
            result.interrupted = self.stop_requested
            if not result.interrupted and finish is not None:
                finish(result)
        finally:
            result.model_loads = self.registry.loads
            result.seconds = time.perf_counter() - started
            self._close(result)
        return result

    # -- internals ----------------------------------------------------------------------

    def _open_state(self, command: str) -> None:
        try:
            self.state = State(self.out_dir)
        except OSError as exc:
            raise OutputError(f"{self.out_dir}: cannot write the state database: {exc.strerror or exc}") from None
        self.run_id = self.state.start_run(command)

    def _close(self, result: RunResult) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self.engine is not None:
            self.engine.close()
        if self.state is not None:
            try:
                self.state.end_run(self.run_id, result.exit_code, result.counts_dict())
            finally:
                self.state.close()
                self.state = None

    def _manual_key(self, record: Record) -> str:
        # A single-stage command always reruns; this key never matches a run's, so the next
        # `newsum run` redoes the stage under its own rules.
        return f"manual:{__version__}:{self.config.section_hash(record.stage)}"

    def _pool_for(self) -> ProcessPoolExecutor | None:
        if self.options.workers <= 1:
            return None
        if self._pool is None:
            import multiprocessing

            # fork: workers start at once and are children of this process (so they die with it);
            # the pool is made before any model stage imports torch and starts its threads.
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self.options.workers, mp_context=multiprocessing.get_context(method),
                                             initializer=_init_worker,
                                             initargs=(self.config, self.options, os.getpid()))
        return self._pool

    def _plan(self, batch: list[Document]) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        """For each document: the key of each stage, and the index of the first stage to run."""
        state = self.state
        rows, keys, first = [], {}, {}
        previous = state.stage_states([d.doc_id for d in batch])
        for doc in batch:
            try:
                info = os.stat(doc.path)
                size, mtime = info.st_size, info.st_mtime_ns
            except OSError:
                size, mtime = -1, -1
            sha = state.known_sha(doc.doc_id, size, mtime) or content_sha256(doc.path)
            rows.append((doc.doc_id, str(doc.path), size, mtime, sha))
            keys[doc.doc_id] = {s: self.key(s, sha) for s in self.stages}
            first[doc.doc_id] = len(self.stages)
            for index, stage in enumerate(self.stages):
                before = previous.get((doc.doc_id, stage))
                fresh = (before is not None and before.key == keys[doc.doc_id][stage]
                         and not self.options.force
                         and not (self.options.retry_failed and before.status == FAILED)
                         and record_path(self.out_dir, doc.doc_id, stage).is_file())
                if not fresh:
                    first[doc.doc_id] = index
                    break
        state.see_documents(rows, self.run_id)
        return keys, first

    def _run_batch(self, batch: list[Document], result: RunResult) -> None:
        keys, first = self._plan(batch)
        docs = {d.doc_id: d for d in batch}

        def key_for(record: Record) -> str:
            return keys[record.doc_id][record.stage]

        current: dict[str, Record] = {}  # the latest record of each document, from this run or from disk
        for index, name in enumerate(self.stages):
            if self.stop_requested:
                return
            todo = [d for d in batch if first[d.doc_id] <= index]
            skipped = [d for d in batch if first[d.doc_id] > index]
            if skipped:
                result.counts[name][SKIPPED] += len(skipped)
            inputs: list[Document | Record] = []
            for doc in todo:
                if name == "clean":
                    inputs.append(doc)
                    continue
                previous = current.get(doc.doc_id)
                if previous is None and index > 0:
                    previous = read_record(self.out_dir, doc.doc_id, self.stages[index - 1])
                if previous is None and index == 0:
                    try:
                        previous = passthrough(name, doc)
                    except InputError as exc:
                        self._emit_all([failed_record(name, doc.doc_id, exc.code, str(exc))],
                                       key_for, result, docs)
                        continue
                if previous is None or previous.status == FAILED:
                    self._remove_stale(doc.doc_id, name)
                    continue
                inputs.append(previous)
            outputs = self._apply(name, inputs)
            self._emit_all(outputs, key_for, result, docs)
            current = {o.doc_id: o for o in outputs}
            self.on_progress(name, len(batch))

    def _apply(self, name: str, inputs: list[Document | Record]) -> list[Record]:
        if not inputs:
            return []
        if self.engine is not None:
            return self.engine.apply(name, inputs)
        if name in CPU_STAGES:
            pool = self._pool_for()
            if pool is not None and len(inputs) > 1:
                chunk = max(1, len(inputs) // (self.options.workers * 4))
                return list(pool.map(_worker_task, [(name, item) for item in inputs], chunksize=chunk))
            stage = self.stage(name)
            return [run_cpu_stage(stage, name, item) for item in inputs]
        if name == "summarize" and summarize_needs_no_model(self.config):
            pool = self._pool_for()
            if pool is not None and len(inputs) > 1:
                # Chunks of documents, a few per worker: each chunk is one summarize batch.
                size = max(1, -(-len(inputs) // (self.options.workers * 4)))
                chunks = [inputs[i:i + size] for i in range(0, len(inputs), size)]
                return [record for chunk in pool.map(_worker_summarize, chunks) for record in chunk]
        return run_model_stage(self.stage(name), name, inputs)

    def _remove_stale(self, doc_id: str, stage: str) -> None:
        """A document that failed upstream must not keep a downstream record from an older run."""
        try:
            record_path(self.out_dir, doc_id, stage).unlink()
        except FileNotFoundError:
            pass
        if self.state is not None:
            self.state.forget_stage(doc_id, stage)

    def _emit_all(self, records: list[Record], key_for: Callable[[Record], str], result: RunResult,
                  docs: dict[str, Document] | None = None) -> None:
        """Write each record, then the state of the whole group in one transaction."""
        rows = []
        for record in records:
            if isinstance(record, CleanRecord) and docs and not record.source.get("path"):
                record.source["path"] = str(docs[record.doc_id].path)
            try:
                write_record(self.out_dir, record)
            except OSError as exc:
                raise OutputError(f"{self.out_dir}: cannot write records: {exc.strerror or exc}") from None
            result.add(record)
            self.on_record(record)
            rows.append((record.doc_id, record.stage, key_for(record), record.status,
                         record.error["message"] if record.error else None,
                         record.report.get("degraded", []), record.timings.get("seconds", 0.0)))
        if rows and self.state is not None:
            self.state.record_stages(rows, self.run_id)

    def _prune(self, removed: list[tuple[str, str]]) -> None:
        """Delete the records of documents no longer in the input, and their state."""
        for doc_id, _path in removed:
            folder = self.out_dir / doc_id
            for name in RECORD_FILES.values():
                try:
                    (folder / name).unlink()
                except FileNotFoundError:
                    pass
            # Remove the now-empty folders up to OUT, never anything else.
            while folder != self.out_dir and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        self.state.forget_documents([d for d, _ in removed])


def documents_in_out(out_dir: str | Path, stage: str) -> Iterator[str]:
    """Document ids under OUT that have a record of `stage`, in sorted order."""
    root = Path(out_dir)
    name = RECORD_FILES[stage]
    for path in sorted(root.rglob(name)):
        rel = path.parent.relative_to(root)
        if not any(part.startswith(".") for part in rel.parts):
            yield "/".join(rel.parts)


__all__ = ["Engine", "build_stage", "Runner", "RunOptions", "RunResult", "documents_in_out", "run_cpu_stage", "run_model_stage"]
