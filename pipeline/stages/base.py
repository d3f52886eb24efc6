"""The stage contract: what every stage declares about itself, once.

A stage is a class with:

- `name`: what `--stages` and the state call it;
- `record`: the record type it writes (its `file` in the document's folder);
- `consumes`: the stage whose record it reads, or None for the stage that reads the input
  documents themselves;
- `section`: the models.yaml section its records depend on (part of its key);
- `options`: the run options it reads (`workers`, `device`, `declared_lang`, `explain`),
  so that each command offers only the options that do something there;
- `kind(config)`: CPU work (run in worker processes) or model work (batched, models loaded once);
- `environment(context)`: what outside the configuration its records depend on (the models
  present), so that a document-stage that degraded for a missing model is redone once it is there;
- `preload()`: what every document needs, loaded before the workers fork (optional);
- `surveys` and `survey(documents, context, remembered, stopped)`: a stage that reads the
  documents themselves may look at all of a run's documents before any batch (and gives up,
  with nothing found, as soon as `stopped()` says the run is asked to stop). What it finds about each
  document travels with it (`Document.evidence`) and is part of that document's key; what it
  learned (`Survey.seen`) the state remembers when the run ends, and hands to the next run's
  survey as `remembered`;
- `take(record)`: what it makes of an earlier stage's record when its own predecessor is not
  part of the run (a run may be any ordered subset of the stages);
- `__call__(batch)`: records in, one record out per input, in order.

Nothing outside `pipeline/stages/` compares stage names: the runner and the engines go by
these declarations only. The registry (`pipeline.stages`) lists the stages in order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.inputs import Document, read_document
from pipeline.records import CleanRecord, Record

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.models.registry import ModelRegistry
    from pipeline.workspace import Workspace

CPU, MODEL = "cpu", "model"


@dataclass
class Survey:
    """What a stage found in the whole run: per document (by its path, as a string), its evidence
    (sorted strings; a document without any is absent), and what to remember for later runs
    (item -> the pages it was seen on)."""

    evidence: dict[str, tuple[str, ...]]
    seen: dict[str, int]


@dataclass(frozen=True)
class StageContext:
    """What a stage is built from: the configuration, the run's choices that change records,
    and the workspace where a stage may keep a cache (None: it keeps none, as on a Ray worker)."""

    config: Config
    declared_language: str | None = None
    explain: bool = False
    workspace: Workspace | None = None


class Stage:
    name: ClassVar[str] = ""
    record: ClassVar[type[Record]] = Record
    consumes: ClassVar[str | None] = None
    section: ClassVar[str | None] = None
    options: ClassVar[tuple[str, ...]] = ()
    # True: each document is computed on its own (timed alone; an error costs that document
    # only). False: the batch is one call (model stages batch across documents).
    per_document: ClassVar[bool] = False
    # True: `survey` looks at all of a run's documents before any batch (stages that read the
    # documents themselves only).
    surveys: ClassVar[bool] = False

    def __init__(self, context: StageContext, models: ModelRegistry | None = None):
        self.context = context
        self.models = models

    # -- declarations ----------------------------------------------------------------------

    @classmethod
    def kind(cls, config: Config) -> str:
        """CPU or MODEL: where an engine computes this stage under this configuration."""
        return CPU

    @classmethod
    def settings(cls, context: StageContext) -> dict[str, Any]:
        """The run's choices besides its models.yaml section that change this stage's records."""
        return {}

    @classmethod
    def environment(cls, context: StageContext) -> str | None:
        """A fingerprint of what outside the configuration this stage's records depend on (which
        models are present). A document-stage that degraded is redone when it changes. None: nothing."""
        return None

    @classmethod
    def key(cls, context: StageContext) -> str:
        """A stable hash of everything in the configuration that this stage's records depend on."""
        blob = json.dumps([context.config.section_digest(cls.section), cls.settings(context)], sort_keys=True,
                          default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def survey(cls, documents: list[Document], context: StageContext, remembered: dict[str, int],
               stopped: Callable[[], bool] = lambda: False) -> Survey:
        """What the run's documents, seen together, say about each of them (see `surveys`)."""
        return Survey({}, {})

    # -- inputs and failures ------------------------------------------------------------------

    @classmethod
    def take(cls, record: Record) -> Record:
        """The record this stage reads, made from an earlier stage's record. By default the
        record itself: a stage that consumes its predecessor's record gets it as it is."""
        return record

    @classmethod
    def prepare(cls, item: Document | Record) -> Document | Record:
        """What `__call__` gets for one input: the document itself for the stage that reads
        documents; otherwise `take` of a record, or of the document's text as it is when no
        earlier stage ran (a clean record with nothing removed). Raises InputError for a
        document that cannot be read."""
        if cls.consumes is None:
            return item
        if isinstance(item, Document):
            item = CleanRecord(doc_id=item.doc_id, text=read_document(item).text)
        return cls.take(item)

    @classmethod
    def failed(cls, item: Document | Record, code: str, message: str) -> Record:
        """The record of a document this stage could not process."""
        record = cls.record(doc_id=item.doc_id)
        record.fail(code, message)
        return record

    # -- work --------------------------------------------------------------------------------

    def preload(self) -> None:
        """Load now what every document will need (the local engine calls it before forking its
        workers, so that they share it copy-on-write). By default nothing: loads are lazy."""

    def __call__(self, batch: list[Any]) -> list[Record]:
        raise NotImplementedError
