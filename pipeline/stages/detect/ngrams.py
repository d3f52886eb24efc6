"""lingua's confidence values, from lingua's own models, without lingua's start-up.

lingua (lingua-language-detector 2.1.1) reads each language's n-gram models the first time a
text needs them: it decompresses JSON from its shared library, parses it and builds hash
maps of logarithms, about 0.2 s of CPU per language for short texts, in every process. A
short run over a few pages asks about twenty languages and spends most of its time there.

This module computes the same numbers from the same models, kept in a cache of numpy
arrays that later processes map from disk at no cost:

- **Models.** The model files are the ones inside lingua's extension module: their places
  are read from the module's relocation table (each embedded file is a path and a byte
  slice), each is brotli-decompressed and parsed once, and every n-gram's natural logarithm
  of probability is stored, keyed by a 64-bit hash of the n-gram, one sorted array per
  language and n-gram length (a long text needs trigrams and their prefixes only). The
  cache is named after lingua's version, the module's size and time, and its own layout.
- **Rules and scoring** follow lingua-rs 1.7.2's `compute_language_confidence_values`
  (src/detector.rs): the words (letters, lower-cased), the rules that decide by alphabet and
  by characters only some languages write, the filter by alphabet, the sum of
  log-probabilities over each distinct n-gram of length 1 to 5 (3 only, from 120 letters) with
  lower-order back-off, the unigram normalisation, and the softmax. The tables the rules read
  come from lingua's source (pipeline/resources/langid/lingua_rules.json, written by
  bench/lingua_tables.py).
- **Scope.** Texts written in Latin, Greek, Cyrillic or Armenian letters (with any
  punctuation, digits and symbols) are scored here; a text with any other script (Han,
  Devanagari, Arabic...), whose word splitting depends on Unicode tables of lingua's regular
  expression engine, goes to lingua itself, as does every text when the models cannot be
  read (another platform's module format, another lingua version, an unwritable cache).

The values equal lingua's to the last few bits (lingua sums in hash-set order, so it does
not reproduce itself to the bit either); tests/test_detect_ngrams.py holds them to 1e-9.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import struct
import threading
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

LINGUA_VERSION = "2.1.1"
KINDS = {"unigrams": 1, "bigrams": 2, "trigrams": 3, "quadrigrams": 4, "fivegrams": 5}
CACHE_FORMAT = 1  # the layout of the cached arrays: one file per language and n-gram length
HIGH_ACCURACY_MAX = 120  # from this many letters lingua reads trigrams only


class ModelsUnavailable(Exception):
    """lingua's models cannot be read here; lingua itself is used."""


@cache
def rules() -> dict:
    text = resources.files("pipeline.resources").joinpath("langid/lingua_rules.json").read_text("utf-8")
    return json.loads(text)


# -- hashing: the same function over the model's n-grams (numpy) and a text's (Python) --

def _hash_codes(codes, lengths):
    """64-bit hashes of n-grams given as a [rows, 5] uint32 array of code points (0-padded)."""
    import numpy as np

    with np.errstate(over="ignore"):
        h = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        for i in range(5):
            h = (h ^ codes[:, i].astype(np.uint64)) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
        h ^= h >> np.uint64(32)
        h *= np.uint64(0xD6E8FEB86659FD93)
        h ^= h >> np.uint64(32)
    return h


def hash_ngrams(ngrams: Sequence[str]):
    import numpy as np

    if not ngrams:
        return np.zeros(0, dtype=np.uint64)
    codes = np.array(ngrams, dtype="<U5").view(np.uint32).reshape(len(ngrams), 5)
    return _hash_codes(codes, (codes != 0).sum(axis=1))  # no n-gram holds U+0000


# -- lingua's extension module: where its model files are --

def _module_path() -> Path:
    import lingua.lingua as module

    return Path(module.__file__)


_RELATIVE = {62: 8, 183: 1027}  # e_machine → R_<arch>_RELATIVE: x86-64, AArch64


