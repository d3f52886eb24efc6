"""clean: keep the article body and title of a page, drop the page furniture.

Plain-text dumps are classified block by block (one block a line; a page with no line
breaks is split into sentences); HTML goes through trafilatura first and its output
through the same classifier. Every removed block is recorded with a reason; with
`explain`, the report holds every block's decision and the signals behind it.
Before any batch, the stage surveys the run's text dumps: a line that also stands on pages
of other stories is a site-template line, and goes (pipeline/stages/clean/templates.py).
The machinery lives beside it, in pipeline/stages/clean/.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pipeline.errors import InputError
from pipeline.inputs import Document, SourceText, content_sha256, read_document
from pipeline.records import CleanRecord
from pipeline.stages.base import Stage, StageContext, Survey
from pipeline.stages.clean import learned, templates
from pipeline.stages.clean.blocks import page_blocks
from pipeline.stages.clean.classify import Decision, classify
from pipeline.text import join_paragraphs

EXPLAIN_EXCERPT_CHARS = 160
# Lines of a text dump cleaned at most: a long news page has a few thousand, and clean's
# memory grows with them (about 2 KB a line); more is a log or a data file, which fails.
MAX_LINES = 100_000


def explain_blocks(decision: Decision) -> list[dict]:
    """Per block: an excerpt, keep or remove, the reason, the rule and the signals."""
    rows = []
    for block in decision.blocks:
        text = block.text if len(block.text) <= EXPLAIN_EXCERPT_CHARS else block.text[:EXPLAIN_EXCERPT_CHARS - 1] + "…"
        rows.append({"text": text, "decision": "keep" if block.reason is None else "remove",
                     "reason": block.reason, "rule": block.rule or None, "signals": block.signals()})
    return rows


def data_digest() -> str:
    """The digest of the data files clean decides by: its block model and letter tables, the
    cue lists, the stoplists."""
    from pipeline.resources import digest

    return digest("clean", "cues", "stopwords", "langid")


def text_decision(text: str, explain: bool = False, template_lines: frozenset[str] = frozenset()) -> Decision:
    """A text dump's blocks and what becomes of each: the rules (no site-template line is the
    headline), then the block model's second opinion. The template lines themselves are
    removed after (`templates.apply`)."""
    blocks, sentences = page_blocks(text)
    decision = classify(blocks, sentences=sentences, template_lines=template_lines)
    learned.apply(decision, explain=explain)
    return decision


class CleanStage(Stage):
    """Input documents in, CleanRecords out: the stage that reads the documents themselves."""

    name = "clean"
    record = CleanRecord
    consumes = None
    options = ("workers", "explain", "declared_lang")
    per_document = True
    surveys = True

    def __init__(self, context: StageContext, models=None):
        super().__init__(context, models)
        self.explain = context.explain

    @classmethod
    def settings(cls, context: StageContext) -> dict:
        # explained records differ from plain ones; the declared language is recorded; the
        # cue lists, stoplists, block model and letter tables decide what is read and removed
        return {"explain": context.explain, "declared_language": context.declared_language,
                "resources": data_digest()}

    @classmethod
    def failed(cls, item: Document, code: str, message: str) -> CleanRecord:
        record = super().failed(item, code, message)
        record.source = {"path": str(getattr(item, "path", "")), "sha256": "0" * 64, "format": "text",
                         "encoding": None}
        return record

    def preload(self) -> None:
        """Build the tables every page needs (the cue index and alternations, the stopword
        index, the block model) before the local engine forks its workers, so that they share
        them instead of each building its own; the rest (a cue's compiled combinations, the
        extended stoplists) comes lazily, as pages need it."""
        from pipeline.stages.clean import cues, signals

        cues.preload()
        signals.stopword_index()
        learned.model()

    @classmethod
    def survey(cls, documents: list[Document], context: StageContext, remembered: dict[str, int],
               stopped: Callable[[], bool] = lambda: False) -> Survey:
        """The site-template lines of each text dump, from all of the run's text dumps and the
        lines earlier runs found. A document that cannot be read is passed over here (it fails
        in its batch, with its error). What each page gave is kept in the workspace's survey
        cache, by content, so a page that stays in the folder is cleaned for it only once."""
        from pipeline import __version__
        from pipeline.stages.clean.survey_cache import SurveyCache, page_key

        cache = SurveyCache(context.workspace.survey_cache_path()) if context.workspace is not None else None
        decided_by = f"{__version__}|{data_digest()}"
        pages = []
        interrupted = False
        try:
            for doc in documents:
                if stopped():  # SIGINT/SIGTERM: the run ends before its first window
                    interrupted = True
                    break
                if doc.suffix_format != "text":
                    continue
                try:
                    # a page cached under its bytes' hash is not decoded again (its hash is the
                    # one read_document gives); only text pages are cached
                    sha = content_sha256(doc.path) if cache is not None else None
                    page = cache.get(page_key(sha, decided_by), str(doc.path)) if sha else None
                    if page is None:
                        source = read_document(doc)
                        if source.format != "text" or source.text.count("\n") + 1 > MAX_LINES:
                            continue
                        page = templates.page_lines(str(doc.path), text_decision(source.text))
                        if cache is not None:
                            cache.put(page_key(source.sha256, decided_by), page)
                    pages.append(page)
                except Exception:  # noqa: BLE001 - it fails in its batch, with its own error and record
                    continue
            if cache is not None:
                cache.save()  # what was read is kept, stopped or not
        finally:
            if cache is not None:
                cache.close()
        return Survey({}, {}) if interrupted else templates.survey(pages, remembered)

    def __call__(self, batch: list[Document]) -> list[CleanRecord]:
        return [self.clean(doc.doc_id, str(doc.path), read_document(doc), frozenset(doc.evidence)) for doc in batch]

    def clean(self, doc_id: str, path: str, source: SourceText, template_lines: frozenset[str] = frozenset()) -> CleanRecord:
        """One document's text (already read and decoded) to its clean record. `template_lines`:
        the fingerprints of its lines that the run's survey found on pages of other stories."""
        record = CleanRecord(doc_id=doc_id, source={
            "path": path, "sha256": source.sha256, "format": source.format,
            "encoding": source.encoding, "encoding_confidence": source.encoding_confidence, "bytes": source.size})
        extractor = None
        if source.format == "html":
            from pipeline.stages.clean.html import extract

            page = extract(source.text)
            extractor = page.extractor
            decision = classify(page.blocks, from_extractor=extractor == "trafilatura", known_title=page.title,
                                known_author=page.metadata.get("author", ""))
            record.declared_language = page.declared_language
            record.url = page.url
            record.metadata = dict(page.metadata)
        else:
            lines = source.text.count("\n") + 1
            if lines > MAX_LINES:  # memory grows with the lines: a log or a data file, not a page
                raise InputError("too_many_lines", f"{lines} lines is over the limit of {MAX_LINES} for one page")
            decision = text_decision(source.text, self.explain, template_lines)
            templates.apply(decision, template_lines)
        kept = [b.text for b in decision.blocks if b.reason is None]
        removed = [b for b in decision.blocks if b.reason and b.reason != "title"]
        record.title = decision.title
        record.text = join_paragraphs(kept)
        record.removed = [{"text": b.text, "reason": b.reason} for b in removed]
        if source.format == "html":
            from pipeline.stages.clean.html import dropped_by_extractor

            record.removed += dropped_by_extractor(source.text, page, record.title)
        dropped = len(record.removed) - len(removed)
        record.report = {"blocks": len(decision.blocks) + dropped, "kept": len(kept), "removed": len(record.removed),
                         "removed_by_reason": dict(Counter(r["reason"] for r in record.removed).most_common()),
                         "language_guess": decision.language,
                         "chars_in": len(source.text), "chars_kept": len(record.text)}
        if extractor:
            record.report["extractor"] = extractor
            record.report["extractor_dropped"] = dropped
        if self.context.declared_language:  # --declared-lang: what the pages claim, over their own markup
            record.declared_language = self.context.declared_language
        if self.explain:
            record.report["explain"] = explain_blocks(decision)
        if source.notes:
            record.report["input_notes"] = list(source.notes)
        for doubt in source.doubts:
            record.degrade(doubt)
        if not record.text.strip():
            record.fail("no_article_text", "no article text left after removing page furniture")
        return record
