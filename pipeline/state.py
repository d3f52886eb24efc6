"""Incremental state in SQLite: OUT/.newsum/state.sqlite.

Per document and stage it keeps the key the stage ran under (a hash of the input's content,
of the configuration sections the stage depends on and of the code version), its status,
timing and error; per run, when it started and ended, its counts and exit code. A rerun
skips every document-stage whose key is unchanged and whose record is on disk.

The record is always written first and the state after it, in a transaction: a run killed
between the two leaves a record without a state row, and the next run simply redoes that
document-stage.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STATE_DIR = ".newsum"

# Migrations: index i brings a database from version i to i + 1.
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        pid INTEGER,
        command TEXT,
        exit_code INTEGER,
        counts TEXT
    );
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        size INTEGER,
        mtime_ns INTEGER,
        sha256 TEXT,
        last_run INTEGER
    );
    CREATE TABLE doc_stages (
        doc_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        reasons TEXT,
        seconds REAL,
        run_id INTEGER,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (doc_id, stage)
    );
    CREATE INDEX doc_stages_status ON doc_stages(status);
    """,
]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StageState:
    key: str
    status: str


class State:
    """The state database of one OUT folder."""

    def __init__(self, out_dir: str | os.PathLike):
        self.dir = Path(out_dir) / STATE_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "state.sqlite"
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            from pipeline.errors import ConfigError

            raise ConfigError(f"{self.path}: state schema version {version} is newer than this newsum "
                              f"understands ({SCHEMA_VERSION}); upgrade newsum")
        for index in range(version, SCHEMA_VERSION):
            with self.transaction():  # executescript would commit on its own: one statement at a time
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {index + 1}")

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        with self.transaction():
            cursor = self.db.execute("INSERT INTO runs (started_at, pid, command) VALUES (?, ?, ?)",
                                     (now(), os.getpid(), command))
        return int(cursor.lastrowid)

    def end_run(self, run_id: int, exit_code: int, counts: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET ended_at = ?, exit_code = ?, counts = ? WHERE id = ?",
                            (now(), exit_code, json.dumps(counts, sort_keys=True), run_id))

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, started_at, ended_at, pid, command, exit_code, counts FROM runs "
                               "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "started_at": r[1], "ended_at": r[2], "pid": r[3], "command": r[4],
                 "exit_code": r[5], "counts": json.loads(r[6]) if r[6] else None} for r in rows]

    # -- documents --------------------------------------------------------------------------

    def known_sha(self, doc_id: str, size: int, mtime_ns: int) -> str | None:
        """The content hash seen last time, when size and modification time are unchanged."""
        row = self.db.execute("SELECT sha256 FROM documents WHERE doc_id = ? AND size = ? AND mtime_ns = ?",
                              (doc_id, size, mtime_ns)).fetchone()
        return row[0] if row else None

    def see_documents(self, rows: list[tuple[str, str, int, int, str | None]], run_id: int) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT INTO documents (doc_id, path, size, mtime_ns, sha256, last_run) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(doc_id) DO UPDATE SET path = excluded.path, size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, last_run = excluded.last_run",
                [(*row, run_id) for row in rows])

    def unseen_documents(self, run_id: int) -> list[tuple[str, str]]:
        return self.db.execute("SELECT doc_id, path FROM documents WHERE last_run IS NOT ? ORDER BY doc_id",
                               (run_id,)).fetchall()

    def forget_documents(self, doc_ids: list[str]) -> None:
        with self.transaction():
            self.db.executemany("DELETE FROM documents WHERE doc_id = ?", [(d,) for d in doc_ids])
            self.db.executemany("DELETE FROM doc_stages WHERE doc_id = ?", [(d,) for d in doc_ids])

    # -- stages ---------------------------------------------------------------------------

    def stage_states(self, doc_ids: list[str]) -> dict[tuple[str, str], StageState]:
        out: dict[tuple[str, str], StageState] = {}
        for start in range(0, len(doc_ids), 500):
            chunk = doc_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for doc_id, stage, key, status in self.db.execute(
                    f"SELECT doc_id, stage, key, status FROM doc_stages WHERE doc_id IN ({marks})", chunk):
                out[(doc_id, stage)] = StageState(key, status)
        return out

    def record_stages(self, rows: list[tuple[str, str, str, str, str | None, list[str], float]], run_id: int) -> None:
        """(doc_id, stage, key, status, error, degraded reasons, seconds) for records already on disk."""
        stamp = now()
        with self.transaction():
            self.db.executemany(
                "INSERT INTO doc_stages (doc_id, stage, key, status, error, reasons, seconds, run_id, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(doc_id, stage) DO UPDATE SET key = excluded.key, "
                "status = excluded.status, error = excluded.error, reasons = excluded.reasons, "
                "seconds = excluded.seconds, run_id = excluded.run_id, updated_at = excluded.updated_at",
                [(d, s, k, st, e, json.dumps(r) if r else None, sec, run_id, stamp)
                 for d, s, k, st, e, r, sec in rows])

    def forget_stage(self, doc_id: str, stage: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM doc_stages WHERE doc_id = ? AND stage = ?", (doc_id, stage))

    def problems(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT doc_id, stage, status, error, reasons, run_id, updated_at FROM doc_stages "
                               "WHERE status != 'ok' ORDER BY doc_id, stage").fetchall()
        return [{"doc_id": r[0], "stage": r[1], "status": r[2], "error": r[3],
                 "reasons": json.loads(r[4]) if r[4] else [], "run_id": r[5], "updated_at": r[6]} for r in rows]


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def open_existing(out_dir: str | os.PathLike) -> State | None:
    """The state of an OUT folder for reading, or None when no run has written one."""
    if not (Path(out_dir) / STATE_DIR / "state.sqlite").is_file():
        return None
    return State(out_dir)
