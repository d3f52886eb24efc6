"""Cue phrases per removal reason, loaded from pipeline/resources/cues/*.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.stages.clean.firstchar import FirstCharAlternation
from pipeline.stages.clean.lazyre import LazyPattern
from pipeline.stages.clean.signals import UNSPACED_LETTER

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


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# (scripts written without spaces have no word boundaries: a cue's literal in them opens a line,
# or sits in a block, as a prefix or substring, never as a whole word: UNSPACED_LETTER below)
_LEADING_LITERAL = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[^\w\s\\()\[\]|.*+?{}^$]")


_WORD_END = ("", " ", "\\b", "\\s", ")", "|", "-", ":", ",", ".", "$")


def _leading_literals(alternative: str) -> list[tuple[str, bool]] | None:
    """What every match of a pattern alternative starts with: (text in lower case, whether
    it is a whole word), one entry per branch of a leading group; None when it starts with a
    construct (a class, a repeat) rather than plain text."""
    if alternative.startswith("\\b"):
        alternative = alternative[2:]
    if alternative.startswith("(?-i:"):
        alternative = "(" + alternative[5:]  # case-sensitive: the lower-case literal still gates
    if alternative.startswith("("):
        found: list[tuple[str, bool]] = []
        branches = _alternatives(alternative)
        if branches == [alternative]:
            return None  # a group that repeats or is optional: no fixed start
        for branch in branches:
            literals = _leading_literals(branch)
            if literals is None:
                return None
            found.extend(literals)
        return found or None
    if len(alternative) >= 2 and alternative[0] == "\\" and not alternative[1].isalnum():
        if alternative[2:3] in ("?", "*", "{"):
            return None  # "\\(?quelle": the bracket is optional, so no fixed start
        return [(alternative[1], False)]
    match = _LEADING_LITERAL.match(alternative)
    if not match:
        return None
    literal = match.group(0).lower()
    after = alternative[match.end():]
    if after[:1] in ("?", "*", "{"):
        return [(literal[:-1], False)] if len(literal) > 1 else None  # "cookies?": the s is optional
    if after[:1] == "-" and after[1:2] in ("?", "*", "{"):
        return [(literal, False)]  # "e-?mail": the hyphen is optional, so the word runs on
    whole = literal.isalpha() and any(after.startswith(end) for end in _WORD_END if end) or not after
    return [(literal, whole)]


def _structure(pattern: str):
    """(index, character, group depth) for each character of a pattern outside escapes and
    character classes; a parenthesis comes with the depth it opens or closes to."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += (char == "(") - (char == ")")
            yield i, char, depth
        i += 1


def _top_level(pattern: str) -> list[str]:
    """A pattern cut at its top-level `|` (outside groups and classes)."""
    parts, start = [], 0
    for i, char, depth in _structure(pattern):
        if char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


@dataclass(frozen=True)
class GatedPattern:
    """A cue that can only match where one of its leading words occurs: a word or substring
    test (fast) decides whether the regular expression (slow) is worth running."""

    pattern: re.Pattern | LazyPattern
    words: frozenset[str] = frozenset()
    substrings: tuple[str, ...] = ()
    always: bool = False

    def may_match(self, tokens: set[str], lowered: str) -> bool:
        return (self.always or not self.words.isdisjoint(tokens)
                or any(s in lowered for s in self.substrings))


def _required_word(alternative: str) -> tuple[str, bool] | None:
    """The longest plain word every match of an alternative must contain (outside groups,
    classes and repeats), in lower case, and whether it stands as a whole word."""
    best: tuple[str, bool] | None = None

    def consider(i: int, j: int) -> None:
        nonlocal best
        word, after, before = alternative[i:j].lower(), alternative[j:], alternative[:i]
        if after[:1] in ("?", "*", "{"):
            word, whole = word[:-1], False
        else:
            whole = (not before or before.endswith((" ", "\\b", "(", ")", "|"))) and (
                not after or after.startswith(_WORD_END[1:]))
        if len(word) >= 3 and (best is None or len(word) > len(best[0])):
            best = (word, whole)

    start, last = None, -2  # the run of letters being read: its first and last index
    for i, char, depth in _structure(alternative):
        if depth == 0 and char.isalpha() and (start is None or i == last + 1):
            start = i if start is None else start
            last = i
            continue
        if start is not None:
            consider(start, last + 1)
            start = None
        if depth == 0 and char.isalpha():
            start, last = i, i
    if start is not None:
        consider(start, last + 1)
    return best


