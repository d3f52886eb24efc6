"""Exact and near copies among articles: the same text syndicated, re-posted or lightly rewritten.

Exact copies share the hash of their normalised text (case, accents of spacing and
punctuation do not count). Near copies share enough word shingles (runs of
`shingle_words` words): MinHash signatures (datasketch) estimate the Jaccard similarity of
two shingle sets, and MinHash LSH finds the pairs above `threshold` without comparing all
pairs, so a night of 100 000 articles costs one signature per new article and one index
look-up. A group's canonical copy is the earliest one where every member has a date, the
fullest (most words) otherwise; the group says which rule chose it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
SCHEME = "affine32"  # datasketch's hashing scheme; stored signatures are only comparable under the same one


def normalise(text: str) -> str:
    """Text as compared for copies: NFKC, case-folded, words only, single spaces."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str:
    """sha256 of the normalised text: equal for copies that differ only in spacing, case or punctuation."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


SIGNATURES = f"{SCHEME} over crc32 word-shingle hashes"  # what made a stored signature: others are not comparable
_FNV_PRIME = np.uint32(0x01000193)


@cache
def _permutations(num_perm: int):
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=1, scheme=SCHEME).permutations  # drawn once, not once per text


_WORD_HASHES: dict[str, int] = {}  # word -> its CRC-32, kept for the words seen (emptied past WORD_HASHES_KEPT)
WORD_HASHES_KEPT = 1 << 20


def _word_hashes(words: list[str]) -> np.ndarray:
    """The CRC-32 of each word's UTF-8 bytes; each distinct word is hashed once, then looked up in C."""
    known = _WORD_HASHES
    new = set(words).difference(known)
    if new:
        if len(known) + len(new) > WORD_HASHES_KEPT:
            known.clear()
            new = set(words)
        crc32 = zlib.crc32
        known.update((word, crc32(word.encode("utf-8"))) for word in new)
    return np.fromiter(map(known.__getitem__, words), dtype=np.uint32, count=len(words))


def shingle_hashes(words: list[str], size: int) -> np.ndarray:
    """One 32-bit hash per run of `size` words (all the words, when there are fewer), from the words'
    CRC-32s combined in numpy: datasketch's affine32 scheme mixes its input with the MurmurHash3
    finalizer, so these need no cryptographic hash, and a text costs no Python call per shingle."""
    if not words:
        return np.empty(0, dtype=np.uint32)
    hashes = _word_hashes(words)
    if len(words) <= size:
        size = len(words)
    count = len(words) - size + 1
    combined = hashes[:count].copy()
    for offset in range(1, size):
        combined *= _FNV_PRIME
        combined ^= hashes[offset:offset + count]
    return combined


def signature(text: str, shingle_words: int = 3, num_perm: int = 128) -> np.ndarray:
    """The MinHash signature (num_perm values) of a text's word shingles."""
    return _signature(normalise(text).split(), shingle_words, num_perm)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise (uint32 arithmetic wraps, as intended)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _signature(words: list[str], shingle_words: int, num_perm: int) -> np.ndarray:
    """datasketch's MinHash.update_batch under the affine32 scheme with an identity hash function (a test
    holds the two equal), as one numpy expression instead of a Python call per shingle."""
    a, b = (np.asarray(p, dtype=np.uint32) for p in _permutations(num_perm))
    hashes = shingle_hashes(words, shingle_words)  # a shingle that recurs changes no minimum: no need to dedupe
    if not len(hashes):
        return np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    return (a[:, None] * _fmix32(hashes)[None, :] + b[:, None]).min(axis=1)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass
class CopyCandidate:
    """One article as near-copy detection sees it."""

    doc_id: str
    text: str
    date: str | None = None  # ISO date or date-time where the page gives one
    words: int = 0
    hash: str = ""
    signature: np.ndarray | None = None

    def prepare(self, shingle_words: int, num_perm: int) -> CopyCandidate:
        if self.hash and self.words and self.signature is not None:
            return self
        normal = normalise(self.text)  # once: the hash, the word count and the shingles read it
        if not self.hash:
            self.hash = hashlib.sha256(normal.encode("utf-8")).hexdigest()
        words = normal.split()
        if not self.words:
            self.words = len(words)
        if self.signature is None:
            self.signature = _signature(words, shingle_words, num_perm)
        return self


@dataclass
class CopyGroup:
    kind: str  # "exact" when every member has the same normalised text, else "near"
    canonical: str
    canonical_rule: str  # "earliest" or "fullest"
    members: list[str]
    similarity: dict[str, float] = field(default_factory=dict)  # member -> estimated Jaccard with the canonical copy


def _canonical(members: list[CopyCandidate]) -> tuple[CopyCandidate, str]:
    dates = [m.date for m in members]
    if all(dates) and len(set(dates)) > 1:
        return min(members, key=lambda m: (m.date, -m.words, m.doc_id)), "earliest"
    return min(members, key=lambda m: (-m.words, m.date or "", m.doc_id)), "fullest"


class _Sets:
    def __init__(self, items: Iterable[str]):
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def copy_groups(candidates: list[CopyCandidate], threshold: float = 0.3, shingle_words: int = 3,
                num_perm: int = 128) -> list[CopyGroup]:
    """Groups of two or more copies (exact, or near at estimated Jaccard >= threshold), by canonical id."""
    from datasketch import MinHashLSH

    by_id = {c.doc_id: c.prepare(shingle_words, num_perm) for c in candidates}
    sets = _Sets(by_id)
    by_hash: dict[str, str] = {}
    for doc_id, c in by_id.items():
        if c.hash in by_hash:
            sets.union(by_hash[c.hash], doc_id)
        else:
            by_hash[c.hash] = doc_id
    from datasketch import LeanMinHash

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for doc_id in by_hash.values():  # one representative per exact text
        c = by_id[doc_id]
        if c.words == 0:
            continue
        minhash = LeanMinHash(seed=1, hashvalues=c.signature, scheme=SCHEME)
        for other in lsh.query(minhash):
            if estimated_jaccard(c.signature, by_id[other].signature) >= threshold:
                sets.union(other, doc_id)
        lsh.insert(doc_id, minhash)
    grouped: dict[str, list[CopyCandidate]] = {}
    for doc_id in by_id:
        grouped.setdefault(sets.find(doc_id), []).append(by_id[doc_id])
    groups = []
    pending = list(grouped.values())
    while pending:
        members = pending.pop()
        if len(members) < 2:
            continue
        canonical, rule = _canonical(members)
        # pairs chain (a~b, b~c) where a and c share little: a copy must be close to the canonical one
        far = [m for m in members if m is not canonical and m.hash != canonical.hash
               and estimated_jaccard(canonical.signature, m.signature) < threshold]
        if far:
            pending.append([m for m in members if m not in far])
            pending.append(far)
            continue
        kind = "exact" if len({m.hash for m in members}) == 1 else "near"
        similarity = {m.doc_id: round(estimated_jaccard(canonical.signature, m.signature), 3)
                      for m in members if m is not canonical}
        groups.append(CopyGroup(kind=kind, canonical=canonical.doc_id, canonical_rule=rule,
                                members=sorted(m.doc_id for m in members), similarity=similarity))
    return sorted(groups, key=lambda g: g.canonical)
