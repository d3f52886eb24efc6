"""The local engine: CPU stages in a pool of worker processes, model stages in this process.

Workers are forked when the first CPU batch large enough to share comes (before any model
stage imports torch and starts its threads) and die with this process even when it is
killed with SIGKILL. The run's CPU stages are built here before the fork, with what they
preload (`preload()`, where a stage has one), so that workers share them copy-on-write
instead of each building and loading its own. A pool pays for itself only over enough
documents: a batch is split among at most one worker per MIN_DOCS_PER_WORKER documents, and
a batch too small for two runs here, as with one worker (a run of ten documents starts no pool). Model stages load each model once,
through this process's model registry.
"""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pipeline.engines.base import Engine, compute
from pipeline.models.registry import ModelRegistry
from pipeline.records import Record
from pipeline.stages.base import CPU, Stage, StageContext

# in a worker process: the run's CPU stages, built once (in the parent, just before it forks)
_worker_stages: dict[str, Stage] = {}
# Documents per worker below which a worker costs more than it saves: starting one (a fork,
# and the detection models it loads for the languages it meets) costs about what clean and
# detect spend on a handful of documents.
MIN_DOCS_PER_WORKER = 8


def pool_size(workers: int, documents: int) -> int:
    """Processes worth using for a batch: at most `workers`, one per MIN_DOCS_PER_WORKER documents."""
    return max(1, min(workers, documents // MIN_DOCS_PER_WORKER))


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


def _init_worker(stages: list[type[Stage]], context: StageContext, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for stage in stages:
        if stage.name not in _worker_stages:  # forked: built (and preloaded) by the parent already
            _worker_stages[stage.name] = stage(context)


def _compute_chunk(args: tuple[str, list[Any]]) -> list[Record]:
    name, chunk = args
    return compute(_worker_stages[name], chunk)


class LocalEngine(Engine):
    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._stages: dict[str, Stage] = {}
        self.registry: ModelRegistry | None = None

    def start(self, stages: list[type[Stage]], context: StageContext) -> None:
        super().start(stages, context)
        self.cpu_stages = [s for s in stages if s.kind(context.config) == CPU]
        self.registry = ModelRegistry(context.config)

    @property
    def model_loads(self) -> int:
        return self.registry.loads if self.registry is not None else 0

    def stage(self, stage: type[Stage]) -> Stage:
        """A stage object in this process, built on first use: a run without models imports no model code."""
        if stage.name not in self._stages:
            self._stages[stage.name] = stage(self.context, self.registry)
        return self._stages[stage.name]

    def _pool_for(self) -> ProcessPoolExecutor | None:
        if self.workers <= 1 or not self.cpu_stages:
            return None
        if self._pool is None:
            import multiprocessing

            # fork: workers start at once and are children of this process (so they die with it),
            # and inherit the stages built here with what they preloaded.
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            if method == "fork":
                for stage in self.cpu_stages:
                    built = self.stage(stage)
                    built.preload()
                    _worker_stages[stage.name] = built
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method),
                                             initializer=_init_worker,
                                             initargs=(self.cpu_stages, self.context, os.getpid()))
        return self._pool

    def apply(self, stage: type[Stage], inputs: list[Any]) -> list[Record]:
        if not inputs:
            return []
        workers = pool_size(self.workers, len(inputs))
        if stage in self.cpu_stages and workers > 1:
            pool = self._pool_for()
            if pool is not None:
                # Chunks of documents, each one call of the stage: a few per worker when all are
                # used (they even out the load), else one per worker used, so that the others
                # stay idle and load nothing.
                size = max(1, -(-len(inputs) // (workers * (4 if workers == self.workers else 1))))
                chunks = [(stage.name, inputs[i:i + size]) for i in range(0, len(inputs), size)]
                return [record for chunk in pool.map(_compute_chunk, chunks) for record in chunk]
        return compute(self.stage(stage), inputs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            _worker_stages.clear()  # what was handed to the forked workers: not kept past the run


__all__ = ["LocalEngine"]