def model_index(module: Path) -> dict[str, dict[int, tuple[int, int]]]:
    """{LANGUAGE: {n: (offset, length)}} of the brotli-compressed model files in the module.

    include_dir embeds each file as a path slice followed by a contents slice; in a
    position-independent ELF both pointers are RELATIVE relocations whose addends are the
    targets, and the lengths sit beside them."""
    import brotli
    import numpy as np

    data = module.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ModelsUnavailable(f"{module.name}: not a 64-bit little-endian ELF module")
    machine = struct.unpack_from("<H", data, 18)[0]
    if machine not in _RELATIVE:
        raise ModelsUnavailable(f"{module.name}: machine {machine} not known")
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
    loads = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((p_vaddr, p_filesz, p_offset))

    def offset(vaddr: int) -> int | None:
        for start, size, file_offset in loads:
            if start <= vaddr < start + size:
                return vaddr - start + file_offset
        return None

    relocations: dict[int, int] = {}
    for i in range(shnum):
        _, sh_type, _, _, sh_offset, sh_size, _, _, _, sh_entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + i * shentsize)
        if sh_type == 4 and sh_entsize == 24:  # SHT_RELA
            table = np.frombuffer(data, dtype="<u8", count=sh_size // 8, offset=sh_offset).reshape(-1, 3)
            relative = table[(table[:, 1] & 0xFFFFFFFF) == _RELATIVE[machine]]
            relocations.update(zip(relative[:, 0].tolist(), relative[:, 2].tolist(), strict=True))
    index: dict[str, dict[int, tuple[int, int]]] = {}
    for slot, target in relocations.items():
        if slot + 16 not in relocations:
            continue
        name_at, length_at = offset(target), offset(slot + 8)
        if name_at is None or length_at is None:
            continue
        length = struct.unpack_from("<Q", data, length_at)[0]
        if not 8 < length < 40:
            continue
        name = data[name_at:name_at + length]
        kind = KINDS.get(name.decode("ascii", "replace").removesuffix(".json.br"))
        if kind is None:
            continue
        contents_at, size_at = offset(relocations[slot + 16]), offset(slot + 24)
        if contents_at is None or size_at is None:
            continue
        size = struct.unpack_from("<Q", data, size_at)[0]
        head = brotli.Decompressor().process(data[contents_at:contents_at + min(size, 4096)])[:80]
        if not head.startswith(b'{"language":"'):
            continue
        language = head[13:head.index(b'"', 13)].decode("ascii")
        index.setdefault(language, {})[kind] = (contents_at, size)
    if len(index) < 2 or not any(len(kinds) == 5 for kinds in index.values()):
        raise ModelsUnavailable(f"{module.name}: its model files were not found")
    return index


# -- the cache --

class ModelStore:
    """The n-gram log-probabilities of each language, built once into `folder`, then mapped."""

    def __init__(self, folder: Path | None, module: Path | None = None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("lingua-language-detector")
        except PackageNotFoundError as exc:
            raise ModelsUnavailable("lingua-language-detector is not installed") from exc
        if installed != LINGUA_VERSION:  # the rules and scoring here are 2.1.1's
            raise ModelsUnavailable(f"lingua-language-detector {installed}, not {LINGUA_VERSION}")
        self.module = module or _module_path()
        stat = self.module.stat()
        name = f"{LINGUA_VERSION}-{stat.st_size}-{stat.st_mtime_ns}-{CACHE_FORMAT}"
        self.folder = folder / name if folder else None
        self._index: dict[str, dict[int, tuple[int, int]]] | None = None
        self._models: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def index(self) -> dict[str, dict[int, tuple[int, int]]]:
        if self._index is None:
            path = self.folder / "index.json" if self.folder else None
            if path is not None and path.exists():
                self._index = self._read_index(path)
            if self._index is None:
                self._index = model_index(self.module)
                if path is not None:
                    blob = json.dumps(self._index).encode()
                    self._write(path, lambda handle: handle.write(blob))
        return self._index

    def _read_index(self, path: Path) -> dict[str, dict[int, tuple[int, int]]] | None:
        """The saved index, or None where it is damaged or does not fit the module."""
        size = self.module.stat().st_size
        try:
            raw = json.loads(path.read_text("utf-8"))
            index = {lang: {int(n): (int(at), int(length)) for n, (at, length) in kinds.items()}
                     for lang, kinds in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        fits = all(1 <= n <= 5 and 0 <= at and at + length <= size
                   for kinds in index.values() for n, (at, length) in kinds.items())
        return index if fits and index else None

    @staticmethod
    def _write(path: Path, write) -> None:
        """Write a cache file atomically; a read-only or full cache is no error (the arrays
        then stay in memory for this process)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                write(handle)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def prepare(self, languages: Iterable[str], lengths: Iterable[int]) -> None:
        """Read (or build) these languages' models of these n-gram lengths now."""
        lengths = tuple(lengths)
        for language in languages:
            for n in lengths:
                self.model(language, n)

    def model(self, language: str, n: int):
        """(sorted hashes, log-probabilities) of the language's n-grams of length n, or None
        where lingua has no such model (Chinese, Japanese and Korean have unigrams only)."""
        with self._lock:
            if (language, n) not in self._models:
                self._models[language, n] = self._load(language, n)
            return self._models[language, n]

    def _load(self, language: str, n: int):
        import numpy as np

        path = self.folder / f"{language}-{n}.npy" if self.folder else None
        if path is not None and path.exists():
            try:
                # a plain array over the mapping: a memmap's indexing goes through Python
                table = np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
                if table.ndim == 2 and table.shape[0] == 2 and table.dtype == np.uint64:
                    return table[0], table[1].view(np.float64)
            except (OSError, ValueError):
                pass
        place = self.index().get(language, {}).get(n)
        if place is None:
            return None
        table = self._build(*place)
        if path is not None:
            self._write(path, lambda handle: np.save(handle, table, allow_pickle=False))
        return table[0], table[1].view(np.float64)

    def _build(self, at: int, size: int):
        import brotli
        import numpy as np

        with open(self.module, "rb") as handle:
            handle.seek(at)
            blob = handle.read(size)
        try:
            fractions = json.loads(brotli.decompress(blob))["ngrams"]
        except (brotli.error, ValueError, KeyError, TypeError) as exc:
            raise ModelsUnavailable(f"{self.module.name}: a model file at {at} cannot be read") from exc
        joined = list(fractions.values())
        counts = [g.count(" ") + 1 for g in joined]
        logs = [math.log(int(num) / int(den)) for num, den in (f.split("/") for f in fractions)]
        keys = hash_ngrams(" ".join(joined).split(" "))
        values = np.repeat(np.array(logs), counts)
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        if len(keys) > 1 and bool((keys[1:] == keys[:-1]).any()):
            raise ModelsUnavailable("two n-grams share a hash")
        return np.stack([keys, values.view(np.uint64)])


# -- the text: words, rules, n-grams --

@cache
def _tables():
    t = rules()
    chars: dict[str, set[str]] = {}
    for name, ranges in t["scripts"].items():
        chars[name] = {chr(c) for start, end in ranges for c in range(start, end + 1)}
    all_languages = t["languages"]
    supported: dict[str, list[str]] = {a: [] for a in t["alphabets"]}
    for lang, info in all_languages.items():
        for alphabet in info["alphabets"]:
            supported[alphabet].append(lang)
    single = {a: langs[0] for a, langs in supported.items() if len(langs) == 1}
    japanese = set().union(*(chars[c] for c in t["japanese"]))
    groups = [(c, frozenset(langs)) for c, langs in t["chars_to_languages"]]
    return chars, all_languages, single, japanese, groups


def fast_path(text: str) -> bool:
    """True where the text has letters of Latin, Greek, Cyrillic or Armenian only: lingua's
    word splitting is then "runs of letters", which Python's Unicode data gives too."""
    for ch in text:
        o = ord(ch)
        if o < 0x0590 or 0x1D00 <= o < 0x2C00:
            continue
        if o >= 0x1F000 or 0x2C00 <= o < 0x2E80 or 0xFE00 <= o < 0xFE10:
            if not ch.isalpha():
                continue
        return False
    return True


_LETTERS = re.compile(r"[^\W\d_]+")  # letters, and numerals that are not digits (², ½): split below


def words_of(text: str) -> list[str]:
    """lingua's words: runs of letters (Unicode category L), lower-cased."""
    words = []
    for token in _LETTERS.findall(text.strip().lower()):
        if token.isalpha():
            words.append(token)
        else:
            run = []
            for ch in token:
                if ch.isalpha():
                    run.append(ch)
                elif run:
                    words.append("".join(run))
                    run = []
            if run:
                words.append("".join(run))
    return words


_WORD_MEMO_MAX = 200_000  # words remembered by the rules below, per table


def _remember(memo: dict, key, value):
    if len(memo) >= _WORD_MEMO_MAX:
        memo.clear()
    memo[key] = value
    return value


_word_votes: dict = {}


@cache
def _shared_letters() -> frozenset[str]:
    """Latin, Cyrillic and Devanagari: the alphabets where lingua looks for unique characters."""
    chars = _tables()[0]
    return frozenset(chars["Latin"] | chars["Cyrillic"] | chars["Devanagari"])


def _word_vote(word: str, languages: frozenset[str]) -> str | None:
    """The language one word votes for in lingua's detect_language_with_rules (None: unknown)."""
    memo_key = (word, languages)
    if memo_key in _word_votes:
        return _word_votes[memo_key]
    chars, all_languages, single, japanese, _ = _tables()
    alphabets = [(chars[a], lang) for a, lang in single.items() if lang in languages]
    han, shared = chars["Han"], _shared_letters()
    counts: dict[str, int] = {}
    for ch in word:
        for table, lang in alphabets:
            if ch in table:
                counts[lang] = counts.get(lang, 0) + 1
                break
        else:
            if ch in han:
                counts["CHINESE"] = counts.get("CHINESE", 0) + 1
            elif ch in japanese:
                counts["JAPANESE"] = counts.get("JAPANESE", 0) + 1
            elif ch in shared:
                for lang in languages:
                    if ch in all_languages[lang]["unique"]:
                        counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        key = None
    elif len(counts) == 1:
        (only,) = counts
        key = only if only in languages else None
    elif "CHINESE" in counts and "JAPANESE" in counts:
        key = "JAPANESE"
    else:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        key = ranked[0][0] if ranked[0][1] > ranked[1][1] and ranked[0][0] in languages else None
    return _remember(_word_votes, memo_key, key)


def _rule_language(words: list[str], languages: frozenset[str]) -> str | None:
    """lingua's detect_language_with_rules."""
    totals: dict[str | None, int] = {}
    for word in words:
        key = _word_vote(word, languages)
        totals[key] = totals.get(key, 0) + 1
    if totals.get(None, 0) < len(words) * 0.5:
        totals.pop(None, None)
    if not totals:
        return None
    if len(totals) == 1:
        return next(iter(totals))
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    if {ranked[0][0], ranked[1][0]} == {"JAPANESE", "CHINESE"}:
        return "JAPANESE"
    if ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


_word_shapes: dict = {}


def _word_shape(word: str) -> tuple[str | None, tuple[tuple[int, int], ...]]:
    """The first alphabet that has every letter of the word, and for each group of characters
    that point to a few languages, how many of them the word has: (group, hits) where hits > 0."""
    if word in _word_shapes:
        return _word_shapes[word]
    chars, _, _, _, groups = _tables()
    alphabet = next((a for a in rules()["alphabets"] if all(ch in chars[a] for ch in word)), None)
    hits = tuple((g, n) for g, (group, _) in enumerate(groups) if (n := sum(1 for ch in group if ch in word)))
    return _remember(_word_shapes, word, (alphabet, hits))


def _filter_languages(words: list[str], languages: frozenset[str]) -> frozenset[str]:
    """lingua's filter_languages_by_rules."""
    _, all_languages, _, _, groups = _tables()
    order = rules()["alphabets"]
    detected: dict[str, int] = {}
    group_hits: dict[int, int] = {}
    for word in words:
        alphabet, hits = _word_shape(word)
        if alphabet is not None:
            detected[alphabet] = detected.get(alphabet, 0) + len(word)
        for g, n in hits:
            group_hits[g] = group_hits.get(g, 0) + n
    if not detected:
        return languages
    if len(detected) > 1 and len(set(detected.values())) == 1:
        return languages
    best = min(detected.items(), key=lambda kv: (-kv[1], order.index(kv[0])))[0]
    filtered = frozenset(lang for lang in languages if best in all_languages[lang]["alphabets"])
    counts: dict[str, int] = {}
    for g, hits in group_hits.items():
        for lang in filtered & groups[g][1]:
            counts[lang] = counts.get(lang, 0) + hits
    half = len(words) * 0.5
    subset = frozenset(lang for lang, count in counts.items() if count >= half)
    return subset or filtered


class Scorer:
    """compute_language_confidence_values of a lingua detector built from `languages`."""

    def __init__(self, store: ModelStore, loading=contextlib.nullcontext):
        self.store = store
        self.loading = loading  # a context around reading a language's models (a one-time cost)

    def confidence_values(self, text: str, languages: Iterable[str]) -> list[tuple[str, float]]:
        """[(LANGUAGE, value)] for every language, best first (lingua's Language names)."""
        import numpy as np

        languages = frozenset(languages)
        values = dict.fromkeys(languages, 0.0)
        words = words_of(text)
        if not words:
            return self._sorted(values)
        ruled = _rule_language(words, languages)
        if ruled is not None:
            if ruled in values:
                values[ruled] = 1.0
            return self._sorted(values)
        filtered = _filter_languages(words, languages)
        if len(filtered) == 1:
            (only,) = filtered
            values[only] = 1.0
            return self._sorted(values)
        character_count = sum(len(word) for word in words)
        lengths = [3] if character_count >= HIGH_ACCURACY_MAX else [1, 2, 3, 4, 5]
        lengths = [n for n in lengths if character_count >= n]
        if not lengths:
            return self._sorted(values)
        with self.loading():  # the models these lengths and their lower orders need
            self.store.prepare(filtered, range(1, max(lengths) + 1))
        # lingua's back-off: a missing n-gram counts as its prefix one order lower, and so on.
        # Each order's distinct n-grams in the order of their hashes (the binary searches then
        # walk the tables forwards), each with the place of its prefix one order lower.
        width = max(lengths)
        level_sets: list[set[str]] = [set() for _ in range(width + 1)]
        for n in lengths:
            level_sets[n] = {word[i:i + n] for word in words if len(word) >= n for i in range(len(word) - n + 1)}
        for n in range(width, 1, -1):
            level_sets[n - 1].update(gram[:-1] for gram in level_sets[n])
        levels = []
        place: dict[str, int] = {}
        for n in range(1, width + 1):
            grams = list(level_sets[n])
            hashes = hash_ngrams(grams)
            order = np.argsort(hashes)
            grams = [grams[i] for i in order]
            parents = (np.fromiter((place[gram[:-1]] for gram in grams), dtype=np.int64, count=len(grams))
                       if n > 1 else None)
            place = {gram: i for i, gram in enumerate(grams)}
            levels.append((n, hashes[order], parents))
        ordered = sorted(filtered)
        probabilities: list[dict[str, float]] = [{} for _ in lengths]
        unigram_counts: dict[str, int] = {}
        resolved = found = None
        for n, wanted, parents in levels:
            hit = np.zeros((len(ordered), len(wanted)), dtype=bool)  # one row per language
            logp = np.zeros((len(ordered), len(wanted)))
            for row, lang in enumerate(ordered):
                model = self.store.model(lang, n)
                if model is None or not len(wanted) or not len(model[0]):
                    continue
                keys, logs = model
                at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
                row_hit = keys[at] == wanted
                hit[row] = row_hit
                logp[row, row_hit] = logs[at[row_hit]]
            if parents is not None:
                logp = np.where(hit, logp, resolved[:, parents])
                hit |= found[:, parents]
            resolved, found = logp, hit
            if n in lengths:
                k = lengths.index(n)
                totals = resolved.sum(axis=1)  # an n-gram found at no order counts 0
                for row, lang in enumerate(ordered):
                    if totals[row] < 0.0:
                        probabilities[k][lang] = float(totals[row])
                if n == 1:
                    for row, count in enumerate(found.sum(axis=1).tolist()):
                        if count:
                            unigram_counts[ordered[row]] = count
        summed: dict[str, float] = {}
        for lang in filtered:
            total = sum(p.get(lang, 0.0) for p in probabilities)
            if 1 in lengths and lang in unigram_counts:
                total /= unigram_counts[lang]
            if total != 0.0:
                summed[lang] = math.exp(total)
        if not summed:
            return self._sorted(values)
        denominator = sum(summed.values())
        if denominator == 0.0:
            first_map = probabilities[0]
            best = max(first_map.items(), key=lambda kv: kv[1])[0]
            values[best] = 1.0
        else:
            for lang, p in summed.items():
                values[lang] = p / denominator
        return self._sorted(values)

    @staticmethod
    def _sorted(values: dict[str, float]) -> list[tuple[str, float]]:
        return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