def _leading_class(alternative: str) -> list[tuple[str, bool]] | None:
    """`[|/]...`: a match starts with one of the class's characters."""
    match = re.match(r"\[([^\]\\^-]+)\]", alternative)
    return [(char, False) for char in match.group(1)] if match else None


def _required_symbol(alternative: str) -> list[tuple[str, bool]] | None:
    """A symbol such as © written plainly in the pattern, outside any group or class."""
    depth = 0
    for i, char in enumerate(alternative):
        if char == "(" and (i == 0 or alternative[i - 1] != "\\"):
            depth += 1
        elif char == ")" and (i == 0 or alternative[i - 1] != "\\"):
            depth -= 1
        elif depth == 0 and not char.isascii() and not char.isalnum():
            return [(char, False)]
    return None


def _gated(pattern: str) -> GatedPattern:
    compiled = LazyPattern(pattern, re.IGNORECASE)  # compiled when a block first needs it
    words, substrings = set(), set()
    for top in _top_level(pattern):
        top = top[2:] if top.startswith("\\b") else top
        branches = _alternatives(top) if top.startswith("(") else [top]
        for alternative in branches:
            required = _required_word(alternative)
            if required is None:
                literals = _leading_literals(alternative) or _leading_class(alternative) or _required_symbol(alternative)
                if literals is None:
                    return GatedPattern(compiled, always=True)
                for literal, whole in literals:
                    (words if whole and not UNSPACED_LETTER.search(literal) else substrings).add(literal)
                continue
            word, whole = required
            (words if whole and not UNSPACED_LETTER.search(word) else substrings).add(word)
    return GatedPattern(compiled, frozenset(words), tuple(sorted(substrings)))


@dataclass(frozen=True)
class ReasonCues:
    """A reason's cues: whole-line cues tried at the line's start only, the others gated."""

    reason: str
    line: re.Pattern | None  # the `^...` cues that start with plain text, used with match()
    line_always: re.Pattern | None  # the `^...` cues that start with a construct
    anywhere: tuple[GatedPattern, ...]

    def found_in(self, text: str, lowered: str) -> bool:
        if self.line and self.line.match(text):
            return True
        return any(p.search(text, lowered) for p in self.anywhere)


