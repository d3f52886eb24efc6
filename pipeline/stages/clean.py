"""clean: keep the article body and title of a page, drop the page furniture.

Plain-text dumps are classified block by block (one block a line; a page with no line
breaks is split into sentences); HTML goes through trafilatura first and its output
through the same classifier. Every removed block is recorded with a reason; with
`explain`, the report holds every block's decision and the signals behind it.
The machinery lives in pipeline/clean/.
"""

from __future__ import annotations

from collections import Counter

from pipeline.clean import learned
from pipeline.clean.blocks import page_blocks
from pipeline.clean.classify import Decision, classify
from pipeline.inputs import SourceText
from pipeline.records import CleanRecord
from pipeline.text import join_paragraphs

EXPLAIN_EXCERPT_CHARS = 160


def explain_blocks(decision: Decision) -> list[dict]:
    """Per block: an excerpt, keep or remove, the reason, the rule and the signals."""
    rows = []
    for block in decision.blocks:
        text = block.text if len(block.text) <= EXPLAIN_EXCERPT_CHARS else block.text[:EXPLAIN_EXCERPT_CHARS - 1] + "…"
        rows.append({"text": text, "decision": "keep" if block.reason is None else "remove",
                     "reason": block.reason, "rule": block.rule or None, "signals": block.signals()})
    return rows


class CleanStage:
    """Raw document in, CleanRecord out."""

    name = "clean"

    def __init__(self, explain: bool = False):
        self.explain = explain

    def __call__(self, doc_id: str, path: str, source: SourceText) -> CleanRecord:
        record = CleanRecord(doc_id=doc_id, source={
            "path": path, "sha256": source.sha256, "format": source.format,
            "encoding": source.encoding, "bytes": source.size})
        extractor = None
        if source.format == "html":
            from pipeline.clean.html import extract

            page = extract(source.text)
            extractor = page.extractor
            decision = classify(page.blocks, from_extractor=extractor == "trafilatura", known_title=page.title,
                                known_author=page.metadata.get("author", ""))
            record.declared_language = page.declared_language
            record.url = page.url
            record.metadata = dict(page.metadata)
        else:
            blocks, sentences = page_blocks(source.text)
            decision = classify(blocks, sentences=sentences)
            learned.apply(decision, explain=self.explain)  # the block model's second opinion
        kept = [b.text for b in decision.blocks if b.reason is None]
        removed = [b for b in decision.blocks if b.reason and b.reason != "title"]
        record.title = decision.title
        record.text = join_paragraphs(kept)
        record.removed = [{"text": b.text, "reason": b.reason} for b in removed]
        if source.format == "html":
            from pipeline.clean.html import dropped_by_extractor

            record.removed += dropped_by_extractor(source.text, page, record.title)
        dropped = len(record.removed) - len(removed)
        record.report = {"blocks": len(decision.blocks) + dropped, "kept": len(kept), "removed": len(record.removed),
                         "removed_by_reason": dict(Counter(r["reason"] for r in record.removed).most_common()),
                         "language_guess": decision.language,
                         "chars_in": len(source.text), "chars_kept": len(record.text)}
        if extractor:
            record.report["extractor"] = extractor
            record.report["extractor_dropped"] = dropped
        if self.explain:
            record.report["explain"] = explain_blocks(decision)
        if source.notes:
            record.report["input_notes"] = list(source.notes)
        if not record.text.strip():
            record.fail("no_article_text", "no article text left after removing page furniture")
        return record
