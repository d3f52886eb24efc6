"""The local engine's pool: sized from the work, stages built and preloaded once before the fork."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from typing import ClassVar

import pytest

from pipeline.config import Config
from pipeline.engines import local
from pipeline.engines.local import MIN_DOCS_PER_WORKER, LocalEngine, pool_size
from pipeline.records import Record
from pipeline.stages.base import Stage, StageContext


@dataclass
class PidRecord(Record):
    stage: ClassVar[str] = "pids"
    file: ClassVar[str] = "pids.json"
    pid: int = 0
    built_in: int = 0
    preloaded_in: int = 0


class PidStage(Stage):
    """A CPU stage that says which process computed each record, built it and preloaded it."""

    name = "pids"
    record = PidRecord
    per_document = True

    def __init__(self, context, models=None):
        super().__init__(context, models)
        self.built_in = os.getpid()
        self.preloaded_in = 0

    def preload(self) -> None:
        self.preloaded_in = os.getpid()

    def __call__(self, batch):
        return [PidRecord(doc_id=r.doc_id, pid=os.getpid(), built_in=self.built_in, preloaded_in=self.preloaded_in)
                for r in batch]


@pytest.fixture
def engine():
    local._worker_stages.clear()
    made: list[LocalEngine] = []

    def make(workers: int) -> LocalEngine:
        e = LocalEngine(workers)
        e.start([PidStage], StageContext(Config()))
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()
    local._worker_stages.clear()


def inputs(n: int) -> list[Record]:
    return [Record(doc_id=f"d{i}") for i in range(n)]


def test_pool_size_grows_with_the_documents_up_to_the_workers():
    assert pool_size(2, 0) == 1
    assert pool_size(2, 10) == 1  # ten documents are not worth a second process
    assert pool_size(2, 2 * MIN_DOCS_PER_WORKER) == 2
    assert pool_size(8, 3 * MIN_DOCS_PER_WORKER) == 3
    assert pool_size(8, 1000) == 8
    assert pool_size(1, 1000) == 1


def test_a_small_batch_runs_here_without_starting_a_pool(engine):
    e = engine(4)
    records = e.apply(PidStage, inputs(MIN_DOCS_PER_WORKER + 2))
    assert {r.pid for r in records} == {os.getpid()}
    assert e._pool is None


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="workers inherit stages by fork")
def test_a_large_batch_is_shared_by_workers_that_inherit_the_preloaded_stage(engine):
    e = engine(2)
    records = e.apply(PidStage, inputs(4 * MIN_DOCS_PER_WORKER))
    assert [r.doc_id for r in records] == [f"d{i}" for i in range(4 * MIN_DOCS_PER_WORKER)]  # in order
    assert os.getpid() not in {r.pid for r in records}
    assert len({r.pid for r in records}) <= 2
    # Built and preloaded once, here, before the fork: no worker built its own.
    assert {r.built_in for r in records} == {os.getpid()}
    assert {r.preloaded_in for r in records} == {os.getpid()}


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="workers inherit stages by fork")
def test_a_batch_for_fewer_workers_than_the_pool_has_leaves_the_others_idle(engine):
    e = engine(4)
    e.apply(PidStage, inputs(4 * MIN_DOCS_PER_WORKER))  # the pool starts with its 4 workers
    records = e.apply(PidStage, inputs(2 * MIN_DOCS_PER_WORKER))
    assert 1 <= len({r.pid for r in records}) <= 2
