"""What clean's survey read of each page, kept between runs: one SQLite file beside the state.

A nightly folder keeps most of its pages from one night to the next; the survey needs every
one of them, each cleaned on its own, to find the lines that recur across stories. Their
lines, kept lines and words are stored under the page's content hash and what clean decides
by (newsum's version, the digest of its data files), so a page is read again but cleaned
for the survey only once.

The cache only saves work: when it cannot be read or written (a damaged file that could not
be replaced, a full disk), it is bypassed for the rest of the run, with one warning, and the
survey goes on without it. Pages no run has asked for in CACHE_DAYS are forgotten.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from array import array

from pipeline.stages.clean.templates import FINGERPRINT_BYTES, PageLines
from pipeline.workspace import CacheDatabase

CACHE_DAYS = 60
_MIGRATIONS = [
    """
    CREATE TABLE pages (
        key TEXT PRIMARY KEY,
        lines BLOB NOT NULL,
        kept BLOB NOT NULL,
        words BLOB NOT NULL,
        used_at REAL NOT NULL
    )
    """,
]


def page_key(content_sha256: str, decided_by: str) -> str:
    return hashlib.sha256(f"{content_sha256}|{decided_by}".encode()).hexdigest()


def _pack_lines(lines: set[str]) -> bytes:
    return b"".join(bytes.fromhex(line) for line in sorted(lines))


def _unpack_lines(blob: bytes) -> set[str]:
    size = FINGERPRINT_BYTES
    return {blob[i:i + size].hex() for i in range(0, len(blob), size)}


def _pack_words(words: frozenset[int]) -> bytes:
    return array("I", sorted(words)).tobytes()


def _unpack_words(blob: bytes) -> frozenset[int]:
    found = array("I")
    found.frombytes(blob)
    return frozenset(found)


class SurveyCache(CacheDatabase):
    what = "clean's survey cache"
    MIGRATIONS = _MIGRATIONS

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)
        self._new: list[tuple[str, PageLines]] = []
        self._used: list[str] = []

    def get(self, key: str, name: str) -> PageLines | None:
        if self.bypassed:
            return None
        try:
            row = self._connect().execute("SELECT lines, kept, words FROM pages WHERE key = ?", (key,)).fetchone()
        except (sqlite3.Error, OSError) as exc:
            self._bypass(exc)
            return None
        if row is None:
            return None
        self._used.append(key)
        lines, kept, words = row
        return PageLines(name, _unpack_lines(lines), _unpack_lines(kept), _unpack_words(words))

    def put(self, key: str, page: PageLines) -> None:
        self._new.append((key, page))

    def save(self) -> None:
        """Write the pages read this run, mark those used, forget what no run asked for since CACHE_DAYS."""
        if self.bypassed:
            return
        now = time.time()
        try:
            db = self._connect()
            with db:
                db.executemany("INSERT OR REPLACE INTO pages (key, lines, kept, words, used_at) VALUES (?, ?, ?, ?, ?)",
                               [(key, _pack_lines(p.lines), _pack_lines(p.kept), _pack_words(p.words), now)
                                for key, p in self._new])
                db.executemany("UPDATE pages SET used_at = ? WHERE key = ?", [(now, key) for key in self._used])
                db.execute("DELETE FROM pages WHERE used_at < ?", (now - CACHE_DAYS * 86400,))
        except (sqlite3.Error, OSError) as exc:
            self._bypass(exc)
        self._new, self._used = [], []
