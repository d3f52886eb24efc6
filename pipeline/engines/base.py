"""What every engine shares: the one way a stage computes a batch, and the one way a document fails.

An engine takes a stage and a batch of inputs (documents, or an earlier stage's records) and
returns one record per input, in order. It never raises for one document: an input that
cannot be read (InputError), that breaks the stage, or that runs past its time limit
(models.yaml `limits`) becomes that document's failed record, and the rest of the batch goes
on. The runner plans, skips and writes; engines only compute.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from pipeline.config import Config
from pipeline.deadline import CPU as CPU_TIME
from pipeline.deadline import WALL as WALL_TIME
from pipeline.deadline import TimeLimitReached, deadline
from pipeline.errors import InputError
from pipeline.records import Record
from pipeline.stages.base import CPU, Stage, StageContext

log = logging.getLogger("newsum")

TIME_LIMIT = "time_limit"  # the error code of a document that ran past its stage's time limit


def stage_time_limit(stage: type[Stage], config: Config) -> float:
    """Seconds one document may take in this stage (models.yaml `limits`; 0: none)."""
    return config.limits.cpu_seconds if stage.kind(config) == CPU else config.limits.model_seconds


def _limit(stage: Stage, documents: int = 1) -> deadline:
    """The deadline of `documents` documents in this stage: CPU time for a CPU stage, wall time for a model stage."""
    clock = CPU_TIME if type(stage).kind(stage.context.config) == CPU else WALL_TIME
    return deadline(stage_time_limit(type(stage), stage.context.config) * documents, clock)


def _time_limit_failure(stage: Stage, item: Any) -> Record:
    seconds = stage_time_limit(type(stage), stage.context.config)
    budget = f"{seconds:g} s of CPU time" if type(stage).kind(stage.context.config) == CPU else f"{seconds:g} s"
    return type(stage).failed(item, TIME_LIMIT, f"{stage.name} took longer than its limit of {budget} per document "
                              "and was stopped; it is tried again when models.yaml's limits change, or with --retry-failed")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _one(stage: Stage, item: Any) -> Record:
    """One input through the stage alone, within its time limit, never raising."""
    try:
        with _limit(stage):
            (record,) = stage([type(stage).prepare(item)])
        return record
    except TimeLimitReached:
        return _time_limit_failure(stage, item)
    except InputError as exc:
        return type(stage).failed(item, exc.code, str(exc))
    except Exception as exc:  # a bug on one page must not stop the night's run
        log.debug("internal error in %s for %s:\n%s", stage.name, item.doc_id, traceback.format_exc())
        return type(stage).failed(item, "internal_error", f"{type(exc).__name__}: {exc}")


def _size(item: Any) -> int:
    return max(1, len(getattr(item, "text", "") or ""))


def compute(stage: Stage, inputs: list[Any]) -> list[Record]:
    """A stage over a batch: one record per input, in order, each with its own timings.

    A per-document stage is run and timed one document at a time. A batch stage runs the
    batch in one call; each record's `seconds` is its share of the batch's time in proportion
    to its text (with `batch_seconds` and `batch_documents` beside it). When the batch call
    raises, or runs past the sum of its documents' time limits, its documents are run one by
    one, so only the document that breaks the stage, or runs away, fails.
    """
    if not inputs:
        return []
    if stage.per_document:
        outputs = []
        for item in inputs:
            started_at, started = _now(), time.perf_counter()
            record = _one(stage, item)
            record.timings = {"started_at": started_at, "seconds": round(time.perf_counter() - started, 6)}
            outputs.append(record)
        return outputs
    started_at, started = _now(), time.perf_counter()
    prepared, outputs_at, outputs = [], [], [None] * len(inputs)
    for i, item in enumerate(inputs):
        try:
            prepared.append(type(stage).prepare(item))
            outputs_at.append(i)
        except InputError as exc:
            outputs[i] = type(stage).failed(item, exc.code, str(exc))
    try:
        with _limit(stage, len(prepared)):
            results = stage(prepared)
        for i, record in zip(outputs_at, results, strict=True):
            outputs[i] = record
    except (Exception, TimeLimitReached) as exc:
        if isinstance(exc, TimeLimitReached) and len(outputs_at) == 1:
            outputs[outputs_at[0]] = _time_limit_failure(stage, inputs[outputs_at[0]])
        else:
            for i in outputs_at:
                outputs[i] = _one(stage, inputs[i])
    elapsed = time.perf_counter() - started
    total = sum(_size(item) for item in inputs)
    for item, record in zip(inputs, outputs, strict=True):
        record.timings = {"started_at": started_at, "seconds": round(elapsed * _size(item) / total, 6),
                          "batch_seconds": round(elapsed, 6), "batch_documents": len(inputs)}
    return outputs


class Engine:
    """Where stages compute. `start` is told the run's stages and the context they are built
    from; `apply` computes one stage over a batch; `close` releases what the engine holds."""

    model_loads = 0  # models loaded by this engine's own process (the runner reports it)

    def start(self, stages: list[type[Stage]], context: StageContext) -> None:
        self.context = context

    def window(self, batch_size: int) -> int:
        """How many documents the runner plans, computes and writes together."""
        return batch_size

    def apply(self, stage: type[Stage], inputs: list[Any]) -> list[Record]:
        """One stage over inputs: one record per input, in the same order; never raises for one document."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the engine holds (workers, connections)."""
