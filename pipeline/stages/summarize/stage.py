"""summarize: a structured summary with key points, every claim traced to source sentences.

Extractive (no model, any language with a stopword list): each sentence is scored by its
similarity to the document centroid, its similarity to the title, how much of what follows
it elaborates on it (a forward graph centrality: news sentences are explained by the ones
after them), and a prior for the lead; the summary is picked with maximal marginal
relevance so that it does not repeat itself, and its sentences are source sentences,
verbatim. Key points are the next most informative sentences, cut to their main clause
where that is safe.

Abstractive (a BART-class model named in models.yaml, English text): generate; when the
text is longer than the model's input, summarize sentence-aligned chunks and then the
concatenated chunk summaries (map-reduce), never truncating. Each generated sentence is
traced back to the source sentences that hold its words and figures, and flagged
`unsupported` when they do not.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from pipeline.config import Config
from pipeline.errors import ModelUnavailable
from pipeline.models.loading import Seq2SeqModel
from pipeline.models.registry import ModelRegistry
from pipeline.records import DetectRecord, Record, SummaryRecord, TranslateRecord
from pipeline.stages.base import CPU, MODEL, Stage, StageContext
from pipeline.stages.summarize import extractive
from pipeline.stages.summarize.extractive import cosine, idf_weights, tfidf_vector
from pipeline.stages.summarize.select import fit_sentences
from pipeline.text import head, split_paragraphs, split_sentences, stopwords, words

# Weights of the extractive score, chosen on the English and French evaluation sets in
# bench/data/summarize (see bench/summarize_eval.py); the graph term is what lifts the
# method above lead-3 on stories that do not open with their news.
CENTROID_WEIGHT = 1.0
TITLE_WEIGHT = 0.5
GRAPH_WEIGHT = 0.5
LEAD_WEIGHT = 0.3
NOT_A_CANDIDATE = 0.3  # headings, fragments and run-ons are kept only when nothing else is left
MMR_LAMBDA = 0.7
# A sentence is explained within the next pages, not 1,000 sentences later; the window also
# keeps very long documents linear in time (a news story is well under it).
FORWARD_WINDOW = 150  # relevance against redundancy when picking the next sentence
MAX_REDUCE_ROUNDS = 5
MAX_SOURCES = 3  # supporting sentences listed per generated sentence
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTES = "\"“”«»„"


@dataclass
class Sentence:
    id: int
    paragraph: int
    text: str
    terms: Counter = field(default_factory=Counter)


def content_terms(text: str, language: str) -> Counter:
    stop = stopwords(language)
    return Counter(w for w in words(text) if w not in stop and len(w) > 1)


def source_sentences(text: str, language: str) -> list[Sentence]:
    """The document's sentences, numbered in order; their ids are what provenance points at."""
    out: list[Sentence] = []
    # a sentence glued to the next one without a space is a paragraph break the page lost
    parts = [part for paragraph in split_paragraphs(text) for part in extractive.glued_parts(paragraph)]
    for p, paragraph in enumerate(parts):
        for sentence in split_sentences(paragraph, language):
            out.append(Sentence(len(out), p, sentence, content_terms(sentence, language)))
    return out


def _is_summary_candidate(sentence: Sentence) -> bool:
    """A whole sentence of reasonable length: not a heading, a fragment or a cut-off teaser."""
    text = sentence.text.rstrip()
    n = len(text.split())
    return 6 <= n <= 60 and text[-1:] in ".!?\"'»”)" and not text.endswith(("...", "…"))


def rank_sentences(sentences: list[Sentence], title: str, language: str) -> list[float]:
    """Relevance of each sentence (indexed by id): centroid, title, forward centrality, lead."""
    idf = idf_weights(sentences)
    vectors = [tfidf_vector(s.terms, idf) for s in sentences]
    centroid: Counter = Counter()
    for s in sentences:
        centroid.update(s.terms)
    title_vector = tfidf_vector(content_terms(title, language), idf)
    forward = [0.0] * len(sentences)
    for i in range(len(sentences)):
        for j in range(i + 1, min(len(sentences), i + 1 + FORWARD_WINDOW)):
            forward[i] += cosine(vectors[i], vectors[j])
    top = max(forward, default=0.0) or 1.0
    centroid_vector, centroid_norm = tfidf_vector(centroid, idf)
    scores = []
    for s in sentences:
        # Similarity to the centroid of the other sentences: a sentence is not its own
        # evidence of centrality. (C - s) expanded, so the centroid is built once.
        vector, norm = vectors[s.id]
        dot = sum(w * centroid_vector[t] for t, w in vector.items())
        rest_dot, rest_norm = dot - norm * norm, math.sqrt(max(0.0, centroid_norm ** 2 - 2 * dot + norm * norm))
        to_others = rest_dot / (norm * rest_norm) if norm and rest_norm > 1e-9 else 0.0
        relevance = (CENTROID_WEIGHT * to_others
                     + TITLE_WEIGHT * cosine(vectors[s.id], title_vector)
                     + GRAPH_WEIGHT * forward[s.id] / top
                     + LEAD_WEIGHT / (1 + s.id))  # the lead of a news story carries its news
        if not _is_summary_candidate(s):
            relevance *= NOT_A_CANDIDATE
        scores.append(relevance)
    return scores


