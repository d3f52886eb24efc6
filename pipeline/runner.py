"""The runner: plans what needs doing, hands batches to the engine, writes records and state.

Documents stream through in windows: each window goes through every requested stage, so
model stages see many documents at once while memory stays bounded. Where a stage computes
is the engine's business (pipeline/engines/); what a stage reads when its predecessor is
not part of the run is the stage's (its `take`).

A document-stage is skipped when its key (content hash + the configuration the chain of
stages depends on, its data files' digest among it + code version + what the run's survey
found about the document) is unchanged and its record is on disk. The single-stage
commands read the consumed stage's records from OUT instead, and always rerun.

A first stage that `surveys` sees every document of the run before the first window (clean
finds the lines that recur across the pages of other stories); what it learned is kept in
the state when the run ends, for the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from pipeline import __version__
from pipeline.config import Config
from pipeline.engines.base import TIME_LIMIT, Engine, stage_time_limit
from pipeline.errors import EXIT_DEGRADED, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, NewsumError
from pipeline.inputs import Discovery, Document, _doc_id, content_sha256, printable
from pipeline.records import DEGRADED, FAILED, Record
from pipeline.stages import get as get_stage
from pipeline.stages import record_types
from pipeline.stages.base import Stage, StageContext
from pipeline.workspace import RecordNotWritten, StageState, State, Workspace

log = logging.getLogger("newsum")

SKIPPED = "skipped"  # counted, not a record status: unchanged since the last run


@dataclass
class RunOptions:
    """How a run goes (what the stages compute is in their StageContext)."""

    batch_size: int = 32
    force: bool = False
    retry_failed: bool = False
    prune: bool = False


@dataclass
class RunResult:
    """What a run did (counts per stage and status), and what is wrong in OUT after it.

    `problems` are the failures and degradations this run produced; `outstanding`, once the
    run has ended, every document-stage of the run's documents and stages whose latest
    result is not ok, from this run or an earlier one. The exit code and the summary speak
    of `outstanding`: a night that redid nothing still says that 8 documents are degraded.
    """

    counts: dict[str, Counter] = field(default_factory=dict)
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)  # doc, stage, status, reason
    outstanding: list[tuple[str, str, str, str]] | None = None
    abort_code: int | None = None  # the exit code of a run that stopped on an error
    documents: int = 0
    skipped: Counter = field(default_factory=Counter)
    removed: list[tuple[str, str]] = field(default_factory=list)
    pruned: bool = False
    model_loads: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stages: list[str] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self.counts.setdefault(record.stage, Counter())[record.status] += 1
        if record.status == FAILED:
            self.problems.append((record.doc_id, record.stage, FAILED, record.error["message"]))
        elif record.status == DEGRADED:
            for reason in record.report.get("degraded", []):
                self.problems.append((record.doc_id, record.stage, DEGRADED, reason))

    @property
    def current_problems(self) -> list[tuple[str, str, str, str]]:
        return self.problems if self.outstanding is None else self.outstanding

    @property
    def failed_docs(self) -> int:
        return len({d for d, _, status, _ in self.current_problems if status == FAILED})

    @property
    def degraded_docs(self) -> int:
        failed = {d for d, _, status, _ in self.current_problems if status == FAILED}
        return len({d for d, _, status, _ in self.current_problems if status == DEGRADED} - failed)

    @property
    def earlier_problem_docs(self) -> int:
        """Documents failed or degraded in OUT that this run did not touch (unchanged since)."""
        return len({d for d, *_ in self.current_problems} - {d for d, *_ in self.problems})

    @property
    def stage_work(self) -> int:
        """How many document-stages actually ran (skipped ones are not work)."""
        return sum(n for counts in self.counts.values() for status, n in counts.items() if status != SKIPPED)

    @property
    def exit_code(self) -> int:
        if self.abort_code is not None:
            return self.abort_code
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed_docs:
            return EXIT_FAILED
        if self.degraded_docs:
            return EXIT_DEGRADED
        return EXIT_OK

    def counts_dict(self) -> dict:
        return {"documents": self.documents, "seconds": round(self.seconds, 3),
                "stages": {s: dict(self.counts.get(s, {})) for s in self.stages},
                "failed_documents": self.failed_docs, "degraded_documents": self.degraded_docs,
                "skipped_files": dict(self.skipped), "removed_documents": len(self.removed),
                "interrupted": self.interrupted, "aborted": self.abort_code is not None}


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# -- the runner ----------------------------------------------------------------------------

def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class Runner:
    """Runs an ordered subset of the stages over documents, writing one record per stage.

    It plans (which document-stages need doing, from their keys), hands batches to the
    engine, and writes what comes back through the workspace. It knows the stages only by
    their declarations.
    """

    def __init__(self, workspace: Workspace, context: StageContext, stages: list[type[Stage]],
                 options: RunOptions | None = None, *, engine: Engine,
                 on_record: Callable[[Record], None] | None = None,
                 on_progress: Callable[[str, int], None] | None = None):
        self.workspace = workspace
        self.context = context
        self.config: Config = context.config
        self.stages = list(stages)
        self.options = options or RunOptions()
        self.on_record = on_record or (lambda record: None)
        self.on_progress = on_progress or (lambda stage, n: None)
        self.engine = engine
        self.stop_requested = False
        self.state: State | None = None
        self.run_id: int | None = None
        self.engine.start(self.stages, context)
        self._stage_keys = {stage.name: stage.key(context) for stage in self.stages}
        self._environments: dict[str, str | None] = {}
        self._claimed: dict[str, str] = {}  # document id → the input file that has it in this run
        self._seen: dict[str, int] = {}  # what this run's survey learned, kept when it ends

    def environment(self, stage: type[Stage]) -> str | None:
        """The stage's environment fingerprint, looked up once per run and only when asked."""
        if stage.name not in self._environments:
            self._environments[stage.name] = stage.environment(self.context)
        return self._environments[stage.name]

    def key(self, stage: type[Stage], content: str | None, evidence: tuple[str, ...] = ()) -> str:
        """What a stage's output depends on: the content, the configuration of the chain, the code,
        and what the survey found about the document (nothing found: the key is as without one)."""
        chain = self.stages[: self.stages.index(stage) + 1]
        start = "documents" if chain[0].consumes is None else f"raw>{chain[0].name}"
        parts = [__version__, content or "unreadable", start] + [f"{s.name}:{self._stage_keys[s.name]}" for s in chain]
        if evidence:
            parts.append("evidence:" + hashlib.sha256(" ".join(evidence).encode()).hexdigest())
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]

    # -- entry points -------------------------------------------------------------------

    def run_documents(self, documents: Iterable[Document], discovery: Discovery | None = None,
                      command: str = "run") -> RunResult:
        """`newsum run`: documents from the inputs through every requested stage."""

        def finish(result: RunResult) -> None:
            if self.state is not None and self._seen:
                self.state.remember(self.stages[0].name, self._seen)
            if self.state is not None:
                result.removed = self.state.unseen_documents(self.run_id)
                if result.removed and self.options.prune:
                    doc_ids = [d for d, _ in result.removed]
                    self.workspace.prune(doc_ids, record_types())
                    self.state.forget_documents(doc_ids)
                    result.pruned = True

        result = self._drive(documents, command, self._run_batch, finish,
                             outstanding=lambda: self.state.problems(seen_in_run=self.run_id), prepare=self._survey)
        if discovery is not None:
            result.skipped = discovery.skipped
        return result

    def run_from_records(self, command: str) -> RunResult:
        """A single-stage command: each document's record of the stage it consumes, from OUT; always rerun."""
        stage = self.stages[0]
        consumed = get_stage(stage.consumes)

        def run_batch(batch: list[str], result: RunResult) -> None:
            inputs = []
            for doc_id in batch:
                previous = self.workspace.read(doc_id, consumed.record)
                if previous is None:
                    continue
                if previous.status == FAILED:
                    self._remove_stale(doc_id, stage)
                    continue
                inputs.append(previous)
            self._emit_all(self.engine.apply(stage, inputs), self._manual_key, result)

        done: list[str] = []

        def outstanding() -> list[dict]:
            return self.state.problems(doc_ids=done)

        def run_and_note(batch: list[str], result: RunResult) -> None:
            done.extend(batch)
            run_batch(batch, result)

        return self._drive(self.workspace.documents_with(consumed.record), command, run_and_note,
                           outstanding=outstanding)

    def _drive(self, items: Iterable, command: str, run_batch: Callable[[list, RunResult], None],
               finish: Callable[[RunResult], None] | None = None, *,
               outstanding: Callable[[], list[dict]] | None = None,
               prepare: Callable[[Iterable], Iterable] | None = None) -> RunResult:
        """Open the state, feed windows of items to `run_batch` until done or stopped, close.
        A run that stops on an error records that error's exit code in the state."""
        result = RunResult(stages=[s.name for s in self.stages])
        started = time.perf_counter()
        self.state = self.workspace.open_state()
        self.run_id = self.state.start_run(command)
        try:
            if prepare is not None:
                items = prepare(items)
            for batch in _batches(items, self.engine.window(self.options.batch_size)):
                if self.stop_requested:
                    break
                result.documents += len(batch)
                run_batch(batch, result)
            result.interrupted = self.stop_requested
            if not result.interrupted and finish is not None:
                finish(result)
            if not result.interrupted and outstanding is not None:
                names = set(result.stages)
                result.outstanding = [
                    (row["doc_id"], row["stage"], row["status"], reason)
                    for row in outstanding() if row["stage"] in names
                    for reason in ([row["error"]] if row["status"] == FAILED else row["reasons"] or [""])]
        except KeyboardInterrupt:
            result.abort_code = EXIT_INTERRUPTED
            raise
        except NewsumError as exc:
            result.abort_code = exc.exit_code
            raise
        except BaseException:
            result.abort_code = EXIT_USAGE
            raise
        finally:
            result.model_loads = self.engine.model_loads
            result.seconds = time.perf_counter() - started
            self._close(result)
        return result

    # -- internals ----------------------------------------------------------------------

    def _close(self, result: RunResult) -> None:
        self.engine.close()
        if self.state is not None:
            try:
                self.state.end_run(self.run_id, result.exit_code, result.counts_dict())
            finally:
                self.state.close()
                self.state = None

    def _survey(self, documents: Iterable[Document]) -> Iterable[Document]:
        """The run's documents, each with what the first stage's survey found about it (when that
        stage surveys: then every document is listed before the first window)."""
        first = self.stages[0]
        if not (first.surveys and first.consumes is None):
            return documents
        documents = list(documents)
        started = time.perf_counter()
        found = first.survey(documents, self.context, self.state.remembered(first.name), lambda: self.stop_requested)
        self._seen = found.seen
        log.debug("%s surveyed %d documents in %.1f s: evidence on %d, %d items learned", first.name,
                  len(documents), time.perf_counter() - started, len(found.evidence), len(found.seen))
        return [replace(doc, evidence=found.evidence.get(str(doc.path), ())) for doc in documents]

    def _manual_key(self, record: Record) -> str:
        # A single-stage command always reruns; this key never matches a run's, so the next
        # `newsum run` redoes the stage under its own rules.
        return f"manual:{__version__}:{self._stage_keys[record.stage]}"

    def _plan(self, batch: list[Document]) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        """For each document: the key of each stage, and the index of the first stage to run."""
        state = self.state
        rows, keys, first, adopted = [], {}, {}, []
        previous = state.stage_states([d.doc_id for d in batch])
        for doc in batch:
            try:
                info = os.stat(doc.path)
                size, mtime = info.st_size, info.st_mtime_ns
            except OSError:
                size, mtime = -1, -1
            sha = state.known_sha(doc.doc_id, size, mtime) or content_sha256(doc.path)
            rows.append((doc.doc_id, str(doc.path), size, mtime, sha))
            keys[doc.doc_id] = {s.name: self.key(s, sha, doc.evidence) for s in self.stages}
            first[doc.doc_id] = len(self.stages)
            for index, stage in enumerate(self.stages):
                key = keys[doc.doc_id][stage.name]
                before = previous.get((doc.doc_id, stage.name))
                if before is None and not self.options.force:
                    before = self._adopt(doc.doc_id, stage, key, adopted)
                fresh = (before is not None and before.key == key
                         and not self.options.force
                         and not (self.options.retry_failed and before.status == FAILED)
                         # degraded for want of something (a model) that may be there now, or
                         # stopped at a time limit that has changed since
                         and not (before.status in (DEGRADED, FAILED)
                                  and before.environment != self._environment_of(stage, before.status, before.environment))
                         # the record as it was written: not replaced, damaged or removed since
                         and (self.workspace.record_stat(doc.doc_id, stage.record) == before.record_stat
                              if before.record_stat else self.workspace.has(doc.doc_id, stage.record)))
                if not fresh:
                    first[doc.doc_id] = index
                    break
        state.see_documents(rows, self.run_id)
        if adopted:
            state.record_stages(adopted, self.run_id)
        return keys, first

    def _environment_of(self, stage: type[Stage], status: str, stored: str | None) -> str | None:
        """What a degraded or failed document-stage is compared on: for a degraded one, the
        stage's environment (the models present); for one stopped at its time limit, the limit."""
        if status == DEGRADED:
            return self.environment(stage)
        if stored is not None and stored.startswith(TIME_LIMIT):
            return self._limit_marker(stage)
        return stored

    def _limit_marker(self, stage: type[Stage]) -> str:
        """What the state keeps of a time-limit failure: the limit it met, to redo it when that changes."""
        return f"{TIME_LIMIT}:{stage_time_limit(stage, self.config):g}"

    def _adopt(self, doc_id: str, stage: type[Stage], key: str, adopted: list) -> StageState | None:
        """A document-stage the state knows nothing of (its database was lost, or moved aside as
        damaged), whose record on disk was made under the key planned now: the record is taken
        back into the state rather than redone. Degraded records and time-limit failures are
        redone: what they lacked, or the limit they met, is not in the record."""
        record = self.workspace.read(doc_id, stage.record)
        if (record is None or record.key != key or record.status == DEGRADED
                or (record.error or {}).get("code") == TIME_LIMIT):
            return None
        record_stat = self.workspace.record_stat(doc_id, stage.record)
        adopted.append((doc_id, stage.name, key, record.status, record.error["message"] if record.error else None,
                        record.report.get("degraded", []), record.timings.get("seconds", 0.0), None, record_stat))
        return StageState(key, record.status, None, record_stat)

    def _settle_ids(self, batch: list[Document]) -> list[Document]:
        """Ids never move and never collide. An id stays with the file that had it on an earlier
        night while that file is still there, else goes to the first document of this run that
        wants it; another document that wants it is a clash: it fails, under its full name,
        with both names in the message."""
        known = self.state.document_paths(list({d.doc_id for d in batch} | {d.full_id for d in batch}))
        settled = []
        for doc in batch:
            holder = self._claimed.get(doc.doc_id)
            if holder is None:
                before = known.get(doc.doc_id)
                if before and not _same_file(before, doc.path) and os.path.exists(before):
                    holder = before  # an earlier night's document, still in place: the id is its
            if holder is not None and not _same_file(holder, doc.path) and doc.full_id != doc.doc_id:
                doc = replace(doc, doc_id=doc.full_id, clash=str(holder))
            elif holder is not None and not _same_file(holder, doc.path):
                # its full name is the id already taken: there is nowhere else to file it
                log.warning("%s: skipped: its records would go where those of %s are; rename one of them",
                            printable(doc.path), printable(holder))
                continue
            self._claimed.setdefault(doc.doc_id, str(doc.path))
            settled.append(doc)
        return settled

    def _fail_clashes(self, clashes: list[Document], result: RunResult) -> None:
        first = self.stages[0]
        records = []
        for doc in clashes:
            taken = _doc_id(Path(doc.full_id))
            records.append(first.failed(doc, "id_clash", f"{printable(doc.path)}: its records would go to "
                                        f"{taken}/ in the output folder, which holds those of {printable(doc.clash)}; "
                                        "rename one of the two files"))
        self.state.see_documents([(d.doc_id, str(d.path), -1, -1, None) for d in clashes], self.run_id)
        self._emit_all(records, lambda record: "id_clash", result)

    def _run_batch(self, batch: list[Document], result: RunResult) -> None:
        batch = self._settle_ids(batch)
        clashes = [d for d in batch if d.clash]
        if clashes:
            self._fail_clashes(clashes, result)
            batch = [d for d in batch if not d.clash]
        keys, first = self._plan(batch)

        def key_for(record: Record) -> str:
            return keys[record.doc_id][record.stage]

        current: dict[str, Record] = {}  # the latest record of each document, from this run or from disk
        for index, stage in enumerate(self.stages):
            if self.stop_requested:
                return
            todo = [d for d in batch if first[d.doc_id] <= index]
            skipped = len(batch) - len(todo)
            if skipped:
                result.counts.setdefault(stage.name, Counter())[SKIPPED] += skipped
            inputs: list[Document | Record] = []
            for doc in todo:
                if index == 0:
                    inputs.append(doc)  # the first stage of the run reads the document
                    continue
                previous = current.get(doc.doc_id) or self.workspace.read(doc.doc_id, self.stages[index - 1].record)
                if previous is None or previous.status == FAILED:
                    self._remove_stale(doc.doc_id, stage)
                    continue
                inputs.append(previous)
            outputs = self.engine.apply(stage, inputs)
            self._emit_all(outputs, key_for, result)
            current = {o.doc_id: o for o in outputs}
            self.on_progress(stage.name, len(batch))

    def _remove_stale(self, doc_id: str, stage: type[Stage]) -> None:
        """A document that failed upstream must not keep a downstream record from an older run."""
        self.workspace.remove(doc_id, stage.record)
        if self.state is not None:
            self.state.forget_stage(doc_id, stage.name)

    def _emit_all(self, records: list[Record], key_for: Callable[[Record], str], result: RunResult) -> None:
        """Write each record, then the state of the whole group in one transaction."""
        rows = []
        for record in records:
            record.key = key_for(record)
            try:
                record_stat = self.workspace.write(record)
            except RecordNotWritten as exc:
                record.fail("record_not_written", str(exc))
                record_stat = None
            result.add(record)
            self.on_record(record)
            environment = None
            if record.status == DEGRADED:
                environment = self.environment(get_stage(record.stage))
            elif record.error and record.error.get("code") == TIME_LIMIT:
                environment = self._limit_marker(get_stage(record.stage))
            rows.append((record.doc_id, record.stage, record.key, record.status,
                         record.error["message"] if record.error else None,
                         record.report.get("degraded", []), record.timings.get("seconds", 0.0), environment,
                         record_stat))
        if rows and self.state is not None:
            self.state.record_stages(rows, self.run_id)


__all__ = ["Runner", "RunOptions", "RunResult"]
