"""translate: bring non-English documents to English with the models named in models.yaml.

Each paragraph is split into sentences (pysbd, language-aware), consecutive sentences are
packed into segments that fit the model's input limit as its own tokenizer counts it, and
a sentence longer than the limit is split at clause boundaries, then between words (the
segment says so). Nothing is truncated silently: segments are contiguous slices of the
paragraph, so together they hold every character of it.

Paragraph n of the output is the translation of paragraph n of the input; the title is
translated on its own. In a document being translated, a paragraph that detect found
(confidently) in another language goes to that language's model, and one already in the
target language is kept as it is.

Segments of all documents of a batch that share a model are translated together, sorted
by length; a SQLite cache (keyed by model, revision, settings, language and text) means
no segment is translated twice, across documents and across runs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from pipeline.config import Config, ModelSpec
from pipeline.errors import ModelUnavailable
from pipeline.models.loading import Seq2SeqModel
from pipeline.models.registry import ModelRegistry
from pipeline.records import CleanRecord, DetectRecord, Record, TranslateRecord
from pipeline.stages.base import MODEL, Stage, StageContext
from pipeline.stages.translate.cache import TranslationCache, cache_key
from pipeline.text import join_paragraphs, split_paragraphs, split_sentences

UNDETERMINED = "und"
TITLE = -1  # the paragraph index of the title in segments
# A paragraph is routed by its own language only when detect was this sure of it on its own
# text; below, it follows the document (short or ambiguous paragraphs are often misread).
PARAGRAPH_CONFIDENCE = 0.9

Span = tuple[int, int]


@cache
def clause_punctuation() -> frozenset[str]:
    text = resources.files("pipeline.resources").joinpath("translate/clause_breaks.json").read_text("utf-8")
    return frozenset(json.loads(text)["punctuation"])


def _trim(text: str, span: Span) -> Span | None:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def sentence_spans(paragraph: str, language: str) -> list[Span]:
    """The sentences of a paragraph as (start, end) offsets into it, covering all its text.

    The splitter returns sentence strings; they are laid back onto the paragraph by
    counting non-space characters, so a splitter that changes white space cannot make a
    sentence go missing, and any text it dropped joins the last sentence.
    """
    spans: list[Span] = []
    pos, n = 0, len(paragraph)
    for sentence in split_sentences(paragraph, language):
        need = sum(1 for ch in sentence if not ch.isspace())
        while pos < n and paragraph[pos].isspace():
            pos += 1
        start = pos
        while need and pos < n:
            if not paragraph[pos].isspace():
                need -= 1
            pos += 1
        if pos > start:
            spans.append((start, pos))
    if paragraph[pos:].strip():
        if spans:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((0, n))
    # A boundary with no space at it (a closing quote the splitter gave to the next sentence)
    # moves to the next space, so that no segment starts or ends inside a word.
    merged: list[Span] = []
    for start, end in spans:
        if merged and start == merged[-1][1]:
            space = next((i for i in range(start, end) if paragraph[i].isspace()), end)
            merged[-1] = (merged[-1][0], space)
            if space == end:
                continue
            start = space
        merged.append((start, end))
    return [t for s in merged if (t := _trim(paragraph, s))]


def _pack(text: str, pieces: list[Span], fits: Callable[[Span], bool]) -> list[Span]:
    """Consecutive pieces merged greedily while the merge fits."""
    out: list[Span] = []
    for piece in pieces:
        if out and fits((out[-1][0], piece[1])):
            out[-1] = (out[-1][0], piece[1])
        else:
            out.append(piece)
    return out


def _cut(text: str, span: Span, after: Callable[[int], bool]) -> list[Span]:
    """A span cut where white space follows a position that `after` accepts."""
    start, end = span
    pieces, piece_start = [], start
    for i in range(start, end - 1):
        if text[i + 1].isspace() and not text[i].isspace() and after(i):
            pieces.append((piece_start, i + 1))
            piece_start = i + 1
    pieces.append((piece_start, end))
    return [t for p in pieces if (t := _trim(text, p))]


def split_to_fit(text: str, span: Span, fits: Callable[[Span], bool], level: int = 0) -> list[Span]:
    """Split a span that does not fit: at clause punctuation, then between words, then by characters."""
    if level == 0:
        punctuation = clause_punctuation()
        pieces = _cut(text, span, lambda i: text[i] in punctuation)
    elif level == 1:
        pieces = _cut(text, span, lambda i: True)
    else:
        return _split_characters(text, span, fits)
    if len(pieces) <= 1:
        return split_to_fit(text, span, fits, level + 1)
    out: list[Span] = []
    for piece in _pack(text, pieces, fits):
        out.extend([piece] if fits(piece) else split_to_fit(text, piece, fits, level + 1))
    return out


def _split_characters(text: str, span: Span, fits: Callable[[Span], bool]) -> list[Span]:
    """One unbroken run longer than the limit (a URL, a table row): the longest prefixes that fit."""
    start, end = span
    out = []
    while start < end:
        lo, hi = start + 1, end  # find the longest [start, m) that fits; at least one character
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits((start, mid)):
                lo = mid
            else:
                hi = mid - 1
        out.append((start, lo))
        start = lo
    return out


def pack_segments(paragraph: str, language: str, model: Seq2SeqModel) -> list[tuple[Span, bool, int]]:
    """Consecutive sentences packed into segments under the model's input limit.

    Returns (span, was_split, tokens) for each segment: spans are contiguous slices of the
    paragraph, so no sentence is lost; `was_split` marks the pieces of a sentence that was
    longer than the limit on its own.
    """
    limit = model.max_input_tokens
    counts: dict[Span, int] = {}

    def tokens(span: Span) -> int:
        if span not in counts:
            counts[span] = model.count_tokens(paragraph[span[0]:span[1]], language)
        return counts[span]

    def fits(span: Span) -> bool:
        return tokens(span) <= limit

    segments: list[tuple[Span, bool]] = []
    current: Span | None = None
    for sentence in sentence_spans(paragraph, language):
        if current is not None and fits((current[0], sentence[1])):
            current = (current[0], sentence[1])
            continue
        if current is not None:
            segments.append((current, False))
            current = None
        if fits(sentence):
            current = sentence
        else:
            segments.extend((piece, True) for piece in split_to_fit(paragraph, sentence, fits))
    if current is not None:
        segments.append((current, False))
    return [(span, split, tokens(span)) for span, split in segments]


@dataclass
class Segment:
    doc: int  # index of the document in the batch
    paragraph: int  # TITLE for the title
    span: Span  # offsets in the paragraph (or title)
    source: str
    language: str
    split_sentence: bool = False
    tokens: int = 0
    target: str = ""
    capped: bool = False
    cached: bool = False
    model: Seq2SeqModel | None = None  # None: kept as it is (already in the target language)


@dataclass
class _Unit:
    """A paragraph or the title of one document, and where it goes."""

    doc: int
    paragraph: int
    text: str
    language: str
    route: str | None = None  # ModelSpec.key() of its model; None when kept or untranslated
    problem: str | None = None  # why it stays untranslated
    segments: list[Segment] = field(default_factory=list)


class TranslateStage(Stage):
    """DetectRecords in (a batch), TranslateRecords out."""

    name = "translate"
    record = TranslateRecord
    consumes = "detect"
    section = "translate"
    options = ("device",)

    def __init__(self, context: StageContext, models: ModelRegistry | None = None):
        super().__init__(context, models)
        config = self.config = context.config.translate
        self.registry = models if models is not None else ModelRegistry(context.config)
        workspace = context.workspace
        cache_path = config.cache_path or (workspace.translation_cache_path() if workspace is not None else None)
        self.cache = TranslationCache(cache_path) if config.cache and cache_path else None
        self.generate_calls = 0  # batches sent to a model (the cache's saving shows here)

    @classmethod
    def kind(cls, config: Config) -> str:
        return MODEL

    @classmethod
    def settings(cls, context: StageContext) -> dict:
        from pipeline.resources import digest

        return {"resources": digest("translate")}  # where long sentences are cut, which checks run

    @classmethod
    def environment(cls, context: StageContext) -> str:
        from pipeline.models.store import presence

        config = context.config.translate
        return presence([*config.models.values(), *([config.fallback] if config.fallback else [])], context.config)

    @classmethod
    def take(cls, record: Record) -> DetectRecord:
        """Without detect, a document's language is undetermined: it is left untranslated, and says so."""
        if isinstance(record, CleanRecord):
            return DetectRecord(doc_id=record.doc_id, title=record.title, text=record.text,
                                declared_language=record.declared_language)
        return record

    def route(self, language: str) -> tuple[ModelSpec | None, str]:
        if language in self.config.models:
            return self.config.models[language], f"translate.models.{language}"
        if self.config.fallback is not None:
            return self.config.fallback, "translate.fallback"
        return None, ""

    def paragraph_languages(self, record: DetectRecord, count: int) -> list[str]:
        """The language of each paragraph: the document's, unless detect was sure of another."""
        languages = [record.language] * count
        if not self.config.paragraph_languages:
            return languages
        for info in record.paragraphs or []:
            index, language = info.get("index"), info.get("language")
            if (isinstance(index, int) and 0 <= index < count and language and language != UNDETERMINED
                    and info.get("basis") == "detected" and not info.get("inherited")
                    and float(info.get("confidence") or 0) >= PARAGRAPH_CONFIDENCE):
                languages[index] = language
        return languages

    def __call__(self, records: list[DetectRecord]) -> list[TranslateRecord]:
        outputs = [TranslateRecord(doc_id=r.doc_id, source_language=r.language,
                                   target_language=self.config.target, title=r.title, text=r.text)
                   for r in records]
        target = self.config.target
        units: dict[int, list[_Unit]] = {}
        routes: dict[str, tuple[ModelSpec, str]] = {}
        for i, (record, out) in enumerate(zip(records, outputs, strict=True)):
            language = record.language
            if language == target:
                out.report = {"action": "passthrough", "reason": f"already {language}"}
                continue
            if language == UNDETERMINED:
                out.report = {"action": "untranslated", "reason": "language undetermined"}
                out.degrade("language undetermined: left untranslated")
                continue
            spec, role = self.route(language)
            if spec is None:
                out.report = {"action": "untranslated", "reason": f"no model for {language} and no fallback"}
                out.degrade(f"no translation model for '{language}' in models.yaml (translate.models.{language}) "
                            "and no translate.fallback: left untranslated")
                continue
            paragraphs = split_paragraphs(record.text)
            doc_units = [_Unit(i, TITLE, record.title.strip(), language)] if record.title.strip() else []
            doc_units += [_Unit(i, p, text, lang) for p, (text, lang)
                          in enumerate(zip(paragraphs, self.paragraph_languages(record, len(paragraphs)), strict=True))]
            for unit in doc_units:
                if unit.language == target:
                    continue
                unit_spec, unit_role = (spec, role) if unit.language == language else self.route(unit.language)
                if unit_spec is None:
                    unit.problem = f"no model for '{unit.language}'"
                    continue
                unit.route = unit_spec.key()
                routes[unit.route] = (unit_spec, unit_role)
            units[i] = doc_units

        models: dict[str, Seq2SeqModel] = {}
        problems: dict[str, str] = {}
        for key, (spec, role) in routes.items():
            try:
                models[key] = self.registry.get(spec, role, lazy=True)
            except ModelUnavailable as exc:
                problems[key] = str(exc)

        # A document whose own language cannot be translated stays whole in its language.
        for i in list(units):
            main = self.route(records[i].language)[0].key()
            if main in problems or not models[main].supports(records[i].language):
                reason = problems.get(main) or (f"{models[main].spec.model} has no language code for "
                                                f"'{records[i].language}'")
                outputs[i].report = {"action": "untranslated", "reason": "model unavailable"}
                outputs[i].degrade(reason)
                del units[i]

        for doc_units in units.values():
            for unit in doc_units:
                self._segment(unit, models, problems)
        all_segments = [s for doc_units in units.values() for u in doc_units for s in u.segments]
        failed = self._translate(all_segments)
        for i, doc_units in units.items():
            self._assemble(records[i], outputs[i], doc_units, failed)
        return outputs

    def _segment(self, unit: _Unit, models: dict[str, Seq2SeqModel], problems: dict[str, str]) -> None:
        if unit.route is None:
            if unit.problem is None:  # already in the target language: kept, one segment per paragraph
                unit.segments = [Segment(unit.doc, unit.paragraph, (0, len(unit.text)), unit.text, unit.language,
                                         target=unit.text)]
            return
        if unit.route in problems:
            unit.problem = problems[unit.route]
            unit.route = None
            return
        model = models[unit.route]
        if not model.supports(unit.language):
            unit.problem = f"{model.spec.model} has no language code for '{unit.language}'"
            unit.route = None
            return
        unit.segments = [Segment(unit.doc, unit.paragraph, span, unit.text[span[0]:span[1]], unit.language,
                                 split_sentence=split, tokens=tokens, model=model)
                         for span, split, tokens in pack_segments(unit.text, unit.language, model)]

    def _translate(self, segments: list[Segment]) -> dict[str, str]:
        """Fill in every segment's target: from the cache, else from its model. Returns model failures."""
        pending: dict[tuple[str, str | None], dict[str, list[Segment]]] = {}
        for segment in segments:
            if segment.model is None:
                continue
            model = segment.model
            # A multilingual model is told the source language per batch: batch by language too.
            group = (model.spec.key(), segment.language if model.tags.kind else None)
            key = cache_key(model.cache_identity, group[1], segment.source)
            pending.setdefault(group, {}).setdefault(key, []).append(segment)
        failed: dict[str, str] = {}
        for (model_key, language), by_key in pending.items():
            model = next(iter(by_key.values()))[0].model
            if self.cache is not None:
                for key, hit in self.cache.get_many(list(by_key)).items():
                    for segment in by_key.pop(key):
                        segment.target, segment.capped, segment.cached = hit.target, hit.capped, True
            # Identical segments are translated once; similar lengths go together to waste no padding.
            order = sorted(by_key, key=lambda k: by_key[k][0].tokens)
            size = self.config.batch_size
            for start in range(0, len(order), size):
                keys = order[start:start + size]
                sources = [by_key[k][0].source for k in keys]
                try:
                    targets, capped = model.generate(sources, source_language=language)
                except ModelUnavailable as exc:
                    failed[model_key] = str(exc)
                    break
                self.generate_calls += 1
                rows = []
                for key, source, target, cap in zip(keys, sources, targets, capped, strict=True):
                    for segment in by_key[key]:
                        segment.target, segment.capped = target, cap
                    rows.append((key, model.spec.model, language, source, target, cap))
                if self.cache is not None:
                    self.cache.put_many(rows)  # batch by batch: an interrupted run keeps what it did
        return failed

    def _assemble(self, record: DetectRecord, out: TranslateRecord, units: list[_Unit], failed: dict[str, str]) -> None:
        language = record.language
        main_key = self.route(language)[0].key()
        if main_key in failed:
            out.report = {"action": "untranslated", "reason": "model unavailable"}
            out.degrade(failed[main_key])
            return
        paragraphs: list[str] = []
        title = record.title
        segments: list[Segment] = []
        kept, untranslated, empty = [], [], []
        for unit in units:
            if unit.route in failed:
                unit.problem, unit.route, unit.segments = failed[unit.route], None, []
            if unit.problem is not None:
                untranslated.append(unit)
                text = unit.text
            elif unit.route is None:
                kept.append(unit.paragraph)
                text = unit.text
            else:
                # One line per paragraph: a blank line inside a translation would shift paragraphs.
                text = " ".join(" ".join(s.target.split()) for s in unit.segments if s.target.strip())
                if not text:
                    empty.append(unit.paragraph)
                    text = unit.text
            segments.extend(unit.segments)
            if unit.paragraph == TITLE:
                title = text
            else:
                paragraphs.append(text)
        out.title = title
        out.text = join_paragraphs(paragraphs)
        out.translated = True
        main = next((s.model for s in segments if s.model is not None and s.model.spec.key() == main_key), None)
        out.model = main.ident if main is not None else self.registry.get(self.route(language)[0],
                                                                          self.route(language)[1], lazy=True).ident
        out.segments = [{"paragraph": s.paragraph, "span": list(s.span), "language": s.language,
                         "source": s.source, "target": s.target,
                         "model": s.model.spec.model if s.model is not None else None,
                         "split_sentence": s.split_sentence, "output_capped": s.capped, "cached": s.cached}
                        for s in segments]
        used = Counter(s.model.spec.model for s in segments if s.model is not None)
        out.report = {"action": "translated", "segments": len(segments),
                      "translated_segments": sum(1 for s in segments if s.model is not None and not s.cached),
                      "cached_segments": sum(1 for s in segments if s.cached),
                      "split_sentences": sum(s.split_sentence for s in segments),
                      "max_input_tokens": main.max_input_tokens if main is not None else None,
                      "models": dict(used)}
        if kept:
            out.report["kept_paragraphs"] = kept
        if any(s.split_sentence for s in segments):
            out.report["note"] = ("sentences longer than the model's input limit were split at clause "
                                  "boundaries (segments with split_sentence: true)")
        for unit in untranslated:
            where = "the title" if unit.paragraph == TITLE else f"paragraph {unit.paragraph}"
            out.degrade(f"{where} in '{unit.language}' left untranslated: {unit.problem}")
        for p in empty:
            where = "the title" if p == TITLE else f"paragraph {p}"
            out.degrade(f"{where}: the model returned no text; the source text is kept")
        if any(s.capped for s in segments):
            out.degrade("a translation reached the generation length cap and may be cut short")
