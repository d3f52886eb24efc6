"""Text helpers shared by the stages: paragraphs, sentences, words, stopwords."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_BLANK_LINES = re.compile(r"\n\s*\n")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)

# Languages pysbd has rules for; others are split with the English rules.
_PYSBD_LANGUAGES = {"en", "hi", "mr", "zh", "es", "am", "ar", "hy", "bg", "ur", "ru", "pl",
                    "fa", "nl", "da", "fr", "my", "el", "it", "ja", "de", "kk", "sk"}


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; white space inside is kept."""
    return [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]


def join_paragraphs(paragraphs: list[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p)


# pysbd builds one regular expression per abbreviation and per call; with the standard
# library's cache of 512 compiled patterns, a few languages' lists evict each other and every
# sentence recompiles them (two thirds of the splitting time on the samples).
REGEX_CACHE_SIZE = 4096


@cache
def _segmenter(language: str):
    import pysbd  # a language-aware rule set (abbreviations, numbers, quotes) we need not keep

    if getattr(re, "_MAXCACHE", REGEX_CACHE_SIZE) < REGEX_CACHE_SIZE:
        re._MAXCACHE = REGEX_CACHE_SIZE
    return pysbd.Segmenter(language=language if language in _PYSBD_LANGUAGES else "en", clean=False)


def head(text: str, limit: int, separators: tuple[str, ...] = ("\n\n", "\n", " ")) -> str:
    """At most `limit` characters of the text (0: all), cut at the last of `separators` (tried
    in order) that falls in the second half of the limit, else at the limit itself."""
    if not limit or len(text) <= limit:
        return text
    for separator in separators:
        cut = text.rfind(separator, 0, limit)
        if cut > limit // 2:
            return text[:cut]
    return text[:limit]


# A "sentence" longer than this is not one: a page whose sentences all start in lower case
# (the segmenter then joins them), a list run together, a table flattened to one line.
MAX_SENTENCE_CHARS = 500
# Where an over-long sentence is cut, tried in order: after sentence punctuation followed by
# a space whatever case comes next, after clause punctuation, between words.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'»”’)\]]*\s+")
_CLAUSE_END = re.compile(r"(?:[;:,]|\s[–—-])\s+")
_SPACES = re.compile(r"\s+")
_CUTS = (_SENTENCE_END, _CLAUSE_END, _SPACES)


def bound_sentence(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """`sentence` as pieces of at most `limit` characters, in order, their concatenation
    (spaces aside) the sentence: cut first at every sentence end (punctuation and a space,
    whatever case follows), then pieces still too long at clause punctuation, then between
    words (both packed back up to the limit), and a word longer than the limit by length."""
    if len(sentence) <= limit:
        return [sentence]
    spans = _bounded_spans(sentence, 0, len(sentence), limit, 0)
    return [piece for a, b in spans if (piece := sentence[a:b].strip())]


def _bounded_spans(text: str, start: int, end: int, limit: int, level: int) -> list[tuple[int, int]]:
    if end - start <= limit:
        return [(start, end)]
    if level == len(_CUTS):
        return [(i, min(i + limit, end)) for i in range(start, end, limit)]
    cuts = [m.end() for m in _CUTS[level].finditer(text, start, end) if start < m.end() < end]
    bounds = [start, *cuts, end]
    pieces = list(zip(bounds, bounds[1:], strict=False))
    if level > 0:  # clauses and words are no sentences: as few pieces as the limit allows
        packed: list[tuple[int, int]] = []
        for a, b in pieces:
            if packed and b - packed[-1][0] <= limit:
                packed[-1] = (packed[-1][0], b)
            else:
                packed.append((a, b))
        pieces = packed
    out: list[tuple[int, int]] = []
    for a, b in pieces:
        out.extend(_bounded_spans(text, a, b, limit, level + 1))
    return out


def split_sentences(paragraph: str, language: str = "en") -> list[str]:
    """Sentences of one paragraph, in order; their concatenation (spaces aside) is the
    paragraph. None is longer than MAX_SENTENCE_CHARS (see bound_sentence)."""
    return [piece for chunk in _chunks(paragraph.strip()) for sentence in _segment(chunk, language)
            for piece in bound_sentence(sentence)]


# The segmenter's time grows with the square of a paragraph's length (20 s for a 130 000-
# character paragraph); a longer paragraph is handed to it in chunks cut at sentence ends.
SEGMENT_CHUNK_CHARS = 8000


def _chunks(paragraph: str, size: int = SEGMENT_CHUNK_CHARS) -> list[str]:
    chunks, pos = [], 0
    while len(paragraph) - pos > size:
        window = (pos + size // 2, pos + size)
        ends = [m.end() for m in _SENTENCE_END.finditer(paragraph, *window)]
        # prefer a sentence end before a capital: a cut after an abbreviation would stay cut
        capital = [e for e in ends if e < len(paragraph) and paragraph[e].isupper()]
        cut = (capital or ends or [m.end() for m in _SPACES.finditer(paragraph, *window)] or [pos + size])[-1]
        chunks.append(paragraph[pos:cut])
        pos = cut
    chunks.append(paragraph[pos:])
    return chunks


def _segment(paragraph: str, language: str) -> list[str]:
    paragraph = paragraph.strip()
    if not paragraph:
        return []
    pieces = [p.strip() for p in _segmenter(language).segment(paragraph) if p.strip()]
    starts: list[int] = []  # where each sentence begins; it runs to where the next begins
    cursor = 0
    for piece in pieces:
        start = paragraph.find(piece, cursor)
        if start < 0:  # the segmenter changed the text: its pieces as they are, rather than guess
            return pieces
        # a line break between two pieces is a real boundary (list items, captions), whatever follows
        joined = start == cursor or ("\n" not in paragraph[cursor:start] and _continues(piece))
        if not starts or not joined:
            starts.append(start if starts else 0)
        cursor = start + len(piece)
    bounds = starts[1:] + [len(paragraph)]
    return [paragraph[a:b].strip() for a, b in zip(starts, bounds, strict=True)]


def _continues(piece: str) -> bool:
    """A piece that opens with a comma, a closing bracket or a lower-case word is the rest of
    the previous sentence, cut after an abbreviation ("approx. twenty", "env. 20 km");
    words with inner capitals ("eBay", "iPhone") may open a sentence."""
    if piece[0] in ",;:)]}":
        return True
    first = _WORD.match(piece)
    return first is not None and first.start() == 0 and first.group().islower()


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, inner apostrophes), digits and punctuation left out."""
    return [w.lower() for w in _WORD.findall(text)]


@cache
def stopwords(language: str) -> frozenset[str]:
    """The stopword list of a language from pipeline/resources/stopwords, empty when there is none."""
    try:
        text = resources.files("pipeline.resources").joinpath(f"stopwords/{language}.txt").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return frozenset()
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))