def _alternation(patterns: list[str]) -> LazyPattern | None:
    return LazyPattern("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


@cache
def merged_cues() -> dict[str, list[str]]:
    """Every language's cue patterns, per reason, in REASONS order."""
    merged: dict[str, list[str]] = {}
    for data in _cue_files():
        for reason, patterns in data.items():
            if reason.startswith("_"):
                continue
            if reason not in REASONS:
                raise ValueError(f"cue file names an unknown reason {reason!r} (known: {', '.join(REASONS)})")
            merged.setdefault(reason, []).extend(patterns)
    return {reason: merged[reason] for reason in REASONS if reason in merged}


@cache
def reason_cues() -> tuple[ReasonCues, ...]:
    found = []
    for reason, patterns in merged_cues().items():
        line = [p[1:] for p in patterns if p.startswith("^")]
        plain = [p for p in line if _line_openers(p) is not None]
        construct = [p for p in line if _line_openers(p) is None]
        anywhere = tuple(_gated(p) for p in patterns if not p.startswith("^"))
        found.append(ReasonCues(reason, _alternation(plain), _alternation(construct), anywhere))
    return tuple(found)


@cache
def cue_patterns() -> dict[str, re.Pattern]:
    """One compiled alternation per reason, over every language's cue file."""
    return {reason: _alternation(patterns) for reason, patterns in merged_cues().items()}


@cache
def _line_openers(pattern: str) -> tuple[tuple[str, bool], ...] | None:
    """What a whole-line cue (without its ^) can start with, or None for a construct (read
    once a pattern: several tables ask)."""
    found: list[tuple[str, bool]] = []
    for alternative in _top_level(pattern):
        literals = _leading_literals(alternative)
        if literals is None:
            return None
        found.extend(literals)
    return tuple(found)


@cache
def _line_cue_openers() -> tuple[frozenset[str], tuple[str, ...]]:
    """The first words (and first characters) that the plain-text whole-line cues start
    with; a block that starts otherwise is not tried against them."""
    words, prefixes = set(), set()
    for patterns in merged_cues().values():
        for pattern in patterns:
            if pattern.startswith("^"):
                for literal, whole in _line_openers(pattern[1:]) or ():
                    (words if whole and not UNSPACED_LETTER.search(literal) else prefixes).add(literal)
    return frozenset(words), tuple(sorted(prefixes))


def _line_entries(plain: bool) -> list[tuple[str, str]]:
    """(group name r<place in reason_cues()>, pattern) for every whole-line cue that starts
    with plain text (or, not `plain`, with a construct), in REASONS order."""
    entries = []
    for rank, patterns in enumerate(merged_cues().values()):
        for pattern in patterns:
            if pattern.startswith("^") and (_line_openers(pattern[1:]) is not None) == plain:
                entries.append((f"r{rank}", pattern[1:]))
    return entries


def _tried_in_turn(pattern: str) -> list[tuple[str, str]]:
    """A whole-line cue cut into the alternatives its match tries in turn, as (head, rest)
    for the piece `(?:head)rest`: its top-level branches, and the branches of a leading group
    with the rest of the pattern after each (`(home|news)$` -> `(?:home)$`, `(?:news)$`).
    Tried in this order they find the same first match, and each can be bucketed by its own
    first character: a line starting with "N" need not go through "home"."""
    found = []
    for top in _top_level(pattern):
        if len(_alternatives(top)) == 1:
            found.append((top, ""))
            continue
        bounds = _leading_group_bounds(top)
        end = bounds[-1]
        found.extend((top[bounds[k] + 1:bounds[k + 1]], top[end + 1:]) for k in range(len(bounds) - 1))
    return found


@cache
def _any_line(with_plain: bool) -> FirstCharAlternation:
    """The whole-line cues that start with a construct and, `with_plain`, those that start
    with plain text too, in REASONS order, all reasons at once: one match finds the first
    reason whose cue matches (a match's named group is r<its rank>)."""
    entries = _line_entries(plain=False)
    if with_plain:  # a stable sort: each rank's patterns stay next to each other
        entries = sorted(_line_entries(plain=True) + entries, key=lambda entry: int(entry[0][1:]))
    return FirstCharAlternation(entries, cut=_tried_in_turn)


NO_RANK = 1 << 30  # the rank of no whole-line match


@cache
def _reason_ranks() -> dict[str, int]:
    return {cues.reason: rank for rank, cues in enumerate(reason_cues())}


def _may_open_a_line_cue(lowered: str, first_word: str) -> bool:
    words, prefixes = _line_cue_openers()
    return first_word in words or lowered.startswith(prefixes)


@dataclass(frozen=True)
class CueIndex:
    """Every floating cue, reachable from the words and substrings that open it."""

    patterns: tuple[tuple[int, str, re.Pattern], ...]  # (rank, reason, pattern) in REASONS order
    by_word: dict[str, tuple[int, ...]]
    words: frozenset[str]
    by_substring: tuple[tuple[str, tuple[int, ...]], ...]
    always: tuple[int, ...]


@cache
def cue_index() -> CueIndex:
    patterns, by_word, by_substring, always = [], {}, {}, []
    for cues in reason_cues():
        for gated in cues.anywhere:
            rank = len(patterns)
            patterns.append((rank, cues.reason, gated.pattern))
            if gated.always:
                always.append(rank)
            for word in gated.words:
                by_word.setdefault(word, []).append(rank)
            for substring in gated.substrings:
                by_substring.setdefault(substring, []).append(rank)
    return CueIndex(tuple(patterns), {w: tuple(r) for w, r in by_word.items()}, frozenset(by_word),
                    tuple((k, tuple(v)) for k, v in by_substring.items()), tuple(always))


def cue_reason(text: str, n_words: int, tokens: Iterable[str] | None = None) -> str | None:
    """The removal reason whose cue phrase the block carries, or None.

    `tokens`: the block's lower-case words (a list or a set), when the caller has them already.
    The first reason (in REASONS order) with a matching cue wins: the whole-line cues of all
    reasons are tried in one match each, and a floating cue only for the reasons before the
    first whole-line match.
    """
    long_block = len(text) > MAX_CUE_CHARS
    lowered = text.lower()
    if long_block and (len(text) > MAX_COOKIE_CHARS or "cookie" not in lowered):
        return None
    if tokens is None:
        tokens = set(_WORD.findall(lowered))
    index = cue_index()
    candidates = set(index.always)
    for token in index.words.intersection(tokens):
        candidates.update(index.by_word[token])
    for substring, ranks in index.by_substring:
        if substring in lowered:
            candidates.update(ranks)
    first = _WORD.match(lowered)
    maybe_line = _may_open_a_line_cue(lowered, first.group(0) if first else "")
    name = _any_line(maybe_line).name(text)
    line_rank = int(name[1:]) if name is not None else NO_RANK
    if not candidates and line_rank == NO_RANK:
        return None  # most article paragraphs stop here
    all_cues = reason_cues()
    if line_rank != NO_RANK and _skipped(all_cues[line_rank].reason, long_block, n_words):
        return _cue_reason_in_order(text, n_words, long_block, maybe_line, candidates)
    ranks = _reason_ranks()
    for rank in sorted(candidates):
        _, reason, pattern = index.patterns[rank]
        if ranks[reason] >= line_rank:
            break  # a reason's whole-line cues are tried before its floating ones
        if not _skipped(reason, long_block, n_words) and pattern.search(text):
            return reason
    return all_cues[line_rank].reason if line_rank != NO_RANK else None


def preload() -> None:
    """Build the tables cue_reason reads on every block (see CleanStage.preload)."""
    cue_index()
    _reason_ranks()
    _line_cue_openers()
    for with_plain in (False, True):
        _any_line(with_plain)
    date_words()
    section_words()


def _skipped(reason: str, long_block: bool, n_words: int) -> bool:
    """A long block is only ever a cookie banner; a byline is short."""
    return (long_block and reason != "cookie_consent") or (reason == "byline" and n_words > MAX_BYLINE_WORDS)


def _cue_reason_in_order(text: str, n_words: int, long_block: bool, maybe_line: bool, candidates: set[int]) -> str | None:
    """cue_reason the long way, reason by reason: where the first whole-line match is a reason
    this block cannot have, a later one may still match."""
    index = cue_index()
    floating = sorted(candidates)
    position = 0
    for cues in reason_cues():
        skip = _skipped(cues.reason, long_block, n_words)
        if not skip and ((maybe_line and cues.line and cues.line.match(text))
                         or (cues.line_always and cues.line_always.match(text))):
            return cues.reason
        while position < len(floating) and index.patterns[floating[position]][1] == cues.reason:
            _, reason, pattern = index.patterns[floating[position]]
            position += 1
            if not skip and pattern.search(text):
                return reason
    return None


def _leading_group_bounds(pattern: str) -> list[int | None]:
    """[0, the places of the leading group's top-level `|`s..., the place of its `)` (None: unclosed)]."""
    cuts, end = [], None
    for i, char, depth in _structure(pattern):
        if char == ")" and depth == 0:
            end = i
            break
        if char == "|" and depth == 1:
            cuts.append(i)
    return [0, *cuts, end]


def _alternatives(pattern: str) -> list[str]:
    """`(a|b c)rest` -> [`a rest`, `b c rest`]: the leading group's alternatives, one pattern each,
    since a regular expression takes the first alternative that matches, not the longest."""
    if not pattern.startswith("(") or pattern.startswith("(?"):
        return [pattern]
    bounds = _leading_group_bounds(pattern)
    end = bounds[-1]
    if end is None or pattern[end + 1:end + 2] in ("?", "*", "+", "{"):
        return [pattern]
    rest = pattern[end + 1:]
    return [pattern[bounds[k] + 1:bounds[k + 1]] + rest for k in range(len(bounds) - 1)]


@dataclass(frozen=True)
class EmbeddedCues:
    """Widget headings that may sit inside a sentence, reachable from their first word."""

    by_word: dict[str, tuple[re.Pattern, ...]]
    by_prefix: tuple[tuple[str, re.Pattern], ...]
    prefixes: tuple[str, ...]
    labels: frozenset[re.Pattern]  # one-word ad labels ("Anzeige"), cut even when not in capitals
    by_first: dict[str, tuple[tuple[str, re.Pattern], ...]] | None = None  # by_prefix by first character

    def at(self, lowered_word: str, lowered_rest: str) -> tuple[re.Pattern, ...]:
        found = self.by_word.get(lowered_word, ())
        prefixed = self.by_first.get(lowered_rest[:1]) if self.by_first is not None else self.by_prefix
        if prefixed and lowered_rest.startswith(self.prefixes):
            found += tuple(p for prefix, p in prefixed if lowered_rest.startswith(prefix))
        return found


@cache
def embedded_cues() -> EmbeddedCues:
    """Widget headings and labels as they appear inside a page that lost its line breaks.

    Made from the whole-line cues of the widget reasons, one pattern per alternative, so
    that the longest phrase at a place can win ("Listen to this article", not "Listen").
    """
    by_word: dict[str, list[re.Pattern]] = {}
    by_prefix: list[tuple[str, re.Pattern]] = []
    labels: set[re.Pattern] = set()
    for reason in ("navigation", "share", "recommendations", "comments", "advertisement", "newsletter",
                   "subscription", "seo_faq", "legal", "byline"):
        for pattern in merged_cues().get(reason, []):
            # Whole-line cues, and bylines, whose pattern runs to the end of the name.
            if not (pattern.startswith("^") and (pattern.endswith("$") or reason == "byline")):
                continue
            for body in _alternatives(pattern[1:].removesuffix("$")):
                body = re.sub(r"(\\s\*:\?|\[\.!\]\?)$", "", body)
                # ".{1,30}" (any words) would run on into the next sentence: one word here.
                body = re.sub(r"\.\{\d*,?\d*\}|\.[*+]", r"\\S+", body)
                piece = LazyPattern(r"(?:" + body + r")(?!\w)", re.IGNORECASE)
                if reason == "advertisement":
                    labels.add(piece)
                literals = _leading_literals(body)
                if literals is None:
                    continue  # starts with digits or symbols: never at a capitalised word
                for literal, whole in literals:
                    if whole:
                        by_word.setdefault(literal, []).append(piece)
                    else:
                        by_prefix.append((literal, piece))
    by_first: dict[str, list[tuple[str, re.Pattern]]] = {}  # in by_prefix's order
    for prefix, piece in by_prefix:
        by_first.setdefault(prefix[:1], []).append((prefix, piece))
    return EmbeddedCues({k: tuple(v) for k, v in by_word.items()}, tuple(by_prefix),
                        tuple(sorted({prefix for prefix, _ in by_prefix})), frozenset(labels),
                        {k: tuple(v) for k, v in by_first.items()})


@cache
def section_words() -> frozenset[str]:
    """Words that name a site's sections in its menu: the one-word navigation cues."""
    words: set[str] = set()
    for pattern in merged_cues().get("navigation", []):
        if pattern.startswith("^") and pattern.endswith("$"):
            for alternative in _alternatives(pattern[1:-1]):
                if re.fullmatch(r"[^\W\d_]{3,}", alternative):
                    words.add(alternative.lower())
    return frozenset(words)


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
