"""HTML pages: main-content extraction and metadata with trafilatura.

trafilatura sees the DOM (tags, classes, link density), so it finds the main text far
better than any rule over the visible text; its output still goes through the block
classifier, which removes what it lets through (cookie text, teasers, credits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

from pipeline.deadline import paused
from pipeline.stages.clean.blocks import normalise_space

_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.IGNORECASE)
_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)")
_CANONICAL = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?canonical[\"']?[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_DROP = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(/?(p|div|br|li|h[1-6]|tr|section|article|header|footer|nav|aside|ul|ol|table|blockquote)\b)[^>]*>",
                    re.IGNORECASE)
_LIST_MARK = re.compile(r"^- ")
_BODY = re.compile(r"<body\b", re.IGNORECASE)
# Class names sites give the standfirst (standfirst, chapô, sommario, Vorspann, entradilla...).
_STANDFIRST_CLASSES = ("standfirst", "chapo", "chapeau", "sommario", "summary", "dek", "subtitle", "subheadline",
                       "lead", "teaser", "intro", "vorspann", "entradilla", "subtitulo", "excerpt", "abstract",
                       "description", "strapline", "kicker-sub")
HEAD_SCAN_CHARS = 200_000  # metadata lives in <head>; a huge page is not scanned whole


@dataclass
class ExtractedPage:
    blocks: list[str]
    title: str = ""
    metadata: dict = field(default_factory=dict)
    declared_language: str | None = None
    url: str | None = None
    extractor: str = "trafilatura"


def _meta_tags(head: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in _META.findall(head):
        attrs = {k.lower(): v.strip("\"'") for k, v in _ATTR.findall(tag)}
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        if key and "content" in attrs and key not in found:
            found[key] = unescape(attrs["content"]).strip()
    return found


def declared_language(html: str) -> str | None:
    """What the page says its language is: <html lang>, else og:locale."""
    head = html[:HEAD_SCAN_CHARS]
    match = _HTML_LANG.search(head)
    if match:
        return match.group(1).lower()
    locale = _meta_tags(head).get("og:locale", "")
    return locale[:2].lower() if re.match(r"^[A-Za-z]{2}", locale) else None


def source_url(html: str) -> str | None:
    head = html[:HEAD_SCAN_CHARS]
    url = _meta_tags(head).get("og:url")
    if url:
        return url
    link = _CANONICAL.search(head)
    if link:
        href = dict((k.lower(), v.strip("\"'")) for k, v in _ATTR.findall(link.group(0))).get("href")
        return unescape(href) if href else None
    return None


def visible_text_blocks(html: str) -> list[str]:
    """A crude fallback when the DOM cannot be parsed: tags dropped, one block an element."""
    text = _DROP.sub(" ", html)
    text = _BREAK.sub("\n", text)
    text = unescape(_TAG.sub(" ", text))
    return [line for line in (normalise_space(x) for x in text.split("\n")) if line]


STANDFIRST_MIN_WORDS = 8


def headline_and_standfirst(html: str, title: str = "") -> tuple[str, str]:
    """The page's <h1> (the one that carries the title, when a dialog has an <h1> too) and
    the element after it that the site marks as its standfirst."""
    try:
        from lxml import html as lxml_html  # installed with trafilatura

        root = lxml_html.document_fromstring(html)
    except (ValueError, TypeError, RecursionError, Exception):  # noqa: BLE001 - lxml raises its own types
        return "", ""
    title_words = set(title.lower().split())
    headings = [h for h in root.iter("h1") if normalise_space(h.text_content())]
    headings.sort(key=lambda h: -len(title_words & set(h.text_content().lower().split())))
    for h1 in headings:
        headline = normalise_space(h1.text_content())
        sibling = h1.getnext()
        hops = 0
        while sibling is not None and hops < 3:
            tag = sibling.tag if isinstance(sibling.tag, str) else ""
            text = normalise_space(sibling.text_content()) if tag else ""
            if tag in ("p", "h2", "div") and len(text.split()) >= STANDFIRST_MIN_WORDS and "class" in sibling.attrib \
                    and any(k in sibling.attrib["class"].lower() for k in _STANDFIRST_CLASSES):
                return headline, text
            sibling, hops = sibling.getnext(), hops + 1
        return headline, ""
    return "", ""


EXTRACTOR_REASON = "outside_main_text"  # what trafilatura left out and no cue names


def dropped_by_extractor(html: str, page: ExtractedPage, title: str = "") -> list[dict]:
    """The page's visible lines that the extractor left out of its main text (menus, cookie
    banners, footers...), each with the cue reason that names it, else outside_main_text;
    the headline and lines inside the extracted text are not listed."""
    if page.extractor != "trafilatura":
        return []
    from pipeline.stages.clean.cues import cue_reason

    kept = set(page.blocks)
    joined = "\n".join(page.blocks)
    title_norm = normalise_space(title)
    found, seen = [], set()
    body = _BODY.search(html)
    for line in visible_text_blocks(html[body.start() if body else 0:][:HEAD_SCAN_CHARS * 10]):
        if line in kept or line in seen or line == title_norm or line in joined:
            continue
        seen.add(line)
        found.append({"text": line, "reason": cue_reason(line, len(line.split())) or EXTRACTOR_REASON})
    return found


def extract(html: str) -> ExtractedPage:
    """Main text blocks and metadata of an HTML page."""
    page = ExtractedPage(blocks=[], declared_language=declared_language(html), url=source_url(html))
    try:
        with paused():  # imported here, once: only HTML inputs pay for it, and not in a page's time
            import trafilatura

        doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True,
                                          include_images=False, include_links=False, deduplicate=False,
                                          favor_recall=True)
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:
        # A page too deeply nested or broken for the parser: keep going on its visible text.
        page.blocks = visible_text_blocks(html)
        page.extractor = f"fallback ({type(exc).__name__})"
        return page
    if doc is None:
        page.blocks = visible_text_blocks(html)
        page.extractor = "fallback (no main text found)"
        return page
    text = doc.text or ""
    page.blocks = [b for b in (normalise_space(_LIST_MARK.sub("", line)) for line in text.split("\n")) if b]
    page.title = normalise_space(doc.title or "")
    headline, standfirst = headline_and_standfirst(html, page.title)
    if headline and standfirst and standfirst not in page.blocks:
        # trafilatura leaves out the standfirst that sits in the header beside the <h1>;
        # the classifier sees it under the headline, where a standfirst belongs.
        page.blocks = [headline, standfirst, *(b for b in page.blocks if b != headline)]
    page.url = page.url or doc.url
    page.metadata = {k: v for k, v in (("author", doc.author), ("date", doc.date), ("sitename", doc.sitename),
                                       ("description", doc.description)) if v}
    return page
