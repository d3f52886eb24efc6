"""Markdown dumps: a page scraped to Markdown read as its reader sees it.

Scrapers and reader services often save a page as Markdown: every menu entry and teaser is a
link `[text](url)`, images are `![alt](url)`, headings start with `#`, emphasis is wrapped in
`**`, `_` or `*`. Read as plain text, the URLs count as words, a menu of links looks like long
lines of prose, and the markup stays in the article. A page that is Markdown (enough links,
images or headings in that syntax) has its lines rewritten to what a reader sees: links become
their text, images and rules go, heading marks and emphasis are dropped, escapes are undone.
One line in, one line out (a rule becomes an empty line, and so does a line joined to the
paragraph it continues), so blocks keep their places.
"""

from __future__ import annotations

import re

MIN_MARKS = 3  # links, images and headings in Markdown syntax a page needs to be read as Markdown

# [text](url "title") and ![alt](url): the URL has no spaces (or sits in <>).
# (a link's text may run over lines, as a paragraph does: the page's text is rewritten whole,
# which keeps the line breaks inside it; it may hold brackets of its own, "[…]", one deep)
_IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]{0,100}\]){0,500}\]\((?:<[^>\n]*>|[^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]{0,100}\]){0,500})\]\((?:<[^>\n]*>|[^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
_LINK_MARK = re.compile(r"\]\((?:<|https?:|/|#|\.|www\.)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?=\S)", re.M)
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+")
_CLOSING_HASHES = re.compile(r"\s+#+\s*$")
_RULE = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_CODE = re.compile(r"`([^`\n]+)`")
# Lines that open a block of their own: list items, headings, quotes, tables, HTML.
_STRUCTURE = re.compile(r"\s*(?:[*+-]\s|\d{1,3}[.)]\s|#{1,6}\s|>|\||<|!\[)")
_KEPT = {"*": "\ue001", "_": "\ue002", "`": "\ue003"}  # private-use stand-ins for escaped marks
_RESTORE = str.maketrans({v: k for k, v in _KEPT.items()})


def is_markdown(text: str) -> bool:
    """Whether a page is written in Markdown: links, images or headings in its syntax."""
    if "](" not in text and "#" not in text:
        return False
    marks = len(_LINK_MARK.findall(text))
    if marks < MIN_MARKS:
        marks += len(_HEADING.findall(text))
    return marks >= MIN_MARKS


def plain_line(line: str) -> str:
    """One Markdown line as a reader sees it."""
    if "](" in line:
        line = _LINK.sub(r"\1", _IMAGE.sub("", line))
    return _plain_marks(line)


def _plain_marks(line: str) -> str:
    """A line whose links and images are already rewritten, without its other marks."""
    if _RULE.match(line) or _TABLE_RULE.match(line):
        return ""
    if line.lstrip().startswith("#"):
        heading = _HEADING_LINE.match(line)
        if heading:
            line = _CLOSING_HASHES.sub("", line[heading.end():])
    escaped = "\\" in line
    if escaped:  # an escaped mark is a character, never emphasis: kept aside until the end
        line = _ESCAPE.sub(lambda m: _KEPT.get(m.group(1), m.group(1)), line)
    if "*" in line or "_" in line:
        line = _STRONG.sub(r"\2", line)
        line = _EMPHASIS.sub(r"\2", line)
    if "`" in line:
        line = _CODE.sub(r"\1", line)
    if escaped:
        line = line.translate(_RESTORE)
    return line


def plain_lines(text: str) -> list[str]:
    """The page's lines, rewritten from Markdown when the page is Markdown.

    A paragraph's text may run over several lines (Markdown joins them): a line that goes on
    with a lower-case word, or after a line that stops at a comma, is joined to the line above
    it, which takes its place (the joined line's own place is left empty)."""
    if not is_markdown(text):
        return text.split("\n")
    raw_lines = text.split("\n")
    if "](" in text:  # images and links first, over the whole text: one may span lines
        text = _IMAGE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        # (a link's line breaks all stay, those of its title too, so that lines keep their places)
        text = _LINK.sub(lambda m: m.group(1) + "\n" * (m.group(0).count("\n") - m.group(1).count("\n")), text)
    out: list[str] = []
    open_paragraph = -1  # the index in `out` of the paragraph line a continuation may join
    for raw, line in zip(raw_lines, text.split("\n"), strict=True):
        structural = _STRUCTURE.match(raw)
        line = _plain_marks(line)
        stripped = line.strip()
        if not stripped:
            out.append(line)
            open_paragraph = -1
            continue
        if open_paragraph >= 0 and not structural and not raw.endswith(("  ", "\\")) and (
                stripped[0].islower() or out[open_paragraph].rstrip().endswith((",", ";"))):
            out[open_paragraph] = out[open_paragraph].rstrip() + " " + stripped
            out.append("")
            continue
        out.append(line)
        open_paragraph = -1 if structural else len(out) - 1
    return out
