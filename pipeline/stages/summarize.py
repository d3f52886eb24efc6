"""summarize: a structured summary with key points, every claim traced to source sentences.

Extractive (no model, any language with a stopword list): sentences scored by their
similarity to the document centroid and to the title, with a prior for the lead, picked
with maximal marginal relevance so that the summary does not repeat itself. Abstractive
(a BART-class model named in models.yaml): generate, map-reduce over sentence-aligned
chunks when the text is longer than the model's input, and trace each generated sentence
back to the source sentences that support it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from pipeline.config import SummarizeConfig
from pipeline.errors import ModelUnavailable
from pipeline.models import ModelRegistry, Seq2SeqModel
from pipeline.records import SummaryRecord, TranslateRecord
from pipeline.text import split_paragraphs, split_sentences, stopwords, words

SUPPORT_THRESHOLD = 0.35  # below this overlap a generated sentence counts as unsupported
MMR_LAMBDA = 0.7


@dataclass
class Sentence:
    id: int
    paragraph: int
    text: str
    terms: Counter


def source_sentences(text: str, language: str) -> list[Sentence]:
    stop = stopwords(language)
    out = []
    for p, paragraph in enumerate(split_paragraphs(text)):
        for sentence in split_sentences(paragraph, language):
            terms = Counter(w for w in words(sentence) if w not in stop and len(w) > 1)
            out.append(Sentence(len(out), p, sentence, terms))
    return out


def _cosine(a: Counter, b: Counter, weight: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(a[t] * b[t] * weight.get(t, 1.0) ** 2 for t in a.keys() & b.keys())
    na = math.sqrt(sum((c * weight.get(t, 1.0)) ** 2 for t, c in a.items()))
    nb = math.sqrt(sum((c * weight.get(t, 1.0)) ** 2 for t, c in b.items()))
    return dot / (na * nb) if na and nb else 0.0


def _is_summary_candidate(sentence: Sentence) -> bool:
    n = len(sentence.text.split())
    return 6 <= n <= 60 and sentence.text.rstrip()[-1:] in ".!?\"'»”)"


def rank_sentences(sentences: list[Sentence], title: str, language: str) -> list[tuple[int, float]]:
    """Relevance of each sentence: centroid + title similarity + lead prior."""
    n = len(sentences)
    df = Counter(t for s in sentences for t in s.terms)
    idf = {t: math.log(1 + n / d) for t, d in df.items()}
    centroid = Counter()
    for s in sentences:
        centroid.update(s.terms)
    stop = stopwords(language)
    title_terms = Counter(w for w in words(title) if w not in stop and len(w) > 1)
    scores = []
    for s in sentences:
        relevance = _cosine(s.terms, centroid, idf)
        relevance += 0.5 * _cosine(s.terms, title_terms, idf)
        relevance += 0.3 / (1 + s.id)  # the lead of a news story carries its news
        if not _is_summary_candidate(s):
            relevance *= 0.3
        scores.append((s.id, relevance))
    return scores


def select_mmr(sentences: list[Sentence], scores: list[tuple[int, float]], k: int, exclude: set[int] = frozenset()) -> list[int]:
    df = Counter(t for s in sentences for t in s.terms)
    idf = {t: math.log(1 + len(sentences) / d) for t, d in df.items()}
    relevance = dict(scores)
    chosen: list[int] = []
    candidates = [i for i, _ in sorted(scores, key=lambda x: -x[1]) if i not in exclude]
    while candidates and len(chosen) < k:
        def mmr(i: int) -> float:
            redundancy = max((_cosine(sentences[i].terms, sentences[j].terms, idf) for j in chosen), default=0.0)
            return MMR_LAMBDA * relevance[i] - (1 - MMR_LAMBDA) * redundancy
        best = max(candidates, key=mmr)
        chosen.append(best)
        candidates.remove(best)
    return chosen


def support(generated: str, sentences: list[Sentence], language: str) -> list[dict]:
    """Source sentences that support a generated sentence, by share of its content words they hold."""
    stop = stopwords(language)
    terms = {w for w in words(generated) if w not in stop and len(w) > 1}
    if not terms:
        return []
    scored = []
    for s in sentences:
        overlap = len(terms & set(s.terms)) / len(terms)
        if overlap > 0:
            scored.append({"id": s.id, "score": round(overlap, 4)})
    scored.sort(key=lambda x: (-x["score"], x["id"]))
    return scored[:3]


def _provenance(kind: str, index: int, text: str, sources: list[dict]) -> dict:
    best = sources[0]["score"] if sources else 0.0
    return {"kind": kind, "index": index, "text": text, "sources": sources,
            "unsupported": best < SUPPORT_THRESHOLD}


class SummarizeStage:
    """TranslateRecords in (a batch), SummaryRecords out."""

    name = "summarize"

    def __init__(self, config: SummarizeConfig, registry: ModelRegistry):
        self.config = config
        self.registry = registry

    def __call__(self, records: list[TranslateRecord]) -> list[SummaryRecord]:
        model, model_problem = None, None
        if self.config.method in ("auto", "abstractive") and self.config.model is not None:
            try:
                model = self.registry.get(self.config.model, "summarize.model")
            except ModelUnavailable as exc:
                model_problem = str(exc)
        outputs = []
        for record in records:
            language = record.target_language if record.translated else record.source_language
            out = SummaryRecord(doc_id=record.doc_id, language=language, title=record.title,
                                length={"sentences": self.config.sentences, "key_points": self.config.key_points})
            sentences = source_sentences(record.text, language)
            out.sentences = [{"id": s.id, "paragraph": s.paragraph, "text": s.text} for s in sentences]
            if not sentences:
                out.fail("no_text", "nothing to summarize")
                outputs.append(out)
                continue
            self._extractive(out, sentences, record.title, language)
            if model is not None and language == "en":
                self._abstractive(out, model, sentences, language)
            elif model_problem:
                out.degrade(f"abstractive summarizer unavailable, extractive summary made instead: {model_problem}")
            elif model is not None:
                out.report["abstractive_skipped"] = f"text is in '{language}', the summarizer reads English"
            outputs.append(out)
        return outputs

    def _extractive(self, out: SummaryRecord, sentences: list[Sentence], title: str, language: str) -> None:
        scores = rank_sentences(sentences, title, language)
        chosen = sorted(select_mmr(sentences, scores, self.config.sentences))
        out.summary = " ".join(sentences[i].text for i in chosen)
        points = select_mmr(sentences, scores, self.config.key_points, exclude=set(chosen))
        if len(points) < 3:
            points = select_mmr(sentences, scores, self.config.key_points)
        out.key_points = [sentences[i].text for i in points]
        out.method = "extractive"
        out.model = None
        out.provenance = (
            [_provenance("summary", n, sentences[i].text, [{"id": i, "score": 1.0}]) for n, i in enumerate(chosen)]
            + [_provenance("key_point", n, sentences[i].text, [{"id": i, "score": 1.0}]) for n, i in enumerate(points)])
        out.report = {"method": "extractive", "source_sentences": len(sentences)}

    def _abstractive(self, out: SummaryRecord, model: Seq2SeqModel, sentences: list[Sentence], language: str) -> None:
        chunks = self._chunks([s.text for s in sentences], model)
        path = "single" if len(chunks) == 1 else "map_reduce"
        rounds = 0
        while True:
            rounds += 1
            partial = []
            for start in range(0, len(chunks), self.config.batch_size):
                partial.extend(model.generate(chunks[start:start + self.config.batch_size])[0])
            if len(partial) == 1:
                break
            merged = self._chunks(partial, model)
            if len(merged) >= len(chunks) or rounds >= 5:
                # The chunk summaries do not shrink: keep them rather than loop.
                out.report["reduce_converged"] = False
                partial = [" ".join(partial)]
                break
            chunks = merged
        generated = split_sentences(partial[0], "en")[:4]
        out.summary = " ".join(generated)
        out.method = "abstractive"
        out.model = model.ident
        key_point_provenance = [p for p in out.provenance if p["kind"] == "key_point"]
        out.provenance = [_provenance("summary", n, s, support(s, sentences, language)) for n, s in enumerate(generated)]
        out.provenance += key_point_provenance
        out.report = {**out.report, "method": "abstractive", "path": path, "rounds": rounds,
                      "source_sentences": len(sentences),
                      "unsupported_sentences": sum(p["unsupported"] for p in out.provenance if p["kind"] == "summary")}

    @staticmethod
    def _chunks(texts: list[str], model: Seq2SeqModel) -> list[str]:
        """Sentence-aligned chunks that each fit the model's input limit."""
        limit = model.max_input_tokens
        chunks, current = [], ""
        for text in texts:
            candidate = f"{current} {text}".strip()
            if current and model.count_tokens(candidate) > limit:
                chunks.append(current)
                current = text
            else:
                current = candidate
            while model.count_tokens(current) > limit and " " in current:
                # One sentence over the limit: cut between words rather than truncate.
                cut = current.split(" ")
                half = max(1, len(cut) // 2)
                chunks.append(" ".join(cut[:half]))
                current = " ".join(cut[half:])
        if current:
            chunks.append(current)
        return chunks
