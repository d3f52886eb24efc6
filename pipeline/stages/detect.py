"""detect: the language of the document and of each paragraph.

The document language is the weight of evidence across paragraphs (characters times
confidence), not one call on the concatenated text, so one paragraph that a detector
mistakes for a neighbour language cannot flip the document. What the page declares is
recorded beside it, never trusted over the content.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pipeline.config import DetectConfig
from pipeline.records import CleanRecord, DetectRecord
from pipeline.text import split_paragraphs

UNDETERMINED = "und"
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")
MIXED_MIN_SHARE = 0.1  # a second language must hold this share of the text to call it mixed


def _normalise_code(code: str) -> str:
    """langdetect's codes to ISO 639-1 (zh-cn → zh)."""
    return code.split("-")[0].lower()


class LangdetectBackend:
    """langdetect, seeded so that the same text gives the same answer in every process."""

    def __init__(self, seed: int = 0):
        from langdetect import DetectorFactory

        DetectorFactory.seed = seed
        self.seed = seed

    def detect(self, text: str) -> list[tuple[str, float]]:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = self.seed
        try:
            return [(_normalise_code(r.lang), float(r.prob)) for r in detect_langs(text)]
        except LangDetectException:
            return []


def letters(text: str) -> int:
    return len(_LETTER.findall(_URL.sub(" ", text)))


class DetectStage:
    """CleanRecord in, DetectRecord out."""

    name = "detect"

    def __init__(self, config: DetectConfig, declared_override: str | None = None):
        self.config = config
        self.backend = LangdetectBackend(config.seed)
        self.declared_override = declared_override

    def __call__(self, clean: CleanRecord) -> DetectRecord:
        paragraphs = split_paragraphs(clean.text)
        record = DetectRecord(doc_id=clean.doc_id, title=clean.title, text=clean.text)
        record.declared_language = self.declared_override or clean.declared_language
        weights: dict[str, float] = defaultdict(float)
        results = []
        budget = self.config.sample_chars
        for index, paragraph in enumerate(paragraphs):
            n_letters = letters(paragraph)
            if n_letters == 0:
                results.append({"index": index, "language": UNDETERMINED, "confidence": 0.0,
                                "chars": len(paragraph), "basis": "no_letters"})
                continue
            if budget <= 0:  # the sample already decided; the rest inherits the document language
                results.append({"index": index, "language": None, "confidence": 0.0,
                                "chars": len(paragraph), "basis": "beyond_sample"})
                continue
            budget -= len(paragraph)
            guesses = self.backend.detect(paragraph)
            lang, prob = guesses[0] if guesses else (UNDETERMINED, 0.0)
            short = n_letters < self.config.min_chars
            results.append({"index": index, "language": lang, "confidence": round(prob, 4),
                            "chars": len(paragraph), "basis": "short" if short else "detected"})
            if not short and lang != UNDETERMINED:
                weights[lang] += n_letters * prob
        total = sum(weights.values())
        if total == 0:
            # Only short paragraphs: one call on all of them is the best evidence left.
            joined = " ".join(p for p in paragraphs if letters(p))
            guesses = self.backend.detect(joined) if letters(joined) else []
            if guesses:
                weights[guesses[0][0]] = guesses[0][1]
                total = guesses[0][1]
        if total:
            language = max(sorted(weights), key=weights.get)
            record.language = language
            record.confidence = round(weights[language] / total, 4)
            record.shares = {lang: round(w / total, 4) for lang, w in sorted(weights.items(), key=lambda kv: -kv[1])}
        for result in results:
            if result["language"] is None or (result["basis"] == "short" and result["language"] != record.language):
                # Too short (or not sampled) to trust on its own: inherit, with low confidence.
                result["language"] = record.language
                result["confidence"] = round(min(result["confidence"], 0.5), 4) if result["basis"] == "short" else 0.0
                result["inherited"] = True
        record.paragraphs = results
        record.mixed = sum(1 for share in record.shares.values() if share >= MIXED_MIN_SHARE) > 1
        declared = record.declared_language
        record.declaration_disagrees = bool(declared and record.language != UNDETERMINED and declared != record.language)
        record.report = {"backend": "langdetect", "paragraphs": len(paragraphs),
                         "declared_language": declared, "declaration_disagrees": record.declaration_disagrees}
        if record.language == UNDETERMINED:
            record.degrade("language undetermined: no paragraph has enough letters")
        return record
