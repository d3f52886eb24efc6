"""Splitting a page into the blocks the classifier judges: one block a line, and sentences
(cut again at widget headings) for lines too long to be one paragraph. A page wrapped at a
fixed width (lynx, w3m and links dumps, mail, wire copy) has its paragraphs joined first, and
a page in Markdown is read as its reader sees it (pipeline.stages.clean.markdown)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.stages.clean.cues import embedded_cues
from pipeline.stages.clean.markdown import plain_lines

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

# Hard-wrapped pages: a text browser's dump breaks every paragraph at the screen's width.
WRAP_MIN, WRAP_MAX = 40, 200  # the widths a dump is wrapped at (columns)
WRAP_BAND = 10  # a wrapped line ends within this many columns of the width...
WRAP_SHARE = 0.3  # ...and this share of the lines over half the width (5 at least) do
WRAP_OVER = 0.03  # lines may pass the width (a long URL cannot be broken), this share at most
# Characters a terminal draws two columns wide (CJK, Hangul, full-width forms).
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
                   r"\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")
# Letters and punctuation of scripts written without spaces: a line break between two of them
# joins with none. (Not signals.UNSPACED_LETTER: a terminal breaks CJK punctuation and full-width
# forms as it breaks letters, and those are no letters to count.)
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
# A line that opens a list item or a heading of its own: never the rest of the line before.
_ITEM_START = re.compile(r"\s*(?:[*+•·▪‣◦>#|-]|\d{1,3}[.)]|\(\w{1,3}\)|\[\w{0,12}\])(?:\s|$)")


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


def _columns(line: str) -> int:
    return len(line) if line.isascii() else len(line) + len(_WIDE.findall(line))


def wrap_width(lines: list[str]) -> int | None:
    """The width a page is hard-wrapped at, or None: the longest line but a few (URLs pass
    the width), where a good share of the page's long lines end close to it."""
    # (a run of Latin letters with no space in it, a URL or a token, cannot be broken: it says
    # nothing about the width, however long)
    widths = sorted(_columns(line.rstrip()) for line in lines
                    if (stripped := line.strip()) and (" " in stripped or not stripped.isascii()))
    n = len(widths)
    over = max(2, int(WRAP_OVER * n))
    if n <= over + 5:
        return None
    width = widths[n - 1 - over]
    if not WRAP_MIN <= width <= WRAP_MAX:
        return None
    near = sum(1 for w in widths if width - WRAP_BAND <= w <= width)
    if sum(1 for w in widths if w > width * 1.5) * 50 > near:
        return None  # a line that could have been broken runs far past it: not a wrap
    # (a menu of short lines, however long, says nothing about the width)
    return width if near >= max(5, WRAP_SHARE * sum(1 for w in widths if w > width / 2)) else None


def unwrap(lines: list[str]) -> list[str]:
    """A hard-wrapped page's paragraphs, each joined back into one line.

    A line break is the wrap's (not the author's) when the next line's first word would not
    have fitted on the line before it, the next line does not open an item of its own (a
    bullet, a number, a heading mark) and is indented as the line before it continues (or
    less, under a paragraph's indented first line)."""
    width = wrap_width(lines)
    if width is None:
        return lines
    out: list[str] = []
    previous_columns = -1  # the last physical line's width; -1 after a blank line
    continuation_indent = first_line_indent = 0
    for raw in lines:
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped:
            out.append("")
            previous_columns = -1
            continue
        indent = len(line) - len(stripped)
        columns = _columns(line)
        # (a script without spaces breaks anywhere: its first "word" is its first character)
        first = stripped[0] if _UNSPACED.match(stripped) else stripped.split(None, 1)[0]
        if (0 <= previous_columns <= width + WRAP_BAND and (indent == continuation_indent or indent < first_line_indent)
                and not _ITEM_START.match(stripped) and previous_columns + 1 + _columns(first) > width):
            joiner = "" if _UNSPACED.match(out[-1][-1]) and _UNSPACED.match(stripped[0]) else " "
            out[-1] += joiner + stripped
        else:
            out.append(line)
            item = _ITEM_START.match(stripped)
            continuation_indent = indent + (len(item.group(0)) if item else 0)
            # a paragraph's first line may be indented further than the lines it wraps onto
            first_line_indent = -1 if item else indent
        previous_columns = columns
    return out


def split_blocks(text: str) -> list[str]:
    """One block a non-empty line; lines that hold a whole page are split into sentences."""
    return page_blocks(text)[0]


def page_blocks(text: str) -> tuple[list[str], bool]:
    """The blocks of a page, and whether most of them are sentences cut from long lines."""
    blocks: list[str] = []
    from_long_lines = 0
    lines = unwrap(plain_lines(text))
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
