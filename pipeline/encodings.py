"""Choosing the encoding of bytes that are not UTF-8: the decoding that reads as text.

Legacy single-byte encodings decode any byte, so "does it decode" decides nothing: Latin-1
French decodes as cp1250 too ("La mčre du maire espčre"). Each candidate (the usual
Western, Central European and Cyrillic code pages, charset-normalizer's best guess, and UTF-8
with the invalid bytes replaced) is decoded, identical decodings are merged, and each
distinct one is scored on the words where they differ, the words holding non-ASCII
characters:

- a known word (in a stopword list of pipeline/resources/stopwords) scores up;
- a letter of the alphabet of the document's language (the language its ASCII words, which
  read the same in every candidate, are stopwords of) scores up;
- a control character, an unassigned or replacement character, a symbol inside a word
  (`Přílią ľlu»oučký`, `â€™`), a word mixing scripts (`mиre`) or with a capital after a
  small letter (`ОПХБЕР` for `привет` read as KOI8-R) score down;
- letters that only a few languages write (pipeline/resources/langid/letters.json) but whose
  languages disagree with the rest of the document's (cs `ř ů` beside pl `ą`) score down.

The best mean score wins; where candidates score within a hair of each other the earlier in
PREFERENCE wins (Western European first). The confidence is the margin over the runner-up;
a decoding is doubtful when that margin is small or when even the best reads badly, and the
caller degrades the document rather than pass it as good.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.text import stopwords

# Tried in this order; a tie goes to the earlier one (Western European text is the most common).
PREFERENCE = ("cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "iso8859_5", "cp1257",
              "iso8859_13", "cp1254", "iso8859_9", "cp1253", "iso8859_7", "mac_roman", "cp1258")
UTF8_REPLACED = "utf-8 (invalid bytes replaced)"
STOPWORD_LANGUAGES = ("ca", "da", "de", "en", "es", "fr", "it", "nl", "pl", "pt", "ro", "sv")
SAMPLE_BYTES = 200_000
TIE = 0.02  # scores closer than this are a tie
DOUBTFUL_MARGIN = 0.15  # a confidence under this is doubtful
DOUBTFUL_SCORE = -0.5  # so is a best mean score under this: every candidate reads badly
MAX_REPLACED = 0.005  # UTF-8 with more bytes replaced than this share is doubtful
MIN_EVIDENCE = 3  # fewer differing words than this cannot make a decoding doubtful
_CONFIDENT_MARGIN = 1.0  # a margin of this much is full confidence

# Non-ASCII characters other than letters that text holds on its own
_COMMON = set("’‘“”„«»‹›–—…€£¥°§·•×±²³½¼¾©®™¿¡\u00a0")
_SYMBOLS = set("¥°§×±²³½¼¾©®™¤¦¨¬¯´¸¹º")  # on their own, never touching a letter
_EDGE = "\"'«»‹›“”„‘’‚()[]{}<>.,;:!?¡¿…-–—/*"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    confidence: float  # 0..1: how far the chosen decoding reads better than the next one
    doubtful: bool
    evidence: int  # words on which the candidates differ
    candidates: tuple[tuple[str, float], ...]  # each distinct decoding's encoding and score, best first


@cache
def _letter_languages() -> dict[str, tuple[str, ...]]:
    """Rare letter → its languages, in the file's order (a tie between them is decided by it)."""
    text = resources.files("pipeline.resources").joinpath("langid/letters.json").read_text("utf-8")
    return {k: tuple(v) for k, v in json.loads(text).items() if not k.startswith("_")}


@cache
def _alphabets() -> dict[str, frozenset[str]]:
    """Per language with a stopword list, the non-ASCII letters its stopwords are written with."""
    return {lang: frozenset(c for w in stopwords(lang) for c in w if ord(c) > 127 and c.isalpha())
            for lang in STOPWORD_LANGUAGES}


@cache
def _known_words() -> frozenset[str]:
    return frozenset(w for lang in STOPWORD_LANGUAGES for w in stopwords(lang) if not w.isascii())


def _language(tokens: list[str]) -> str | None:
    """The language whose stopwords the ASCII words are: they read alike in every candidate."""
    counts = Counter()
    for token in tokens:
        word = token.strip(_EDGE).lower()
        if word.isascii() and word.isalpha():
            for lang in STOPWORD_LANGUAGES:
                if word in stopwords(lang):
                    counts[lang] += 1
    if not counts:
        return None
    (lang, n), *rest = counts.most_common(2) + [(None, 0)]
    return lang if n >= 5 and n >= 1.2 * rest[0][1] else None


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "?"


