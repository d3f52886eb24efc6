"""translate: bring non-English documents to English with the models named in models.yaml.

Each paragraph is split into sentences, consecutive sentences are packed into segments
that fit the model's input limit as its own tokenizer counts it, and a sentence longer
than the limit is split at clause boundaries (the record says so). Nothing is truncated
silently. Segments of all documents of a batch that share a model are translated together,
sorted by length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config import ModelSpec, TranslateConfig
from pipeline.errors import ModelUnavailable
from pipeline.models import ModelRegistry, Seq2SeqModel
from pipeline.records import DetectRecord, TranslateRecord
from pipeline.text import join_paragraphs, split_paragraphs, split_sentences

UNDETERMINED = "und"
_CLAUSE_BREAK = re.compile(r"(?<=[,;:–—])\s+")


@dataclass
class Segment:
    doc: int  # index of the document in the batch
    paragraph: int  # -1 for the title
    source: str
    split_sentence: bool = False
    target: str = ""
    capped: bool = False


def _split_long(sentence: str, fits) -> list[str]:
    """Split a sentence that does not fit: at clause boundaries, then between words."""
    pieces = [p for p in _CLAUSE_BREAK.split(sentence) if p]
    if len(pieces) == 1:
        pieces = sentence.split(" ")
        if len(pieces) == 1:  # one unbroken token run: cut by characters
            size = max(1, len(sentence) // 2)
            pieces = [sentence[:size], sentence[size:]]
    out: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}".strip()
        if current and not fits(candidate):
            out.append(current)
            current = piece
        else:
            current = candidate
    if current:
        out.append(current)
    result = []
    for part in out:
        result.extend([part] if fits(part) or part == sentence else _split_long(part, fits))
    return result


def pack_segments(paragraph: str, language: str, model: Seq2SeqModel) -> list[tuple[str, bool]]:
    """Consecutive sentences packed into segments under the model's input limit.

    Returns (segment, was_split) pairs; joining the segments with spaces gives the
    paragraph's sentences back, none lost.
    """
    limit = model.max_input_tokens

    def fits(text: str) -> bool:
        return model.count_tokens(text) <= limit

    segments: list[tuple[str, bool]] = []
    current = ""
    for sentence in split_sentences(paragraph, language):
        candidate = f"{current} {sentence}".strip()
        if fits(candidate):
            current = candidate
            continue
        if current:
            segments.append((current, False))
            current = ""
        if fits(sentence):
            current = sentence
        else:
            segments.extend((piece, True) for piece in _split_long(sentence, fits))
    if current:
        segments.append((current, False))
    return segments


class TranslateStage:
    """DetectRecords in (a batch), TranslateRecords out."""

    name = "translate"

    def __init__(self, config: TranslateConfig, registry: ModelRegistry):
        self.config = config
        self.registry = registry

    def route(self, language: str) -> tuple[ModelSpec | None, str]:
        if language in self.config.models:
            return self.config.models[language], f"translate.models.{language}"
        if self.config.fallback is not None:
            return self.config.fallback, "translate.fallback"
        return None, ""

    def __call__(self, records: list[DetectRecord]) -> list[TranslateRecord]:
        outputs = [TranslateRecord(doc_id=r.doc_id, source_language=r.language,
                                   target_language=self.config.target, title=r.title, text=r.text)
                   for r in records]
        by_model: dict[str, list[int]] = {}
        specs: dict[str, tuple[ModelSpec, str]] = {}
        for i, (record, out) in enumerate(zip(records, outputs, strict=False)):
            language = record.language
            if language == self.config.target:
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
            by_model.setdefault(spec.key(), []).append(i)
            specs[spec.key()] = (spec, role)
        for key, indexes in by_model.items():
            spec, role = specs[key]
            try:
                model = self.registry.get(spec, role)
            except ModelUnavailable as exc:
                for i in indexes:
                    outputs[i].report = {"action": "untranslated", "reason": "model unavailable"}
                    outputs[i].degrade(str(exc))
                continue
            self._translate_with(model, [records[i] for i in indexes], [outputs[i] for i in indexes])
        return outputs

    def _translate_with(self, model: Seq2SeqModel, records: list[DetectRecord], outputs: list[TranslateRecord]) -> None:
        segments: list[Segment] = []
        for doc, record in enumerate(records):
            if record.title:
                segments.extend(Segment(doc, -1, s, split) for s, split in pack_segments(record.title, record.language, model))
            for p, paragraph in enumerate(split_paragraphs(record.text)):
                segments.extend(Segment(doc, p, s, split) for s, split in pack_segments(paragraph, record.language, model))
        order = sorted(range(len(segments)), key=lambda i: len(segments[i].source))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            batch = [segments[i] for i in order[start:start + size]]
            targets, capped = model.generate([s.source for s in batch])
            for segment, target, cap in zip(batch, targets, capped, strict=False):
                segment.target, segment.capped = target, cap
        for doc, (record, out) in enumerate(zip(records, outputs, strict=False)):
            mine = [s for s in segments if s.doc == doc]
            paragraphs: dict[int, list[str]] = {}
            for s in mine:
                paragraphs.setdefault(s.paragraph, []).append(s.target)
            n_paragraphs = len(split_paragraphs(record.text))
            out.title = " ".join(paragraphs.get(-1, [])) if record.title else ""
            out.text = join_paragraphs([" ".join(paragraphs.get(p, [])) for p in range(n_paragraphs)])
            out.translated = True
            out.model = model.ident
            out.segments = [{"paragraph": s.paragraph, "source": s.source, "target": s.target,
                             "model": model.spec.model, "split_sentence": s.split_sentence,
                             "output_capped": s.capped} for s in mine]
            out.report = {"action": "translated", "segments": len(mine),
                          "split_sentences": sum(s.split_sentence for s in mine),
                          "max_input_tokens": model.max_input_tokens}
            if any(s.capped for s in mine):
                out.degrade("a translation reached the generation length cap and may be cut short")
