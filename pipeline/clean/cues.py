"""Cue phrases per removal reason, loaded from pipeline/resources/cues/*.json."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

# The order in which reasons are tried: the first whose cue matches names the block.
REASONS = ("cookie_consent", "subscription", "newsletter", "editorial_note", "legal", "footer", "seo_faq",
           "comments", "tags", "share", "navigation", "recommendations", "related_links", "advertisement", "caption", "byline",
           "dateline", "breadcrumb", "category")
MAX_CUE_CHARS = 400  # a longer block that quotes a cue phrase is a paragraph, not a widget
MAX_COOKIE_CHARS = 2000  # cookie banners are long prose: they get a larger allowance
MAX_BYLINE_WORDS = 12

_CUE_DIR = "cues"


def _cue_files() -> list[dict[str, list[str]]]:
    folder = resources.files("pipeline.resources").joinpath(_CUE_DIR)
    loaded = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and entry.name != "dates.json":
            loaded.append(json.loads(entry.read_text("utf-8")))
    return loaded


@cache
def cue_patterns() -> dict[str, re.Pattern]:
    """One compiled alternation per reason, over every language's cue file."""
    merged: dict[str, list[str]] = {}
    for data in _cue_files():
        for reason, patterns in data.items():
            if reason.startswith("_"):
                continue
            if reason not in REASONS:
                raise ValueError(f"cue file names an unknown reason {reason!r} (known: {', '.join(REASONS)})")
            merged.setdefault(reason, []).extend(patterns)
    return {reason: re.compile("|".join(f"(?:{p})" for p in merged[reason]), re.IGNORECASE)
            for reason in REASONS if reason in merged}


@cache
def any_cue() -> re.Pattern:
    """A single pattern that matches wherever some reason's cue does: one test for most blocks."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in cue_patterns().values()), re.IGNORECASE)


def cue_reason(text: str, n_words: int) -> str | None:
    """The removal reason whose cue phrase the block carries, or None."""
    limit = MAX_COOKIE_CHARS if len(text) > MAX_CUE_CHARS and "cookie" in text.lower() else MAX_CUE_CHARS
    if len(text) > limit or not any_cue().search(text):
        return None
    for reason, pattern in cue_patterns().items():
        if len(text) > MAX_CUE_CHARS and reason != "cookie_consent":
            continue
        if reason == "byline" and n_words > MAX_BYLINE_WORDS:
            continue
        if pattern.search(text):
            return reason
    return None


def _alternatives(pattern: str) -> list[str]:
    """`(a|b c)rest` -> [`a rest`, `b c rest`]: the leading group's alternatives, one pattern each,
    since a regular expression takes the first alternative that matches, not the longest."""
    if not pattern.startswith("(") or pattern.startswith("(?"):
        return [pattern]
    depth, cuts, end, i, in_class = 0, [], None, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
        elif char == "|" and depth == 1:
            cuts.append(i)
        i += 1
    if end is None or pattern[end + 1:end + 2] in ("?", "*", "+", "{"):
        return [pattern]
    bounds = [0, *cuts, end]
    rest = pattern[end + 1:]
    return [pattern[bounds[k] + 1:bounds[k + 1]] + rest for k in range(len(bounds) - 1)]


@cache
def embedded_cues() -> tuple[re.Pattern, ...]:
    """Widget headings and labels as they appear inside a page that lost its line breaks.

    Made from the whole-line cues of the widget reasons, one pattern each, so that the
    longest phrase at a place wins ("Listen to this article", not "Listen").
    """
    found = []
    for reason in ("navigation", "share", "recommendations", "comments", "advertisement", "newsletter",
                   "subscription", "seo_faq", "legal"):
        for data in _cue_files():
            for pattern in data.get(reason, []):
                if not (pattern.startswith("^") and pattern.endswith("$")):
                    continue
                for body in _alternatives(pattern[1:-1]):
                    body = re.sub(r"(\\s\*:\?|\[\.!\]\?)$", "", body)
                    found.append(re.compile(r"(?<!\w)(?:" + body + r")(?!\w)", re.IGNORECASE))
    return tuple(found)


@cache
def date_words() -> frozenset[str]:
    raw = json.loads(resources.files("pipeline.resources").joinpath(f"{_CUE_DIR}/dates.json").read_text("utf-8"))
    return frozenset(w for lang, ws in raw.items() if not lang.startswith("_") for w in ws)


_DATE_TOKEN = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_HAS_DATE = re.compile(r"\d{1,2}[./:-]\d{1,2}|\b(19|20)\d{2}\b|\d{1,2}\s*(h|:)\s*\d{2}", re.IGNORECASE)


def date_share(text: str) -> float:
    """The share of a short line's tokens that are numbers or date words (0 for long lines)."""
    if len(text) > 120:
        return 0.0
    tokens = _DATE_TOKEN.findall(text.lower())
    if not tokens:
        return 0.0
    known = date_words()
    return sum(1 for t in tokens if t.isdigit() or t in known) / len(tokens)


def looks_like_date(text: str) -> bool:
    return bool(_HAS_DATE.search(text)) or any(t in date_words() for t in _DATE_TOKEN.findall(text.lower()))