def _token_score(token: str, language: str | None, alphabet: frozenset[str]) -> float:
    """How well one word with non-ASCII characters reads: about -3 (mojibake) to +3 (a known word)."""
    score = 0.0
    scripts = set()
    previous_lower = False
    upper = lower = foreign = 0
    for i, ch in enumerate(token):
        if ch.isascii():
            if ch.isalpha():
                scripts.add("LATIN")
                upper += ch.isupper()
                lower += ch.islower()
                if ch.isupper() and previous_lower:
                    score -= 1.0
                previous_lower = ch.islower()
            continue
        category = unicodedata.category(ch)
        if ch == "\ufffd":
            score = min(score, 0.0) - 2.0 if "\ufffd" not in token[:i] else score
        elif category[0] == "C":  # a control (C1 controls are what an ISO 8859 reads cp125x's letters as)
            return -3.0
        elif ch.isalpha():
            scripts.add(_script(ch))
            if "HALFWIDTH" in scripts:  # half-width katakana: a legacy artefact, not text of today
                score -= 1.0 / len(token)
            foreign += 1
            upper += ch.isupper()
            lower += ch.islower()
            if ch.isupper() and previous_lower:
                score -= 1.0
            previous_lower = ch.islower()
        elif category[0] == "M":
            score -= 0.5  # a combining mark on its own (cp1258's tones) is rare in text typed in Europe
        elif ch not in _COMMON:
            score -= 1.5
        elif ch in _SYMBOLS and ((i and token[i - 1].isalpha()) or (i + 1 < len(token) and token[i + 1].isalpha())):
            score -= 1.5  # "¾ivotem", "c½ur"
        elif 0 < i < len(token) - 1 and token[i - 1].isalpha() and token[i + 1].isalpha() and ch not in "’‘·":
            score -= 2.0  # punctuation inside a word
    if len(scripts) > 1:
        score -= 2.0
    if "LATIN" in scripts and foreign >= 3 and foreign > (upper + lower) / 2:
        score -= 1.0  # Latin words are mostly ASCII letters; three accented letters out of four are mojibake
    if upper >= 2 and not lower and foreign:
        score -= 0.5  # capitals only
    word = token.strip(_EDGE).lower()
    if word in _known_words():
        score += 2.0
    elif len(word) == 1 and foreign:
        score -= 0.5  # a lone accented letter that is no word ("ẃ" for a guillemet)
    if language:
        letters = [c for c in word if ord(c) > 127 and c.isalpha()]
        if letters:
            score += sum(c in alphabet for c in letters) / len(letters)
    return score


def _rare_letter_leaders(tokens: list[str]) -> frozenset[str]:
    """The language most of the document's rare letters (letters.json) point to, as a set."""
    table = _letter_languages()
    votes = Counter(lang for t in tokens for c in t.lower() if c in table for lang in table[c])
    if not votes:
        return frozenset()
    return frozenset({votes.most_common(1)[0][0]})  # a tie goes to the first listed (ø: da)


def _outlier_letters(token: str, leaders: frozenset[str], language: str | None) -> float:
    """Rare letters (letters.json) of the word: -2 each whose languages are not the document's
    (cs ř ů beside pl ą); -1 for a word with the rare letters of another language than the
    one the ASCII words surely are, or of another language that has a stopword list (Danish ø
    in Czech read as cp1252: Danish ASCII words would have been recognised);
    +0.5 for a word whose rare letters agree with the rest."""
    if not leaders:
        return 0.0
    table = _letter_languages()
    rare = [c for c in token.lower() if c in table]
    if not rare:
        return 0.0
    outliers = sum(1 for c in rare if not leaders.intersection(table[c]))
    if outliers:
        return -2.0 * outliers
    if language not in leaders and leaders & set(STOPWORD_LANGUAGES):
        return -1.0
    return 0.5


_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # the same bytes in every candidate: words align


