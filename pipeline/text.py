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


@cache
def _segmenter(language: str):
    import pysbd  # a language-aware rule set (abbreviations, numbers, quotes) we need not keep

    return pysbd.Segmenter(language=language if language in _PYSBD_LANGUAGES else "en", clean=False)


def split_sentences(paragraph: str, language: str = "en") -> list[str]:
    """Sentences of one paragraph, in order; their concatenation (spaces aside) is the paragraph."""
    paragraph = paragraph.strip()
    if not paragraph:
        return []
    pieces = [s.strip() for s in _segmenter(language).segment(paragraph)]
    return [s for s in pieces if s]


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