def select_mmr(sentences: list[Sentence], scores: list[float], k: int,
               exclude: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """k sentence ids by maximal marginal relevance, best first."""
    idf = idf_weights(sentences)
    vectors = [tfidf_vector(s.terms, idf) for s in sentences]
    redundancy = [0.0] * len(sentences)  # similarity to the closest sentence chosen so far
    chosen: list[int] = []
    candidates = [s.id for s in sentences if s.id not in exclude]
    while candidates and len(chosen) < k:
        best = max(candidates, key=lambda i: (MMR_LAMBDA * scores[i] - (1 - MMR_LAMBDA) * redundancy[i], -i))
        chosen.append(best)
        candidates.remove(best)
        for i in candidates:
            redundancy[i] = max(redundancy[i], cosine(vectors[i], vectors[best]))
    return chosen


def extract(sentences: list[Sentence], title: str, language: str, k: int) -> list[int]:
    """The ids of the k sentences of an extractive summary, in document order."""
    return sorted(select_mmr(sentences, rank_sentences(sentences, title, language), k))


# -- key points -------------------------------------------------------------------------


@cache
def _clause_cues(language: str) -> dict[str, tuple[str, ...]]:
    text = resources.files("pipeline.resources").joinpath("summarize/clauses.json").read_text("utf-8")
    cues = json.loads(text).get(language, {})
    return {kind: tuple(sorted(cues.get(kind, []), key=len, reverse=True)) for kind in ("leading", "trailing", "not_before")}


def _inside_quote(text: str, position: int) -> bool:
    before = text[:position]
    straight = before.count('"') % 2 == 1
    curly = before.count("“") > before.count("”") or before.count("«") > before.count("»")
    return straight or curly


def _starts_with(text: str, cue: str) -> bool:
    lowered = text.lower()
    return lowered.startswith(cue) and (len(text) == len(cue) or not text[len(cue)].isalnum())


def main_clause(sentence: str, language: str, min_words: int = 6) -> str:
    """The sentence without an introductory phrase or a closing non-restrictive clause, when safe.

    Only the cues listed for the language in resources/summarize/clauses.json are dropped;
    nothing inside a quotation is cut, an opening phrase with a figure or a name stays,
    and what is left must still be a sentence of at least `min_words` words.
    """
    cues = _clause_cues(language)
    text = sentence.strip()
    end = text[-1] if text[-1:] in ".!?" else ""
    comma = text.find(", ")
    if comma > 0 and cues["leading"] and not _inside_quote(text, comma):
        opening = text[:comma]
        cue = next((c for c in cues["leading"] if _starts_with(opening, c)), None)
        listed = {w for c in cues["leading"] for w in c.split()}
        names = [w for w in opening.split()[1:] if w[:1].isupper() and w.lower() not in listed]
        rest = text[comma + 2:]
        rest_comma = rest.find(",")
        first_word = (words(rest) or [""])[0]
        if (cue and first_word not in cues["not_before"] and len(opening.split()) <= 10 and not _NUMBER.search(opening) and not names
                and len(rest.split()) >= min_words and rest[:1].isalpha()
                # "In return, they said, he ..." : an aside right after the cut would open the sentence
                and (rest_comma < 0 or len(rest[:rest_comma].split()) > 3)):
            text = rest[0].upper() + rest[1:]
    for cue in cues["trailing"]:
        match = re.search(rf",\s+{re.escape(cue)}\b", text, flags=re.IGNORECASE)
        tail = text[match.end():] if match else ""
        if (match and "," not in tail and not _inside_quote(text, match.start())
                and not any(q in tail for q in _QUOTES)):
            head = text[:match.start()].rstrip()
            if len(head.split()) >= min_words:
                text = head + end
                break
    return text


# -- provenance -------------------------------------------------------------------------


def _stems(terms) -> set[str]:
    """Words cut to five letters: 'libraries' and 'library' match in any language, at the price
    of rare false matches, which a guard against invented content can afford."""
    return {t[:5] for t in terms}


def support(generated: str, sentences: list[Sentence], language: str) -> tuple[list[dict], float, list[str]]:
    """Source sentences that support a generated sentence, best first.

    Sentences are picked greedily to cover the generated sentence's content words; each
    one's score is the share of those words it holds. Returns the sources, the share of
    words the sources cover together, and the figures of the generated sentence that
    appear nowhere in the source (a generated figure is the likeliest invented fact).
    """
    terms = _stems(content_terms(generated, language))
    source_numbers = {n for s in sentences for n in _NUMBER.findall(s.text)}
    missing_numbers = [n for n in _NUMBER.findall(generated) if n not in source_numbers]
    if not terms:
        return [], 0.0, missing_numbers
    uncovered = set(terms)
    sources: list[dict] = []
    pool = [(s, _stems(s.terms)) for s in sentences]
    while uncovered and pool and len(sources) < MAX_SOURCES:
        best = max(pool, key=lambda p: (len(uncovered & p[1]), len(terms & p[1]), -p[0].id))
        if not uncovered & best[1]:
            break
        sources.append({"id": best[0].id, "score": round(len(terms & best[1]) / len(terms), 4)})
        uncovered -= best[1]
        pool.remove(best)
    sources.sort(key=lambda x: (-x["score"], x["id"]))
    coverage = 1 - len(uncovered) / len(terms)
    return sources, coverage, missing_numbers


def _provenance(kind: str, index: int, text: str, sources: list[dict], unsupported: bool = False,
                **extra) -> dict:
    return {"kind": kind, "index": index, "text": text, "sources": sources, "unsupported": unsupported, **extra}


def trace(kind: str, index: int, generated: str, sentences: list[Sentence], language: str,
          threshold: float) -> dict:
    """The provenance item of a generated sentence; `unsupported` when its sources do not hold it."""
    sources, coverage, missing_numbers = support(generated, sentences, language)
    best = sources[0]["score"] if sources else 0.0
    reasons = []
    if coverage < threshold or best < threshold / 2:
        reasons.append(f"its content words are {coverage:.0%} covered by the source")
    if missing_numbers:
        reasons.append(f"figures not in the source: {', '.join(missing_numbers)}")
    item = _provenance(kind, index, generated, sources, bool(reasons), coverage=round(coverage, 4))
    if reasons:
        item["unsupported_reason"] = "; ".join(reasons)
    return item


# -- the stage --------------------------------------------------------------------------


@dataclass
class _Abstractive:
    """One document's progress through map-reduce."""

    record: SummaryRecord
    sentences: list[Sentence]
    texts: list[str]
    rounds: list[int] = field(default_factory=list)  # chunks per round
    capped_chunks: int = 0  # chunk summaries that reached the length cap in map rounds
    final_capped: bool = False  # the summary itself reached it
    done: str | None = None


class SummarizeStage(Stage):
    """TranslateRecords in (a batch), SummaryRecords out."""

    name = "summarize"
    record = SummaryRecord
    consumes = "translate"
    section = "summarize"
    options = ("device", "workers")

    def __init__(self, context: StageContext, models: ModelRegistry | None = None):
        super().__init__(context, models)
        self.config = context.config.summarize
        self.registry = models if models is not None else ModelRegistry(context.config)

    @classmethod
    def kind(cls, config: Config) -> str:
        """Extractive summaries only (method extractive, or no model named) are CPU work."""
        return CPU if config.summarize.method == "extractive" or config.summarize.model is None else MODEL

    @classmethod
    def settings(cls, context: StageContext) -> dict:
        from pipeline.resources import digest

        return {"resources": digest("summarize", "stopwords")}  # the sentence scorer, its cue lists

    @classmethod
    def environment(cls, context: StageContext) -> str | None:
        config = context.config.summarize
        if config.method == "extractive" or config.model is None:
            return None
        from pipeline.models.store import presence

        return presence([config.model], context.config)

    @classmethod
    def take(cls, record: Record) -> TranslateRecord:
        """Without translate, a document is summarized in its own language: detect's, when it ran."""
        if isinstance(record, TranslateRecord):
            return record
        language = record.language if isinstance(record, DetectRecord) else "und"
        return TranslateRecord(doc_id=record.doc_id, source_language=language, translated=False,
                               title=record.title, text=record.text)

    def __call__(self, records: list[TranslateRecord]) -> list[SummaryRecord]:
        model, model_problem = None, None
        if self.config.method in ("auto", "abstractive") and self.config.model is not None:
            try:
                model = self.registry.get(self.config.model, "summarize.model")
            except ModelUnavailable as exc:
                model_problem = str(exc)
        outputs: list[SummaryRecord] = []
        pending: list[_Abstractive] = []
        cut: list[tuple[SummaryRecord, int, int]] = []  # documents read only in part
        for record in records:
            language = record.target_language if record.translated else record.source_language
            out = SummaryRecord(doc_id=record.doc_id, language=language, title=record.title,
                                length={"sentences": self.config.sentences, "key_points": self.config.key_points})
            outputs.append(out)
            # An article is read whole; a 20 MB dump only as far as a summary can use (splitting
            # all of it into sentences took over a minute), cut after a paragraph.
            text = head(record.text, self.config.max_chars)
            if len(text) < len(record.text):
                cut.append((out, len(text), len(record.text)))
            sentences = source_sentences(text, language)
            out.sentences = [{"id": s.id, "paragraph": s.paragraph, "text": s.text} for s in sentences]
            if not sentences:
                out.fail("no_text", "nothing to summarize")
                continue
            self._extractive(out, sentences, record.title, language)
            if not stopwords(language):
                out.report["note"] = (f"no stopword list for '{language}': sentences were scored on all their words")
            if model is not None and language == "en":
                pending.append(_Abstractive(out, sentences, [s.text for s in sentences]))
            elif model_problem:
                out.degrade(f"abstractive summarizer unavailable, extractive summary made instead: {model_problem}")
            elif model is not None:
                out.report["abstractive_skipped"] = f"text is in '{language}', the summarizer reads English"
        if pending:
            self._abstractive(pending, model)
        for out, read, total in cut:
            out.report["read_chars"], out.report["text_chars"] = read, total
            out.report["note_input"] = (f"summarized from the first {read} of {total} characters "
                                        f"(summarize.max_chars)")
        return outputs

    def _extractive(self, out: SummaryRecord, sentences: list[Sentence], title: str, language: str) -> None:
        # The learned scorer picks the sentences and their number (pipeline/stages/extractive.py);
        # what is shown is the source sentence without page residue (a dateline, markup).
        choice = extractive.choose(sentences, content_terms(title, language), language,
                                   self.config.sentences, self.config.key_points)
        chosen, points = choice.summary, choice.key_points
        shown = [extractive.strip_residue(sentences[i].text) for i in chosen]
        out.summary = " ".join(shown)
        out.key_points = [main_clause(extractive.strip_residue(sentences[i].text), language) for i in points]
        out.method = "extractive"
        out.model = None
        out.provenance = (
            [_provenance("summary", n, text, [{"id": i, "score": 1.0}]) for n, (i, text) in enumerate(zip(chosen, shown, strict=True))]
            + [_provenance("key_point", n, text, [{"id": i, "score": 1.0}])
               for n, (i, text) in enumerate(zip(points, out.key_points, strict=True))])
        out.report = {"method": "extractive", "source_sentences": len(sentences), "length": choice.report,
                      "residue_stripped": sum(text != sentences[i].text for i, text in zip(chosen, shown, strict=True)),
                      "key_points_shortened": sum(text != sentences[i].text
                                                  for i, text in zip(points, out.key_points, strict=True))}

    def _abstractive(self, docs: list[_Abstractive], model: Seq2SeqModel) -> None:
        """Map-reduce for all documents of the batch at once: each round generates every
        document's chunks together, until each document is down to one summary."""
        for doc in docs:
            if self.config.long_input == "select":
                self._select(doc, model)
            doc.texts = self._chunks(doc.texts, model)
        active = list(docs)
        while active:
            jobs = [(doc, i) for doc in active for i in range(len(doc.texts))]
            jobs.sort(key=lambda job: len(job[0].texts[job[1]]))  # similar lengths pad less
            results: dict[tuple[int, int], tuple[str, bool]] = {}
            for start in range(0, len(jobs), self.config.batch_size):
                batch = jobs[start:start + self.config.batch_size]
                texts, capped = model.generate([doc.texts[i] for doc, i in batch])
                for (doc, i), text, cap in zip(batch, texts, capped, strict=True):
                    results[(id(doc), i)] = (text, cap)
            still = []
            for doc in active:
                doc.rounds.append(len(doc.texts))
                partial = [results[(id(doc), i)][0] for i in range(len(doc.texts))]
                capped = [results[(id(doc), i)][1] for i in range(len(doc.texts))]
                if len(partial) == 1:
                    doc.done, doc.final_capped = partial[0], capped[0]
                    continue
                doc.capped_chunks += sum(capped)
                merged = self._chunks(partial, model)
                if len(merged) >= len(doc.texts) or len(doc.rounds) >= MAX_REDUCE_ROUNDS:
                    # The chunk summaries do not shrink: keep them all rather than loop or cut.
                    doc.record.report["reduce_converged"] = False
                    doc.done = " ".join(partial)
                    continue
                doc.texts = merged
                still.append(doc)
            active = still
        for doc in docs:
            self._finish(doc, model)

    def _select(self, doc: _Abstractive, model: Seq2SeqModel) -> None:
        """summarize.long_input select: a text over the model's input becomes its sentences that matter."""
        limit = model.max_input_tokens
        if model.count_tokens(" ".join(doc.texts)) <= limit:
            return
        scores = rank_sentences(doc.sentences, doc.record.title, "en")
        kept = fit_sentences(doc.texts, scores, model.count_tokens, limit)
        doc.texts = [doc.texts[i] for i in kept]
        doc.record.report["input_selected"] = {"sentences": len(kept), "of": len(doc.sentences)}

    def _finish(self, doc: _Abstractive, model: Seq2SeqModel) -> None:
        out, language = doc.record, "en"
        generated: list[str] = []
        for sentence in split_sentences(doc.done or "", language):
            if sentence not in generated:  # beam search repeats itself on weak models
                generated.append(sentence)
        unfinished = (doc.final_capped and len(generated) > 1
                      and generated[-1].rstrip()[-1:] not in ".!?\"'»”)")
        if unfinished:  # cut off by the length cap mid-sentence: a half claim is worse than none
            generated.pop()
        if not generated:
            out.report["abstractive_empty"] = "the model generated nothing; the extractive summary is kept"
            return
        threshold = self.config.support_threshold
        out.summary = " ".join(generated[:4])
        out.method = "abstractive"
        out.model = model.ident
        key_points = [p for p in out.provenance if p["kind"] == "key_point"]
        out.provenance = [trace("summary", n, s, doc.sentences, language, threshold)
                          for n, s in enumerate(generated[:4])] + key_points
        unsupported = sum(p["unsupported"] for p in out.provenance if p["kind"] == "summary")
        out.report = {**out.report, "method": "abstractive",
                      "path": "single" if doc.rounds == [1] else "map_reduce",
                      "chunks_per_round": doc.rounds, "max_input_tokens": model.max_input_tokens,
                      "generated_sentences": len(generated), "unsupported_sentences": unsupported}
        if len(generated) > 4:
            out.report["generated_sentences_dropped"] = len(generated) - 4
        if doc.final_capped:
            out.report["output_capped"] = ("the summary reached the generation length cap"
                                           + ("; its unfinished last sentence was dropped" if unfinished else ""))
        if doc.capped_chunks:
            out.report["chunk_summaries_capped"] = doc.capped_chunks

    @staticmethod
    def _chunks(texts: list[str], model: Seq2SeqModel) -> list[str]:
        """Consecutive texts packed into chunks that each fit the model's input limit."""
        limit = model.max_input_tokens
        chunks: list[str] = []
        current = ""
        for text in texts:
            candidate = f"{current} {text}".strip()
            if current and model.count_tokens(candidate) > limit:
                chunks.append(current)
                current = text
            else:
                current = candidate
            while model.count_tokens(current) > limit:
                # One sentence over the limit: cut it between words (characters, for an
                # unbroken run) rather than truncate it.
                pieces, glue = (current.split(" "), " ") if " " in current else (list(current), "")
                keep = len(pieces) - 1
                while keep > 1 and model.count_tokens(glue.join(pieces[:keep])) > limit:
                    keep = max(1, keep * 3 // 4)
                chunks.append(glue.join(pieces[:keep]))
                current = glue.join(pieces[keep:])
        if current:
            chunks.append(current)
        return chunks
