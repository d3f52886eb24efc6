"""Splitting a page into the blocks the classifier judges: one block a line, and sentences
(cut again at widget headings) for lines too long to be one paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.clean.cues import embedded_cues
from pipeline.text import split_sentences

LONG_LINE_CHARS = 2500  # longer than any paragraph: the page lost its line breaks
PYSBD_MAX_CHARS = 200_000  # beyond this the rule-based splitter is too slow; a plain regex cuts
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
# A sentence ends at . ! ? … (and closing quotes) before a space and a capital, digit or quote.
_ROUGH_SENTENCE_END = re.compile(r"(?<=[.!?…\"”»’)])\s+(?=[\"“«(¿¡]?[^\W_a-z])")


def normalise_space(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


def split_long_line(line: str, language: str = "en") -> list[str]:
    """Sentences of a line that holds a whole page, with widget headings cut out on their own."""
    if len(line) <= PYSBD_MAX_CHARS:
        sentences = split_sentences(line, language)
    else:
        sentences = [s for s in _ROUGH_SENTENCE_END.split(line) if s.strip()]
    pieces: list[str] = []
    for sentence in sentences:
        pieces.extend(_cut_at_cues(sentence))
    return pieces


def _heading_spans(sentence: str) -> list[tuple[int, int]]:
    """Where widget headings sit in a sentence: capitalised, two words or more (or one in
    capitals), longest first where they overlap."""
    spans = []
    for pattern in embedded_cues():
        for match in pattern.finditer(sentence):
            text = match.group(0)
            if not text[:1].isupper():
                continue  # "most read" inside a sentence is prose
            if " " not in text.strip() and not (text.isupper() and len(text) >= 4):
                continue  # one ordinary word ("News") is too weak to cut at
            spans.append((match.start(), match.end()))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    chosen: list[tuple[int, int]] = []
    for start, end in spans:
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end))
    return chosen


def _cut_at_cues(sentence: str) -> Iterator[str]:
    start = 0
    for begin, end in _heading_spans(sentence):
        before = sentence[start:begin].strip()
        if before:
            yield before
        yield sentence[begin:end].strip()
        start = end
    rest = sentence[start:].strip()
    if rest:
        yield rest


def split_blocks(text: str, language: str = "en") -> list[str]:
    """One block a non-empty line; lines that hold a whole page are split into sentences."""
    return page_blocks(text, language)[0]


def page_blocks(text: str, language: str = "en") -> tuple[list[str], bool]:
    """The blocks of a page, and whether most of them are sentences cut from long lines."""
    blocks: list[str] = []
    from_long_lines = 0
    for raw in text.split("\n"):
        line = normalise_space(raw)
        if not line:
            continue
        if len(line) > LONG_LINE_CHARS:
            pieces = split_long_line(line, language)
            blocks.extend(pieces)
            from_long_lines += len(pieces)
        else:
            blocks.append(line)
    return blocks, from_long_lines > len(blocks) / 2
