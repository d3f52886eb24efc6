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


def split_sentences(paragraph: str, language: str = "en") -> list[str]:
    """Sentences of one paragraph, in order; their concatenation (spaces aside) is the paragraph."""
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
