"""The stage records: the contract between stages, and how they go to and from disk.

Every record carries `schema_version`, `stage`, `doc_id`, `status`, the `key` it was made
under (so that a lost state database is rebuilt from the records), a `report` of what the
stage did, `timings` and, when it failed, an `error`. Each record type has a JSON Schema in
`pipeline/schemas/`. Where records live is the workspace's business (pipeline.workspace).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any, ClassVar

SCHEMA_VERSION = 1

OK, DEGRADED, FAILED = "ok", "degraded", "failed"


@dataclass
class Record:
    stage: ClassVar[str] = ""  # the stage that writes it
    file: ClassVar[str] = ""  # its file name in the document's folder
    doc_id: str
    status: str = OK
    key: str | None = None  # the runner's key for this document-stage (pipeline/runner.py)
    report: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"schema_version": SCHEMA_VERSION, "stage": self.stage, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def fail(self, code: str, message: str) -> None:
        self.status = FAILED
        self.error = {"code": code, "message": message}

    def degrade(self, reason: str) -> None:
        if self.status == OK:
            self.status = DEGRADED
        self.report.setdefault("degraded", []).append(reason)


@dataclass
class CleanRecord(Record):
    stage: ClassVar[str] = "clean"
    file: ClassVar[str] = "clean.json"
    title: str = ""
    text: str = ""
    removed: list[dict[str, str]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    declared_language: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class DetectRecord(Record):
    stage: ClassVar[str] = "detect"
    file: ClassVar[str] = "detect.json"
    language: str = "und"
    confidence: float = 0.0
    declared_language: str | None = None
    declaration_disagrees: bool = False
    paragraphs: list[dict[str, Any]] = field(default_factory=list)
    mixed: bool = False
    shares: dict[str, float] = field(default_factory=dict)
    title: str = ""
    text: str = ""


@dataclass
class TranslateRecord(Record):
    stage: ClassVar[str] = "translate"
    file: ClassVar[str] = "translate.json"
    source_language: str = "und"
    target_language: str = "en"
    translated: bool = False
    title: str = ""
    text: str = ""
    model: dict[str, Any] | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SummaryRecord(Record):
    stage: ClassVar[str] = "summarize"
    file: ClassVar[str] = "summary.json"
    language: str = "und"
    title: str = ""
    summary: str = ""
    key_points: list[str] = field(default_factory=list)
    method: str = "extractive"
    model: dict[str, Any] | None = None
    length: dict[str, Any] = field(default_factory=dict)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)


@cache
def schema(stage: str) -> dict[str, Any]:
    """The JSON Schema of a stage's record."""
    text = resources.files("pipeline.schemas").joinpath(f"{stage}.schema.json").read_text("utf-8")
    return json.loads(text)
