"""The workspace: everything newsum keeps in an output folder (OUT), and the one module that knows its layout.

    OUT/<document id>/<record file>      the stages' records (clean.json, detect.json, ...)
    OUT/digest.md, OUT/digest.html       what a reader opens
    OUT/.newsum/state.sqlite             what each run did, and the key each document-stage ran under
    OUT/.newsum/translations.sqlite      segments already translated (unless models.yaml names another file)
    OUT/.newsum/clean-survey.sqlite      what clean's survey read of each page (its lines), by content
    OUT/.newsum/lock                     one run at a time

Records are written atomically (a temporary file beside them, fsynced, renamed into place):
readers see the old record or the whole new one. The state is written after the record, in
a transaction, so a run killed between the two leaves a record without its state row, and
the next run simply redoes that document-stage. Both databases are migrated by `migrate`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, LockHeld, OutputError, UsageError
from pipeline.files import write_json_atomic
from pipeline.records import Record

log = logging.getLogger("newsum")

# newsum's own folder inside a folder it shares: OUT (the state, never a document id) and
# the model cache that models.yaml's cache_dir names (CTranslate2 conversions).
NEWSUM_DIR = ".newsum"
STATE_DIR = NEWSUM_DIR
STATE_FILE = "state.sqlite"
TRANSLATION_CACHE_FILE = "translations.sqlite"
SURVEY_CACHE_FILE = "clean-survey.sqlite"
STORY_STORE = Path(STATE_DIR) / "stories.sqlite"  # the stories of earlier nights, relative to OUT
LOCK_FILE = "lock"
DIGEST_FILES = ("digest.md", "digest.html")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- databases ---------------------------------------------------------------------------------

def migrate(db: sqlite3.Connection, migrations: list[str], path: Path | str) -> None:
    """Bring a database to the newest schema: migrations[i] takes it from version i to i + 1
    (PRAGMA user_version), each in its own transaction. A database newer than this newsum is refused."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise ConfigError(f"{path}: schema version {version} is newer than this newsum understands "
                          f"({len(migrations)}); upgrade newsum")
    for index in range(version, len(migrations)):
        db.execute("BEGIN IMMEDIATE")
        try:  # executescript would commit on its own: one statement at a time
            for statement in migrations[index].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {index + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def damaged(exc: BaseException) -> bool:
    """A file that is not a database, or a damaged one (not a lock, a full disk, a permission)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def move_database_aside(path: Path, why: str) -> Path:
    """Move a database that cannot be used, with its journal files, to `<name>.<why>-<time>`, a name
    no earlier one holds (a journal left beside a new file would be replayed into it); returns it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside, n = path.with_name(f"{path.name}.{why}-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    return aside


def _connect(path: Path, migrations: list[str]) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
        db.execute("PRAGMA journal_mode=WAL")  # readers are not blocked while a run writes
        migrate(db, migrations, path)
    except BaseException:
        db.close()
        raise
    return db


def open_database(path: Path, migrations: list[str], *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to one of the workspace's databases, migrated (or read-only, as it is).

    A damaged database (not a database at all, truncated, malformed) is moved aside, kept
    as `<name>.damaged-<time>` and named in a warning, and a new one is started: what it
    held is redone from the inputs, never lost from the records."""
    if readonly:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5, isolation_level=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _connect(path, migrations)
    except sqlite3.Error as exc:
        if not damaged(exc):
            raise
        aside = move_database_aside(path, "damaged")
        log.warning("%s was damaged (%s): moved aside to %s; a new one is started", path, exc, aside.name)
        return _connect(path, migrations)


class CacheDatabase:
    """A database that only saves work (the translation cache, clean's survey cache): opened
    lazily; when it cannot be read or written (a damaged file that could not be replaced, a
    full disk), it is bypassed for the rest of the run with one warning, and the work goes on
    without it. Subclasses name it (`what`) and give its MIGRATIONS."""

    what = "cache"
    MIGRATIONS: list[str] = []

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self.bypassed: str | None = None  # why the cache is not used, once it failed

    def _bypass(self, exc: Exception) -> None:
        self.bypassed = f"{type(exc).__name__}: {exc}"
        log.warning("%s %s bypassed for this run: %s", self.what, self.path, self.bypassed)
        self.close()

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_database(self.path, self.MIGRATIONS)
            self._db.isolation_level = ""  # `with db:` commits each batch of rows
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# The state database. Per document and stage: the key the stage ran under (a hash of the
# input's content, of the configuration the stage depends on and of the code version), its
# status, timing and error; per run: when it started and ended, its counts and exit code.
STATE_MIGRATIONS = [
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
    # What outside the configuration a degraded document-stage lacked (which models were
    # present): when it changes, the document-stage is redone.
    "ALTER TABLE doc_stages ADD COLUMN environment TEXT",
    # The size and modification time of the record as written: a record replaced or damaged
    # since (or a folder in its place) no longer matches, and is redone.
    "ALTER TABLE doc_stages ADD COLUMN record_stat TEXT",
    # What a stage's survey learned across the documents of a run (clean: the fingerprints of
    # site-template lines), kept for later runs: on how many pages it was seen, and when last.
    """
    CREATE TABLE evidence (
        stage TEXT NOT NULL,
        item TEXT NOT NULL,
        pages INTEGER NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (stage, item)
    )
    """,
]
# Evidence unseen for this many days is forgotten (a site's old template).
EVIDENCE_DAYS = 120


@dataclass(frozen=True)
class StageState:
    key: str
    status: str
    environment: str | None = None
    record_stat: str | None = None


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


class State:
    """The state database of one workspace."""

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        self.db = open_database(path, STATE_MIGRATIONS, readonly=readonly)
        if not readonly:
            self.db.execute("PRAGMA synchronous=FULL")

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        with self.transaction():
            cursor = self.db.execute("INSERT INTO runs (started_at, pid, command) VALUES (?, ?, ?)",
                                     (now(), os.getpid(), command))
        return int(cursor.lastrowid)

    def end_run(self, run_id: int, exit_code: int, counts: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET ended_at = ?, exit_code = ?, counts = ? WHERE id = ?",
                            (now(), exit_code, json.dumps(counts), run_id))

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, started_at, ended_at, pid, command, exit_code, counts FROM runs "
                               "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "started_at": r[1], "ended_at": r[2], "pid": r[3], "command": r[4],
                 "exit_code": r[5], "counts": json.loads(r[6]) if r[6] else None} for r in rows]

    # -- documents ------------------------------------------------------------------------------

    def known_sha(self, doc_id: str, size: int, mtime_ns: int) -> str | None:
        """The content hash seen last time, when size and modification time are unchanged."""
        row = self.db.execute("SELECT sha256 FROM documents WHERE doc_id = ? AND size = ? AND mtime_ns = ?",
                              (doc_id, size, mtime_ns)).fetchone()
        return row[0] if row else None

    def document_paths(self, doc_ids: list[str]) -> dict[str, str]:
        """The input path each of these ids was last seen at."""
        out: dict[str, str] = {}
        for start in range(0, len(doc_ids), 500):
            chunk = doc_ids[start:start + 500]
            out.update(self.db.execute(f"SELECT doc_id, path FROM documents WHERE doc_id IN ({','.join('?' * len(chunk))})",
                                       chunk).fetchall())
        return out

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

    # -- what surveys learned ----------------------------------------------------------------

    def remembered(self, stage: str) -> dict[str, int]:
        """What earlier runs' surveys of `stage` learned: item -> the most pages one run saw it on."""
        return dict(self.db.execute("SELECT item, pages FROM evidence WHERE stage = ?", (stage,)).fetchall())

    def remember(self, stage: str, seen: dict[str, int]) -> None:
        """Keep what this run's survey learned; forget what no run has seen for EVIDENCE_DAYS."""
        stamp = now()
        cutoff = (datetime.now(UTC) - timedelta(days=EVIDENCE_DAYS)).isoformat(timespec="seconds")
        with self.transaction():
            self.db.executemany(
                "INSERT INTO evidence (stage, item, pages, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(stage, item) DO UPDATE SET pages = max(pages, excluded.pages), last_seen = excluded.last_seen",
                [(stage, item, pages, stamp) for item, pages in seen.items()])
            self.db.execute("DELETE FROM evidence WHERE stage = ? AND last_seen < ?", (stage, cutoff))

    # -- stages -----------------------------------------------------------------------------

    def stage_states(self, doc_ids: list[str]) -> dict[tuple[str, str], StageState]:
        out: dict[tuple[str, str], StageState] = {}
        for start in range(0, len(doc_ids), 500):
            chunk = doc_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for doc_id, stage, key, status, environment, record_stat in self.db.execute(
                    "SELECT doc_id, stage, key, status, environment, record_stat FROM doc_stages "
                    f"WHERE doc_id IN ({marks})", chunk):
                out[(doc_id, stage)] = StageState(key, status, environment, record_stat)
        return out

    def record_stages(self, rows: list[tuple[str, str, str, str, str | None, list[str], float, str | None,
                                             str | None]], run_id: int) -> None:
        """(doc_id, stage, key, status, error, degraded reasons, seconds, environment, record stat)
        for records already on disk."""
        stamp = now()
        with self.transaction():
            self.db.executemany(
                "INSERT INTO doc_stages (doc_id, stage, key, status, error, reasons, seconds, run_id, updated_at, "
                "environment, record_stat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(doc_id, stage) "
                "DO UPDATE SET key = excluded.key, status = excluded.status, error = excluded.error, "
                "reasons = excluded.reasons, seconds = excluded.seconds, run_id = excluded.run_id, "
                "updated_at = excluded.updated_at, environment = excluded.environment, "
                "record_stat = excluded.record_stat",
                [(d, s, k, st, e, json.dumps(r) if r else None, sec, run_id, stamp, env, rs)
                 for d, s, k, st, e, r, sec, env, rs in rows])

    def forget_stage(self, doc_id: str, stage: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM doc_stages WHERE doc_id = ? AND stage = ?", (doc_id, stage))

    def problems(self, *, seen_in_run: int | None = None, doc_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """The document-stages whose latest result is not ok: all of them, those of the documents
        a run saw in its input (`seen_in_run`), or those of the documents named."""
        columns = "s.doc_id, s.stage, s.status, s.error, s.reasons, s.run_id, s.updated_at"
        if doc_ids is not None:
            rows = []
            for start in range(0, len(doc_ids), 500):
                chunk = doc_ids[start:start + 500]
                rows += self.db.execute(f"SELECT {columns} FROM doc_stages s WHERE s.status != 'ok' AND s.doc_id "
                                        f"IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            rows.sort(key=lambda r: (r[0], r[1]))
        elif seen_in_run is not None:
            rows = self.db.execute(f"SELECT {columns} FROM doc_stages s JOIN documents d ON d.doc_id = s.doc_id "
                                   "WHERE s.status != 'ok' AND d.last_run = ? ORDER BY s.doc_id, s.stage",
                                   (seen_in_run,)).fetchall()
        else:
            rows = self.db.execute(f"SELECT {columns} FROM doc_stages s WHERE s.status != 'ok' "
                                   "ORDER BY s.doc_id, s.stage").fetchall()
        return [{"doc_id": r[0], "stage": r[1], "status": r[2], "error": r[3],
                 "reasons": json.loads(r[4]) if r[4] else [], "run_id": r[5], "updated_at": r[6]} for r in rows]


# -- the lock ----------------------------------------------------------------------------------

class RunLock:
    """One run at a time per OUT: an flock(2) on the lock file, released by the kernel when its
    holder dies (even by SIGKILL), so a lock left by a dead run is simply taken over. The file
    holds the holder's pid and start time, for the message a second run prints."""

    def __init__(self, path: Path, out_dir: Path):
        self.path = path
        self.out_dir = out_dir
        self.fd: int | None = None
        self.previous_holder: dict | None = None  # a dead run's lock that was taken over

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self, wait_seconds: float = 0.0) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = self._holder()
                    who = f"pid {holder.get('pid', '?')}, started {holder.get('started_at', '?')}"
                    waited = f" after waiting {wait_seconds:g} s" if wait_seconds else ""
                    raise LockHeld(f"{self.out_dir}: another newsum run ({who}) is using this "
                                   f"output folder{waited}; wait for it or use --wait SECONDS") from None
                time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
        stale = self._holder()
        if stale.get("pid") and stale.get("pid") != os.getpid():
            self.previous_holder = stale  # its process is gone: the kernel released its flock
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started_at": now()}).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class RecordNotWritten(OutputError):
    """One record could not be written (its own path's problem, not the disk's)."""


_FATAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


# -- the workspace -------------------------------------------------------------------------------

class Workspace:
    """One output folder: its records, its digest, its lock and its databases."""

    def __init__(self, out_dir: str | os.PathLike):
        self.root = Path(out_dir)
        self.state_dir = self.root / STATE_DIR

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- places ---------------------------------------------------------------------------

    def record_path(self, doc_id: str, record_type: type[Record]) -> Path:
        return self.root / doc_id / record_type.file

    def digest_paths(self) -> tuple[Path, Path]:
        return self.root / DIGEST_FILES[0], self.root / DIGEST_FILES[1]

    def translation_cache_path(self) -> Path:
        return self.state_dir / TRANSLATION_CACHE_FILE

    def survey_cache_path(self) -> Path:
        return self.state_dir / SURVEY_CACHE_FILE

    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    def has_state(self) -> bool:
        return self.state_path.is_file()

    # -- records ----------------------------------------------------------------------------

    def _check_no_link(self, folder: Path) -> None:
        """No write follows a symlink out of OUT: every folder from the record's up to OUT is real."""
        while folder != self.root and self.root in folder.parents:
            if folder.is_symlink():
                raise RecordNotWritten(f"{folder} is a symlink; records are never written through one")
            folder = folder.parent

    def write(self, record: Record) -> str:
        """Write a record; returns its stat stamp (size and modification time) for the state.

        A write that fails for this record alone (its path taken by a folder, a read-only or
        symlinked folder) raises RecordNotWritten: that document fails, the run goes on. One
        that no record could survive (a full or read-only disk) raises OutputError: the run stops."""
        path = self.record_path(record.doc_id, type(record))
        try:
            self._check_no_link(path.parent)
            write_json_atomic(path, record.to_dict())
            info = os.lstat(path)
        except OSError as exc:
            if exc.errno in _FATAL_ERRNOS:
                raise OutputError(f"{self.root}: cannot write records: {exc.strerror or exc}") from None
            raise RecordNotWritten(f"cannot write {path}: {exc.strerror or exc}") from None
        return f"{info.st_size}:{info.st_mtime_ns}"

    def record_stat(self, doc_id: str, record_type: type[Record]) -> str | None:
        """The stat stamp of a record on disk, None when there is no regular file there."""
        try:
            info = os.lstat(self.record_path(doc_id, record_type))
        except OSError:
            return None
        return f"{info.st_size}:{info.st_mtime_ns}" if stat.S_ISREG(info.st_mode) else None

    def read(self, doc_id: str, record_type: type[Record]) -> Record | None:
        """A document's record of that type, or None when there is none or it does not read as
        one (damaged, or replaced by something else): it is then redone, never trusted."""
        try:
            with open(self.record_path(doc_id, record_type), encoding="utf-8") as fh:
                data = json.load(fh)
            if not (isinstance(data, dict) and data.get("stage") == record_type.stage
                    and data.get("doc_id") == doc_id):
                return None
            return record_type.from_dict(data)
        except (OSError, ValueError, TypeError):
            return None

    def has(self, doc_id: str, record_type: type[Record]) -> bool:
        return self.record_path(doc_id, record_type).is_file()

    def remove(self, doc_id: str, record_type: type[Record]) -> None:
        try:
            self.record_path(doc_id, record_type).unlink()
        except FileNotFoundError:
            pass

    def record_files(self, names: set[str]) -> Iterator[tuple[str, str]]:
        """(document id, file name) of every file named in `names` in a document folder, in id
        order: hidden folders (the workspace's own) are left out, and the walk keeps its own
        stack, so a tree a thousand levels deep is no RecursionError."""
        found = []
        pending = [(self.root, "")]
        while pending:
            folder, doc_id = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((Path(entry.path), f"{doc_id}/{entry.name}" if doc_id else entry.name))
                    elif doc_id and entry.name in names and entry.is_file(follow_symlinks=False):
                        found.append((doc_id, entry.name))
                except OSError:
                    continue
        return iter(sorted(found))

    def documents_with(self, record_type: type[Record]) -> Iterator[str]:
        """The ids of the documents that have a record of that type, in sorted order."""
        for doc_id, _ in self.record_files({record_type.file}):
            yield doc_id

    def all_records(self, record_types: Iterable[type[Record]]) -> dict[str, dict[str, dict[str, Any]]]:
        """{doc id: {stage: record as a dict}} for every readable record of these types, in id order
        and, per document, in the order of `record_types`; a file that does not parse, or holds
        another stage's record, is passed over."""
        record_types = list(record_types)
        by_file = {t.file: t for t in record_types}
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for doc_id, name in self.record_files(set(by_file)):
            record_type = by_file[name]
            try:
                data = json.loads((self.root / doc_id / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("stage") == record_type.stage:
                found.setdefault(doc_id, {})[record_type.stage] = data
        order = [t.stage for t in record_types]
        return {doc_id: {stage: records[stage] for stage in order if stage in records}
                for doc_id, records in sorted(found.items())}

    def prune(self, doc_ids: Iterable[str], record_types: Iterable[type[Record]]) -> None:
        """Delete the records of these documents, and their folders once empty (never anything else)."""
        record_types = list(record_types)
        for doc_id in doc_ids:
            for record_type in record_types:
                self.remove(doc_id, record_type)
            folder = self.root / doc_id
            while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent

    def remove_stale_temporaries(self, record_types: Iterable[type[Record]]) -> int:
        """Remove the temporary files of record writes that a killed run left behind (hidden
        `.clean.json.<random>.tmp` beside the records); returns how many. Call it only under the
        run lock, when no write can be in progress. Other files are never touched."""
        prefixes = tuple(f".{t.file}." for t in record_types)
        removed = 0
        pending = [self.root]
        while pending:  # its own stack: no recursion limit on the depth of OUT
            folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != STATE_DIR:
                            pending.append(Path(entry.path))
                    elif entry.name.endswith(".tmp") and entry.name.startswith(prefixes):
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    pass
        return removed

    # -- the lock and the state ----------------------------------------------------------------

    def lock(self) -> RunLock:
        return RunLock(self.state_dir / LOCK_FILE, self.root)

    def open_state(self) -> State:
        """The state database, created or migrated, for a run."""
        try:
            return State(self.state_path)
        except (OSError, sqlite3.OperationalError) as exc:
            raise OutputError(f"{self.root}: cannot write the state database: {getattr(exc, 'strerror', None) or exc}") from None

    def read_state(self) -> State | None:
        """The state database opened read-only, or None when no run has written one (a command
        that only reads OUT creates nothing there). A damaged one is a one-line error."""
        if not self.has_state():
            return None
        try:
            state = State(self.state_path, readonly=True)
            state.db.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):
                return None  # a first run is creating it right now
            raise UsageError(f"{self.state_path}: cannot read the state database ({exc}); the next "
                             "`newsum run` moves a damaged one aside and starts a new one") from None
        return state

    def last_run(self) -> dict[str, Any] | None:
        """The newest run in the state, when there is one and it can be read."""
        try:
            state = self.read_state()
        except (sqlite3.Error, UsageError):
            return None
        if state is None:
            return None
        try:
            runs = state.runs(1)
        except sqlite3.Error:
            return None
        finally:
            state.close()
        if not runs:
            return None
        run = dict(runs[0])
        run["documents"] = (run.get("counts") or {}).get("documents")
        return run