def _candidates(data: bytes) -> list[str]:
    names = list(PREFERENCE)
    try:
        from charset_normalizer import from_bytes  # installed with trafilatura

        best = from_bytes(data[:SAMPLE_BYTES]).best()
        if best is not None:  # its best only: its other guesses (DOS, Mac code pages) read junk as letters
            names.append(best.encoding)
    except Exception:  # noqa: BLE001 (a guess that cannot be made is no candidate)
        pass
    seen, out = set(), []
    for name in names:
        try:
            canonical = codecs.lookup(name).name
        except LookupError:
            continue
        if canonical in ("utf-8", "ascii", "latin-1", "iso8859-1") or canonical in seen:
            continue  # latin-1 reads as cp1252 wherever it is printable
        seen.add(canonical)
        out.append(name)
    return out


def decode_legacy(data: bytes) -> Decoded:
    """The decoding of non-UTF-8 bytes that reads best as text (see the module's docstring)."""
    sample = data[:SAMPLE_BYTES]
    decodings: dict[str, list[str]] = {}  # decoded sample → encodings giving it, in preference order
    for name in [UTF8_REPLACED, *_candidates(data)]:
        try:
            text = sample.decode("utf-8", "replace") if name == UTF8_REPLACED else sample.decode(name)
        except UnicodeDecodeError:
            if name != UTF8_REPLACED and len(sample) == len(data):
                continue
            try:  # the sample may end inside a multi-byte character
                text = sample[:-4].decode(name)
            except UnicodeDecodeError:
                continue
        decodings.setdefault(text, []).append(name)
    if len(decodings) == 1:
        (text, names), = decodings.items()
        return _full(data, names[0], 1.0, False, 0, ((names[0], 0.0),))
    tokens = {text: _ASCII_SPACE.split(text) for text in decodings}
    reference = next(iter(tokens.values()))
    language = _language(reference)
    alphabet = _alphabets().get(language, frozenset())
    rank = {name: i for i, name in enumerate([UTF8_REPLACED, *PREFERENCE])}
    scored = []  # (mean score, encodings, the words with non-ASCII characters and their scores)
    for text, names in decodings.items():
        words = [t for t in tokens[text] if not t.isascii()]
        leaders = _rare_letter_leaders(words)
        scores = [_token_score(t, language, alphabet) + _outlier_letters(t, leaders, language)
                  for t in words]
        scored.append((sum(scores) / len(scores) if scores else 0.0, names, words, scores))
    best_score = max(s[0] for s in scored)
    # Among the (near-)best, the earliest in the order of preference.
    scored.sort(key=lambda s: (-(s[0] if s[0] < best_score - TIE else best_score), rank.get(s[1][0], len(rank))))
    (score, names, words, scores), (_, _, other_words, other_scores) = scored[0], scored[1]
    if len(words) == len(other_words):  # single-byte candidates: compare where the two differ
        differ = [i for i, (a, b) in enumerate(zip(words, other_words, strict=True)) if a != b]
        evidence = len(differ)
        margin = sum(scores[i] - other_scores[i] for i in differ) / max(1, evidence)
    else:
        evidence = max(len(words), len(other_words))
        margin = score - scored[1][0]
    confidence = max(0.0, min(1.0, margin / _CONFIDENT_MARGIN))
    doubtful = ((evidence >= MIN_EVIDENCE and confidence < DOUBTFUL_MARGIN)
                or (len(words) >= MIN_EVIDENCE and score < DOUBTFUL_SCORE))
    if names[0] == UTF8_REPLACED:  # UTF-8 with a few damaged bytes is UTF-8; with many, who knows
        doubtful = confidence < DOUBTFUL_MARGIN or sample.decode("utf-8", "replace").count("\ufffd") > \
            MAX_REPLACED * len(sample)
    ranked = tuple((n[0], round(s, 3)) for s, n, _, _ in scored)
    return _full(data, names[0], round(confidence, 3), doubtful, evidence, ranked)


def _full(data: bytes, name: str, confidence: float, doubtful: bool, evidence: int,
          candidates: tuple[tuple[str, float], ...]) -> Decoded:
    if name == UTF8_REPLACED:
        return Decoded(data.decode("utf-8", "replace"), "utf-8", confidence, doubtful, evidence, candidates)
    try:
        text = data.decode(name)
    except UnicodeDecodeError:  # a byte past the sample this encoding has no character for
        return Decoded(data.decode("latin-1"), "latin-1", 0.0, True, evidence, candidates)
    return Decoded(text, codecs.lookup(name).name, confidence, doubtful, evidence, candidates)
