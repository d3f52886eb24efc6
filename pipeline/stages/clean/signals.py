"""Per-block measurements the classifier decides on: length, punctuation, stopword density,
the language a block's stopwords point to."""

from __future__ import annotations

import re
from collections import _count_elements  # Counter's counting loop: C where CPython has it
from collections.abc import Mapping
from functools import cache
from importlib import resources
from itertools import chain

from pipeline.text import stopwords, words

# A sentence ends with . ! ? … or ; perhaps followed by closing quotes or brackets; a line
# that only ends with a closing quote (a headline quoting someone) does not.
# Scripts have their own stops: 。！？ (Chinese, Japanese), । ॥ (Devanagari, Bengali), ؟ ۔ (Arabic, Urdu).
_TERMINAL = re.compile(r"[.!?…;。！？｡।॥؟۔။][\"”»’')\]」』）]*\s*$")
_QUESTION = re.compile(r"[?¿？؟]\s*$")
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Japanese kana, CJK
# (Korean puts spaces between words).
_UNSPACED = UNSPACED_LETTER = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
# Thai, Lao and Khmer end a sentence with a space, not a mark: a long run of such text is prose.
_UNPUNCTUATED = re.compile(r"[\u0e00-\u0eff\u1780-\u17ff]")
UNPUNCTUATED_SENTENCE_CHARS = 40
# A character of those scripts says about as much as a short word: it counts as 2.5 letters
# in block lengths, and two of them as a word.
UNSPACED_CHAR_WEIGHT = 2.5
_BULLET = re.compile(r"^\s*([•·▪‣◦●○■□➢►▶✓✔\-–—*+]|\d{1,2}[.)]|[a-z][.)])\s+")
_SEPARATORS = re.compile(r"\s[|·•›»>/–-]\s|›|»|\|")
_ANY_SEPARATOR = re.compile(r"[|·•›»>/–-]")  # every separator holds one of these
_UPPER_START = re.compile(r"^[\W\d_]*[^\W\d_]")

MIN_PROFILE_HITS = 3  # fewer stopword hits than this and a block's language is not guessed
FOREIGN_RATIO = 2.0  # another language's stopwords must outnumber the page's by this much


def _stopword_folders():
    """The shared stoplists (pipeline/resources/stopwords) and clean's own for the languages
    those lack (pipeline/resources/clean/stopwords, written by bench/clean_stoplists.py)."""
    base = resources.files("pipeline.resources")
    return base.joinpath("stopwords"), base.joinpath("clean").joinpath("stopwords")


@cache
def stopword_languages(extended: bool = False) -> tuple[str, ...]:
    """The languages with a stoplist: the shared ones, and with `extended` clean's own too."""
    found = set()
    for folder in _stopword_folders()[:2 if extended else 1]:
        if folder.is_dir():
            found.update(e.name[:-4] for e in folder.iterdir() if e.name.endswith(".txt"))
    return tuple(sorted(found))


