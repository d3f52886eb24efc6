"""The story store: what story grouping remembers between nights, in one SQLite file of its own.

Tables: `meta` (documents counted, the embedding that made the vectors), `df` (how many
articles held each evidence key), `stories` (first and last night, the sums the scores
compare against), `members` (each document's story, its content hash, the stamp of its
records, its MinHash signature and embedding, and what the digest shows of it). Only the
stories seen within the window are loaded; a damaged file is moved aside and rebuilt from
the records, which costs the first-seen nights of the stories and nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.stories import GroupingSettings, Story, StoryIndex
from pipeline.workspace import damaged, move_database_aside

STORE_VERSION = 1
log = logging.getLogger("newsum")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS df (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stories (
    story_id TEXT PRIMARY KEY, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    vector BLOB, evidence TEXT NOT NULL, words TEXT NOT NULL, dates TEXT);
CREATE TABLE IF NOT EXISTS members (
    doc_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, night TEXT NOT NULL, content_hash TEXT NOT NULL,
    stamp TEXT NOT NULL, signature BLOB, embedding BLOB, info TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS members_story ON members (story_id);
"""


@dataclass
class Member:
    doc_id: str
    story_id: str
    night: str
    content_hash: str
    stamp: str
    signature: np.ndarray | None
    embedding: np.ndarray | None
    info: dict[str, Any]


def _blob(array: np.ndarray | None, dtype) -> bytes | None:
    return None if array is None else np.asarray(array, dtype=dtype).tobytes()


def _array(blob: bytes | None, dtype) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=dtype).copy()


class OtherVersion(Exception):
    """The store was written by a newsum whose store has another layout."""


class StoryStore:
    """The story store at `path`. One that cannot be read (not a database, damaged, or written by a version
    of newsum with another layout) is moved aside, kept under a name that says why
    (`stories.sqlite.damaged-<time>`, `stories.sqlite.v<version>-<time>`), and a new one is started:
    `moved_aside` and `aside_reason` say so."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.moved_aside: Path | None = None
        self.aside_reason: str | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._open()
        except OtherVersion as exc:
            self._set_aside(f"v{exc.args[0]}", f"it was written by another version of newsum (store version "
                                                f"{exc.args[0]}, this one reads {STORE_VERSION})")
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not damaged(exc):
                raise
            self.set_aside_damaged(exc)

    def set_aside_damaged(self, exc: BaseException) -> None:
        """Move a store found damaged (on opening it, or later while reading it) aside and start a new one."""
        self._set_aside("damaged", f"it could not be read ({exc})")
        self.db = self._open()

    def _set_aside(self, why: str, reason: str) -> None:
        aside = move_database_aside(self.path, why)
        self.moved_aside, self.aside_reason = aside, reason
        log.warning("the story store %s was moved aside to %s: %s; stories are grouped again from the records",
                    self.path, aside.name, reason)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.executescript(_SCHEMA)
            version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta VALUES ('version', ?)", (str(STORE_VERSION),))
                db.commit()
            elif version[0] != str(STORE_VERSION):
                raise OtherVersion(version[0])
            db.execute("SELECT count(*) FROM members").fetchone()
            if "dates" not in {row[1] for row in db.execute("PRAGMA table_info(stories)")}:
                db.execute("ALTER TABLE stories ADD COLUMN dates TEXT")  # a store from before story dates
                db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        self.db.close()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def members(self) -> dict[str, Member]:
        rows = self.db.execute("SELECT doc_id, story_id, night, content_hash, stamp, signature, embedding, info "
                               "FROM members")
        return {r[0]: Member(r[0], r[1], r[2], r[3], r[4], _array(r[5], np.uint64), _array(r[6], np.float32),
                             json.loads(r[7])) for r in rows}

    def story_nights(self) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT story_id, first_seen, last_seen FROM stories")}

    def load_index(self, settings: GroupingSettings, open_since: str | None) -> StoryIndex:
        """The stories last seen on or after `open_since` (all when None), with the key frequencies."""
        index = StoryIndex(settings)
        index.documents = int(self.meta("documents") or 0)
        index.df = Counter(dict(self.db.execute("SELECT key, n FROM df")))
        query = "SELECT story_id, first_seen, last_seen, vector, evidence, words, dates FROM stories"
        rows = self.db.execute(query + (" WHERE last_seen >= ?" if open_since else ""),
                               (open_since,) if open_since else ())
        for story_id, first, last, vector, evidence, words, dates in rows:
            index.stories[story_id] = Story(story_id=story_id, first_seen=first, last_seen=last,
                                            vector_sum=_array(vector, np.float32),
                                            evidence=Counter(json.loads(evidence)), words=Counter(json.loads(words)),
                                            dates=tuple(json.loads(dates)) if dates else None)
        for doc_id, story_id in self.db.execute("SELECT doc_id, story_id FROM members"):
            if story_id in index.stories:
                index.stories[story_id].members.append(doc_id)
                index.story_of[doc_id] = story_id
        index.reindex()
        return index

    def save(self, index: StoryIndex, members: dict[str, Member], embedding: str | None,
             changed: set[str] | None = None, counted: list | None = None) -> None:
        """Store the index (its open stories) and the members, in one transaction. With `changed` (the
        members new or altered since they were read) and `counted` (the keys of the articles counted
        since), only those members and key frequencies are written and members gone are deleted; without,
        every row is replaced."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('documents', ?)", (str(index.documents),))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding', ?)", (embedding or "none",))
            if counted is None:
                self.db.execute("DELETE FROM df")
                self.db.executemany("INSERT INTO df VALUES (?, ?)", index.df.items())
            else:
                keys = set().union(*counted)
                self.db.executemany("INSERT OR REPLACE INTO df VALUES (?, ?)", ((k, index.df[k]) for k in keys))
            live = {m.story_id for m in members.values()}
            for story_id in [r[0] for r in self.db.execute("SELECT story_id FROM stories")]:
                if story_id not in live:
                    self.db.execute("DELETE FROM stories WHERE story_id = ?", (story_id,))
            self.db.executemany(
                "INSERT OR REPLACE INTO stories (story_id, first_seen, last_seen, vector, evidence, words, dates) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.story_id, s.first_seen, s.last_seen, _blob(s.vector_sum, np.float32),
                  json.dumps(dict(s.evidence)), json.dumps(dict(s.words)),
                  json.dumps(list(s.dates)) if s.dates else None) for s in index.stories.values()])
            if changed is None:
                self.db.execute("DELETE FROM members")
                rows = members.values()
            else:
                gone = [(r[0],) for r in self.db.execute("SELECT doc_id FROM members") if r[0] not in members]
                self.db.executemany("DELETE FROM members WHERE doc_id = ?", gone)
                rows = [members[d] for d in sorted(changed) if d in members]
            self.db.executemany(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(m.doc_id, m.story_id, m.night, m.content_hash, m.stamp, _blob(m.signature, np.uint64),
                  _blob(m.embedding, np.float32), json.dumps(m.info, ensure_ascii=False)) for m in rows])
