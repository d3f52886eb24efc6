"""The translation cache: one SQLite file of segments already translated.

A segment's translation depends on its text, its source language and the model that
translated it (id, revision, resolved commit, backend, quantization, generation settings);
the key is a hash of all of them, so a rerun over the same articles, or a new article
quoting an old one, translates nothing twice, and a changed model or setting never serves
an old translation.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass

from pipeline.workspace import CacheDatabase

# Each entry upgrades the schema from the previous version (PRAGMA user_version).
_MIGRATIONS = [
    """
    CREATE TABLE translations (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        source_language TEXT,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        capped INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )
    """,
]


@dataclass(frozen=True)
class CachedTranslation:
    target: str
    capped: bool


def cache_key(model_identity: str, source_language: str | None, text: str) -> str:
    blob = json.dumps([model_identity, source_language, text], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class TranslationCache(CacheDatabase):
    """Segments already translated, by cache key. Opened lazily; safe to share across batches.

    The cache only saves work: when it cannot be read or written (a damaged file that could
    not be replaced, a full disk), it is bypassed for the rest of the run, with one warning,
    and translation goes on without it."""

    what = "translation cache"
    MIGRATIONS = _MIGRATIONS

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: list[str]) -> dict[str, CachedTranslation]:
        found: dict[str, CachedTranslation] = {}
        if not keys or self.bypassed:
            self.misses += len(keys)
            return found
        try:
            db = self._connect()
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):  # below SQLite's limit on bound parameters
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, target, capped in db.execute(
                        f"SELECT key, target, capped FROM translations WHERE key IN ({marks})", chunk):
                    found[key] = CachedTranslation(target, bool(capped))
        except (sqlite3.Error, OSError) as exc:
            self._bypass(exc)
            found = {}
        self.hits += sum(1 for k in keys if k in found)
        self.misses += sum(1 for k in keys if k not in found)
        return found

    def put_many(self, rows: list[tuple[str, str, str | None, str, str, bool]]) -> None:
        """(key, model, source_language, source, target, capped) rows, committed together."""
        if not rows or self.bypassed:
            return
        try:
            db = self._connect()
            now = time.time()
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO translations (key, model, source_language, source, target, capped, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(key, model, lang, source, target, int(capped), now)
                     for key, model, lang, source, target, capped in rows])
        except (sqlite3.Error, OSError) as exc:
            self._bypass(exc)

    def __len__(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM translations").fetchone()[0]
