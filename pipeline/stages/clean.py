"""clean: keep the article body and title of a page, drop the page furniture.

Plain-text dumps are classified block by block (one block a line); HTML goes through
trafilatura first and its output through the same classifier. Every removed block is
recorded with a reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.inputs import SourceText
from pipeline.records import CleanRecord
from pipeline.text import join_paragraphs, split_sentences, words

MAX_CUE_BLOCK_CHARS = 400  # a long paragraph that mentions cookies is article, not a banner
_TERMINAL = re.compile(r"[.!?…:;»”\"')]\s*$")
_BULLET = re.compile(r"^\s*([•·▪‣◦\-–—*]|\d+[.)])\s+")
_HTML_LANG = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_OG_LOCALE = re.compile(r"<meta[^>]+property\s*=\s*[\"']og:locale[\"'][^>]*content\s*=\s*[\"']([A-Za-z]{2,3})",
                        re.IGNORECASE)
_OG_LOCALE_REV = re.compile(r"<meta[^>]+content\s*=\s*[\"']([A-Za-z]{2,3})[^\"']*[\"'][^>]*property\s*=\s*[\"']og:locale[\"']",
                            re.IGNORECASE)


@cache
def _cues() -> dict[str, list[re.Pattern]]:
    raw = json.loads(resources.files("pipeline.resources").joinpath("cues/boilerplate.json").read_text("utf-8"))
    return {reason: [re.compile(p, re.IGNORECASE) for p in patterns]
            for reason, patterns in raw.items() if not reason.startswith("_")}


@cache
def _date_words() -> frozenset[str]:
    raw = json.loads(resources.files("pipeline.resources").joinpath("cues/dates.json").read_text("utf-8"))
    return frozenset(w for lang, ws in raw.items() if not lang.startswith("_") for w in ws)


def _is_date_widget(block: str) -> bool:
    if len(block) > 80 or not re.search(r"\d", block):
        return False
    tokens = re.findall(r"[^\W_]+|\d+", block.lower())
    return bool(tokens) and all(t.isdigit() or t in _date_words() for t in tokens)


def _looks_like_heading(block: str) -> bool:
    return len(block) <= 120 and not _TERMINAL.search(block) and not _BULLET.match(block)


@dataclass
class Block:
    text: str
    reason: str | None = None  # None: kept as article


def _norm(text: str) -> str:
    return " ".join(words(text))


def split_blocks(text: str) -> list[str]:
    """One block a line; a page with no line breaks is split into sentences first."""
    lines = [line.strip() for line in text.split("\n")]
    blocks = [line for line in lines if line]
    if len(blocks) == 1 and len(blocks[0]) > 1500:
        return split_sentences(blocks[0], "en")
    return blocks


def classify(blocks: list[str]) -> tuple[str, list[Block]]:
    """Decide the title and which blocks are furniture; returns (title, blocks with reasons)."""
    decided = [Block(b) for b in blocks]
    cues = _cues()
    for block in decided:
        if _is_date_widget(block.text):
            block.reason = "date_widget"
            continue
        if len(block.text) <= MAX_CUE_BLOCK_CHARS or block.text.lower().count("cookie") >= 2:
            for reason, patterns in cues.items():
                if any(p.search(block.text) for p in patterns):
                    block.reason = reason
                    break
    title = _choose_title(decided)
    if title:
        title_norm = _norm(title)
        for block in decided:
            norm = _norm(block.text)
            if block.reason is None and norm and (norm == title_norm or
                                                   (title_norm.startswith(norm) and len(norm) > 10 and _looks_like_heading(block.text))):
                block.reason = "duplicate_title"
    _mark_trailing_lists(decided)
    _mark_leading_furniture(decided)
    return title, decided


def _choose_title(blocks: list[Block]) -> str:
    """The headline: the first heading-like line before the body, in its longest form."""
    first_body = next((i for i, b in enumerate(blocks) if b.reason is None and len(b.text) > 200), len(blocks))
    candidates = [b for b in blocks[:first_body] if b.reason is None and _looks_like_heading(b.text)
                  and len(words(b.text)) >= 3]
    if not candidates:
        return ""
    best = candidates[0]
    for other in candidates[1:]:
        if _norm(other.text).startswith(_norm(best.text)) and len(other.text) > len(best.text):
            best = other
    return best.text


def _mark_leading_furniture(blocks: list[Block]) -> None:
    """Short heading-like lines before the headline (category, breadcrumb) are not article."""
    for block in blocks:
        if block.reason == "duplicate_title":
            return
        if block.reason is None and len(block.text) < 60 and len(words(block.text)) <= 4:
            block.reason = "breadcrumb"
        elif block.reason is None:
            return


def _mark_trailing_lists(blocks: list[Block]) -> None:
    """After a recommendations heading near the end, the run of title-like lines is a list."""
    for i, block in enumerate(blocks):
        if block.reason != "recommendations":
            continue
        rest = blocks[i + 1:]
        body_after = sum(len(b.text) for b in rest if b.reason is None and not _looks_like_heading(b.text))
        if body_after < 600:  # the heading starts the page's tail, not an ad slot inside the body
            for other in rest:
                if other.reason is None:
                    other.reason = "related_links"


def page_metadata(html: str) -> dict:
    lang = _HTML_LANG.search(html[:5000])
    locale = _OG_LOCALE.search(html) or _OG_LOCALE_REV.search(html)
    declared = (lang or locale).group(1).lower() if (lang or locale) else None
    return {"declared_language": declared}


def _extract_html(html: str) -> tuple[list[str], dict]:
    import trafilatura  # imported here: only HTML inputs pay for it

    meta = page_metadata(html)
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=False)
    if doc is None or not (doc.text or "").strip():
        return [], meta
    meta.update({"title": doc.title or "", "url": doc.url, "author": doc.author, "date": doc.date,
                 "sitename": doc.sitename, "description": doc.description})
    blocks = [re.sub(r"^- ", "", line).strip() for line in doc.text.split("\n")]
    return [b for b in blocks if b], meta


class CleanStage:
    """Raw document in, CleanRecord out."""

    name = "clean"

    def __call__(self, doc_id: str, path: str, source: SourceText) -> CleanRecord:
        record = CleanRecord(doc_id=doc_id, source={
            "path": path, "sha256": source.sha256, "format": source.format,
            "encoding": source.encoding, "bytes": source.size})
        meta: dict = {}
        if source.format == "html":
            blocks, meta = _extract_html(source.text)
        else:
            blocks = split_blocks(source.text)
        title, decided = classify(blocks)
        if meta.get("title") and not title:
            title = meta["title"]
        kept = [b.text for b in decided if b.reason is None]
        record.title = title
        record.text = join_paragraphs(kept)
        record.removed = [{"text": b.text, "reason": b.reason} for b in decided if b.reason]
        record.declared_language = meta.get("declared_language")
        record.url = meta.get("url")
        record.metadata = {k: meta[k] for k in ("author", "date", "sitename", "description") if meta.get(k)}
        record.report = {"blocks": len(decided), "kept": len(kept), "removed": len(record.removed),
                         "chars_in": len(source.text), "chars_kept": len(record.text)}
        if source.notes:
            record.report["input_notes"] = list(source.notes)
        if not record.text.strip():
            record.fail("no_article_text", "no article text left after removing page furniture")
        return record
