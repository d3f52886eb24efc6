"""The stage records: the contract between stages, and how they go to and from disk.

Every record carries `schema_version`, `stage`, `doc_id`, `status`, a `report` of what the
stage did, `timings` and, when it failed, an `error`. Each record type has a JSON Schema in
`pipeline/schemas/`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

SCHEMA_VERSION = 1
STAGES = ("clean", "detect", "translate", "summarize")
RECORD_FILES = {"clean": "clean.json", "detect": "detect.json",
                "translate": "translate.json", "summarize": "summary.json"}

OK, DEGRADED, FAILED = "ok", "degraded", "failed"


@dataclass
class Record:
    stage: ClassVar[str] = ""
    doc_id: str
    status: str = OK
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
    language: str = "und"
    title: str = ""
    summary: str = ""
    key_points: list[str] = field(default_factory=list)
    method: str = "extractive"
    model: dict[str, Any] | None = None
    length: dict[str, Any] = field(default_factory=dict)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)


RECORD_TYPES: dict[str, type[Record]] = {
    cls.stage: cls for cls in (CleanRecord, DetectRecord, TranslateRecord, SummaryRecord)
}


def record_path(out_dir: str | os.PathLike, doc_id: str, stage: str) -> Path:
    return Path(out_dir) / doc_id / RECORD_FILES[stage]


def remove_stale_temporaries(out_dir: str | os.PathLike) -> int:
    """Remove the temporary files of record writes that a killed run left behind (hidden
    `.clean.json.<random>.tmp` beside the records); returns how many. Call it only under the
    run lock, when no write can be in progress. Other files are never touched."""
    prefixes = tuple(f".{name}." for name in RECORD_FILES.values())
    removed = 0
    for root, dirs, files in os.walk(out_dir):
        dirs[:] = [d for d in dirs if d != ".newsum"]
        for name in files:
            if name.endswith(".tmp") and name.startswith(prefixes):
                try:
                    os.unlink(os.path.join(root, name))
                    removed += 1
                except OSError:
                    pass
    return removed


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a file so that readers see the old one or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON so that readers see the old file or the whole new one, never a part."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def write_record(out_dir: str | os.PathLike, record: Record) -> Path:
    path = record_path(out_dir, record.doc_id, record.stage)
    write_json_atomic(path, record.to_dict())
    return path


def read_record(out_dir: str | os.PathLike, doc_id: str, stage: str) -> Record | None:
    path = record_path(out_dir, doc_id, stage)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    return RECORD_TYPES[stage].from_dict(data)


@cache
def schema(stage: str) -> dict[str, Any]:
    """The JSON Schema of a stage's record."""
    text = resources.files("pipeline.schemas").joinpath(f"{stage}.schema.json").read_text("utf-8")
    return json.loads(text)
