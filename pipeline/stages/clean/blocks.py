"""Splitting a page into the blocks the classifier judges: one block a line, and sentences
(cut again at widget headings) for lines too long to be one paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.stages.clean.cues import embedded_cues

LONG_LINE_CHARS = 2500  # longer than any paragraph: the page lost its line breaks
SHORT_PAGE_LINE_CHARS = 600
_CAPITALISED_WORD = re.compile(r"(?<!\w)[^\W\d_a-zß-ÿ]")
_WORD_AT = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"“„«(]?[^\W\d_a-zß-ÿ]")
_ABBREVIATION_END = re.compile(r"(?:^|\s)[A-Z][a-z]{0,2}\.$")
# "ab dem 1. März", "am 3. Oktober": a day's ordinal, not a sentence end.
_ORDINAL_END = re.compile(r"(?:^|\s)\d{1,2}\.$")
# A breadcrumb trail glued to what follows: "Regional › Niedersachsen › Hannover Hannover will…"
_TRAIL = re.compile(r"^(?P<trail>.*?(?:\S+\s[›»|]\s){2,}\S+)\s(?P<rest>[^›»|]{20,})$")
# A sentence ends at . ! ? … (and closing quotes) before a space and a capital, digit or quote.
# A regular expression rather than pysbd (pipeline.text.split_sentences): the blocks only
# need to be cut where furniture may start, and pysbd takes ~12 ms on a 5 KB line.
_ROUGH_SENTENCE_END = re.compile(r"(?<=[.!?…\"”»’)])\s+(?=[\"“«(¿¡]?[^\W_a-z])")


def normalise_space(line: str) -> str:
    """White space (non-breaking and wide spaces included) collapsed to single spaces."""
    return " ".join(line.split())


def split_long_line(line: str) -> list[str]:
    """Sentences of a line that holds a whole page, with widget headings cut out on their own."""
    sentences: list[str] = []
    for piece in _ROUGH_SENTENCE_END.split(line):
        # (both patterns span at most six characters at the end: the sentence's tail is enough)
        if sentences and (_ABBREVIATION_END.search(sentences[-1][-6:]) or _ORDINAL_END.search(sentences[-1][-6:])):
            sentences[-1] += " " + piece  # "Dr. Marcos", "J. Smith", "1. März": not a sentence end
        elif piece.strip():
            sentences.append(piece)
    pieces: list[str] = []
    for sentence in sentences:
        for piece in _cut_at_cues(sentence):
            pieces.extend(_cut_after_trail(piece))
    return pieces


def _cut_after_trail(piece: str) -> list[str]:
    """A breadcrumb trail and the headline glued to it: the trail ends at the word after its
    last separator."""
    if piece.count("›") + piece.count("»") + piece.count("|") < 2:
        return [piece]  # a trail has two separators at least
    match = _TRAIL.match(piece)
    if not match:
        return [piece]
    return [match.group("trail"), match.group("rest")]


def _heading_spans(sentence: str) -> list[tuple[int, int]]:
    """Where widget headings sit in a sentence: capitalised, two words or more (or one in
    capitals), longest first where they overlap."""
    pieces = embedded_cues()
    spans = []
    weak = []
    # Only a capitalised phrase is a heading: "most read" inside a sentence is prose.
    by_word, by_first = pieces.by_word, pieces.by_first
    for start in _CAPITALISED_WORD.finditer(sentence):
        position = start.start()
        word = _WORD_AT.match(sentence, position)
        candidates = by_word.get(word.group(0).lower() if word else "", ())
        prefixed = by_first.get(sentence[position].lower()[:1])
        if prefixed:  # pieces.at(), with the rest read only where a prefix may start
            rest = sentence[position:position + 40].lower()
            if rest.startswith(pieces.prefixes):
                candidates += tuple(p for prefix, p in prefixed if rest.startswith(prefix))
        if not candidates:
            continue
        matches = [(m.end(), p) for p in candidates if (m := p.match(sentence, position))]
        if not matches:
            continue
        longest, piece = max(matches, key=lambda found: found[0])
        text = sentence[position:longest]
        label = piece in pieces.labels and _NEXT_STARTS_SENTENCE.match(sentence, longest)
        if " " not in text.strip() and not (text.isupper() and len(text) >= 4) and not label:
            weak.append((position, longest))  # one ordinary word ("News") is too weak to cut at alone
            continue
        spans.append((position, longest))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    chosen: list[tuple[int, int]] = []
    for start, end in spans:
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end))
    # ...but one right after a widget heading is the same strip of buttons ("Artikel anhören Teilen").
    for start, end in sorted(weak):
        before = [c for c in chosen if c[1] <= start and not sentence[c[1]:start].strip()]
        if before and not any(c[0] < end and start < c[1] for c in chosen):
            chosen.append((start, end))
            chosen.sort()
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


def split_blocks(text: str) -> list[str]:
    """One block a non-empty line; lines that hold a whole page are split into sentences."""
    return page_blocks(text)[0]


def page_blocks(text: str) -> tuple[list[str], bool]:
    """The blocks of a page, and whether most of them are sentences cut from long lines."""
    blocks: list[str] = []
    from_long_lines = 0
    lines = text.split("\n")
    # A page of one or two lines is a page that lost its line breaks, however short.
    limit = SHORT_PAGE_LINE_CHARS if sum(1 for raw in lines[:3] if raw.strip()) <= 2 else LONG_LINE_CHARS
    for raw in lines:
        line = normalise_space(raw)
        if not line:
            continue
        if len(line) > limit:
            pieces = split_long_line(line)
            blocks.extend(pieces)
            from_long_lines += len(pieces)
        else:
            blocks.append(line)
    return blocks, from_long_lines > len(blocks) / 2