@cache
def clean_stopwords(language: str) -> frozenset[str]:
    """A language's stopwords for clean: the shared list, else clean's own."""
    found = stopwords(language)
    if found:
        return found
    path = _stopword_folders()[1].joinpath(f"{language}.txt")
    if not path.is_file():
        return frozenset()
    lines = path.read_text("utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@cache
def stopword_index(extended: bool = False) -> dict[str, tuple[str, ...]]:
    """word -> the languages whose stopword list holds it (the shared lists; with `extended`
    clean's own lists as well)."""
    index: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()  # the index's words, as a set: intersections run in C
    for language in stopword_languages(extended):  # in order: each word's languages come sorted
        listed = clean_stopwords(language)
        shared = listed & seen
        for word in shared:
            index[word] += (language,)
        index.update(dict.fromkeys(listed - shared, (language,)))  # most words: one language
        seen |= listed
    return index


def stopword_profile(tokens: list[str], extended: bool = False) -> dict[str, int]:
    """How many of the tokens are stopwords of each language (in the order the languages
    first occur)."""
    profile: dict[str, int] = {}
    # Counter's own counting loop (in C) on a plain dict, on the tokens' language tuples
    _count_elements(profile, chain.from_iterable(filter(None, map(stopword_index(extended).get, tokens))))
    return profile


# The scripts whose stoplists are characters (Chinese and Japanese: Han and kana); Thai,
# Myanmar and Khmer have none, so their characters are not looked up one by one.
_LISTED_BY_CHARACTER = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def profile_tokens(norm: str) -> list[str]:
    """The tokens a stopword profile counts: the words, and in Chinese and Japanese (where a
    "word" is a whole clause) each of their characters as well."""
    tokens = norm.split()
    if norm.isascii() or not _LISTED_BY_CHARACTER.search(norm):
        return tokens
    return tokens + _LISTED_BY_CHARACTER.findall(norm)


def guess_language(profile: Mapping[str, int]) -> tuple[str | None, float]:
    """The language with most stopword hits (the first of equals) and its lead over the next
    one (hits ratio)."""
    if not profile or max(profile.values()) < MIN_PROFILE_HITS:
        return None, 0.0  # most short blocks: no language worth guessing, found without the key
    best = max(profile, key=profile.__getitem__)
    hits = profile[best]
    if hits < MIN_PROFILE_HITS:
        return None, 0.0
    second = sorted(profile.values())[-2] if len(profile) > 1 else 0
    return best, hits / max(1, second)


_TERMINAL_MARKS = frozenset(".!?…;。！？｡।॥؟۔။")
_CLOSING_MARKS = "\"”»’')]」』）"
_QUESTION_MARKS = frozenset("?¿？؟")


_UNSPACED_RUN = re.compile(f"{_UNSPACED.pattern}{{2,}}")


@cache
def _long_word(min_letters: int) -> re.Pattern:
    return re.compile(rf"[^\W\d_]{{{min_letters},}}", re.UNICODE)


def long_words(text: str, min_letters: int, common: Mapping | frozenset = frozenset()) -> set[str]:
    """The distinct words of a text with `min_letters` letters or more, lower-cased, but those in
    `common`; in scripts written without spaces, its pairs of characters. What a headline shares
    with its article, or two pages with each other."""
    lowered = text.lower()
    found = {w for w in _long_word(min_letters).findall(lowered) if w not in common and not _UNSPACED.search(w)}
    for run in _UNSPACED_RUN.findall(lowered):
        found.update(run[i:i + 2] for i in range(len(run) - 1))
    return found


def ends_sentence(text: str) -> bool:
    # _TERMINAL read from the end: white space (str.isspace is the pattern's \s), closing
    # marks, then the sentence mark; no scan of the whole text
    end = text.rstrip().rstrip(_CLOSING_MARKS)
    if end and end[-1] in _TERMINAL_MARKS:
        return True
    return (len(text) >= UNPUNCTUATED_SENTENCE_CHARS and not text.isascii() and bool(_UNPUNCTUATED.search(text))
            and len(_UNPUNCTUATED.findall(text)) >= UNPUNCTUATED_SENTENCE_CHARS)


def is_question(text: str) -> bool:
    end = text.rstrip()  # _QUESTION read from the end
    return bool(end) and end[-1] in _QUESTION_MARKS


def is_bullet(text: str) -> bool:
    return bool(_BULLET.match(text))


def separator_count(text: str) -> int:
    if _ANY_SEPARATOR.search(text) is None:
        return 0  # most lines: one scan for the characters instead of the pattern's
    return len(_SEPARATORS.findall(text))


def capitalised_share(raw_words: list[str]) -> float:
    """Share of words that start with a capital letter (menus, names, title case)."""
    if not raw_words:
        return 0.0
    return sum(map(str.isupper, [w[0] for w in raw_words])) / len(raw_words)


def starts_lowercase(text: str) -> bool:
    match = _UPPER_START.match(text)
    return bool(match) and match.group(0)[-1].islower()


def unspaced_chars(text: str) -> int:
    """How many characters of scripts written without spaces the text holds."""
    if text.isascii() or not _UNSPACED.search(text):
        return 0
    return len(_UNSPACED.findall(text))


def block_length(text: str, unspaced: int) -> int:
    """Length in Latin-letter equivalents: a 60-character Chinese sentence is a paragraph."""
    return len(text) + int(unspaced * (UNSPACED_CHAR_WEIGHT - 1))


def word_count(raw: list[str], unspaced: int) -> int:
    """Words; in unspaced scripts, where a 'word' is a whole clause, two characters a word."""
    if not unspaced:
        return len(raw)
    return sum(max(1, len(_UNSPACED.findall(w)) // 2) if _UNSPACED.search(w) else 1 for w in raw)


_RAW_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_ASCII_RAW_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")  # the same on ASCII text, twice as fast


# Text of Latin-1 and general punctuation (’ “ ” – …: most European pages) is read by the
# same pattern over an explicit class, made from _RAW_WORD's own letters there.
_LATIN_RANGES = ((0, 0x100), (0x2000, 0x2070))
_OUTSIDE_LATIN = re.compile("[^" + "".join(f"{chr(a)}-{chr(b - 1)}" for a, b in _LATIN_RANGES) + "]")


@cache
def _latin_raw_word() -> re.Pattern:
    letter = re.compile(r"[^\W\d_]")
    letters = "".join(re.escape(chr(code)) for a, b in _LATIN_RANGES for code in range(a, b) if letter.match(chr(code)))
    return re.compile(f"[{letters}]+(?:['’][{letters}]+)*")


def raw_words(text: str) -> list[str]:
    """Word tokens with their case kept (for capitalisation signals)."""
    if text.isascii():
        return _ASCII_RAW_WORD.findall(text)
    if _OUTSIDE_LATIN.search(text) is None:
        return _latin_raw_word().findall(text)
    return _RAW_WORD.findall(text)


__all__ = ["words", "stopword_profile", "guess_language", "ends_sentence", "is_bullet", "is_question",
           "separator_count", "capitalised_share", "starts_lowercase", "raw_words", "FOREIGN_RATIO"]
