"""Site templates: lines that recur on the pages of other stories are page furniture.

A nightly folder holds many pages from each site, and a site prints the same menu, cookie
notice, newsletter prompt, teaser headings and footer on every one of them. A line of a page
that also stands on another page of the run, one that tells a different story, is part of a
template, whatever it looks like: it goes, as `template`.

Two pages tell the same story when they share a line of article text (what clean keeps of
each on its own) and most of the smaller one's words: at least SAME_STORY_WORDS of its
distinct long words (five letters or more) are on the other one too. An update of a wire
story, the same article saved twice, a syndicated copy: lines they share are the story's, and
stay. (Measured on the pages of one site and one year, different stories share at most about
half; updates and copies of one story 0.57 to 0.95.)

What a run learns is remembered across runs (the state database keeps the fingerprints of
template lines, with the number of pages they were seen on), so a site's furniture is known
even on a night with one page from it. A run of one document is cleaned as before, unless an
earlier run has seen its site's furniture.

Only text dumps are surveyed: on HTML the extractor already reads the page's structure.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from pipeline.stages.base import Survey
from pipeline.stages.clean.signals import long_words

# Pages that share this much of the smaller one's long words (of what clean keeps) tell one story.
SAME_STORY_WORDS = 0.55
# A line needs this many letters to be compared: list numbers, dates and rules are not.
MIN_LETTERS = 3
FINGERPRINT_BYTES = 8

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def fingerprint(text: str) -> str | None:
    """A line's identity across pages: case, spacing and numbers aside ("3 comments" is
    "12 comments"). None for a line with too few letters to be told apart."""
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return None
    norm = " ".join(_DIGITS.sub("0", text.lower()).split())
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=FINGERPRINT_BYTES).hexdigest()


@dataclass
class PageLines:
    """What the survey keeps of one page: the fingerprints of its lines and of those clean keeps
    on its own, and the words of what it keeps (to tell whether two pages tell one story)."""

    name: str  # the document's path
    lines: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    words: frozenset[int] = frozenset()


def story_words(text: str) -> set[int]:
    """The distinct words of five letters or more of a text (in scripts without spaces, its
    pairs of characters), each as a 32-bit checksum: a page's words are kept between runs."""
    return {zlib.crc32(w.encode("utf-8")) for w in long_words(text, 5)}


def page_lines(name: str, decision) -> PageLines:
    page = PageLines(name)
    words: set[int] = set()
    for block in decision.blocks:
        if block.reason is None:
            words |= story_words(block.text)
        found = fingerprint(block.text)
        if found is None:
            continue
        page.lines.add(found)
        if block.reason is None:
            page.kept.add(found)
    page.words = frozenset(words)
    return page


def same_story(a: PageLines, b: PageLines) -> bool:
    smaller = min(len(a.words), len(b.words))
    return smaller > 0 and len(a.words & b.words) >= SAME_STORY_WORDS * smaller


def _another_story(pages: list[PageLines], index: int, other: int, verdicts: dict[int, bool]) -> bool:
    """Whether page `other` tells another story than page `index` (it shares none of the lines
    clean keeps of it, or few of its words)."""
    if other not in verdicts:
        page, peer = pages[index], pages[other]
        verdicts[other] = other != index and not (page.kept & peer.kept and same_story(page, peer))
    return verdicts[other]


def survey(pages: list[PageLines], remembered: dict[str, int] | None = None) -> Survey:
    """Which lines of each page are template lines (its evidence: sorted fingerprints), from the
    run's pages and what earlier runs saw; `seen`: the lines this run found on pages of more than
    one story, with the number of such pages, for the state to remember."""
    remembered = remembered or {}
    where: dict[str, list[int]] = defaultdict(list)
    for index, page in enumerate(pages):
        for line in page.lines:
            where[line].append(index)
    templates: dict[str, tuple[str, ...]] = {}
    seen: Counter = Counter()
    for index, page in enumerate(pages):
        # other page -> it tells another story; found lazily: a line on thousands of pages is
        # settled by the first of them that tells another story
        verdicts: dict[int, bool] = {}
        found = []
        for line in page.lines:
            elsewhere = any(_another_story(pages, index, other, verdicts) for other in where[line])
            if elsewhere:
                seen[line] += 1
            if elsewhere or line in remembered:  # a line is remembered from two pages or more
                found.append(line)
        if found:
            templates[page.name] = tuple(sorted(found))
    return Survey(templates, dict(seen))


def apply(decision, templates: frozenset[str] | set[str]) -> int:
    """Remove the kept blocks that are template lines (reason `template`); returns how many."""
    if not templates:
        return 0
    removed = 0
    for block in decision.blocks:
        if block.reason is None and fingerprint(block.text) in templates:
            block.reason, block.rule = "template", "stands on pages of other stories too"
            removed += 1
    return removed
