"""The learned extractive summarizer: which source sentences, how many, and how they read.

Each sentence gets language-neutral features (position in the text and in its paragraph,
centrality, similarity to the title, length, share of stopwords, figures and capitalised
words, whether it opens by leaning on the sentence before it, ...) and a logistic model
trained on real news with professional summaries (bench/train_summarize_model.py, shipped as
resources/summarize/model.json) turns them into the probability that the sentence belongs
to the summary. Sentences are taken best first, skipping any that repeats one already taken
(a standfirst restated by the lead, "14 billion" then "14.3 billion"), until the word budget
learned for the language is spent: the number of sentences is chosen per article. Languages
without a budget of their own use the model's default one, and features that need a
stopword list or cue words are 0 for a language that has none.

Key points are the next best sentences that stand alone (no leaning pronoun, connective or
question as their opening), in source order. Markup and dateline residue ("(Reuters) -",
`_emphasis_`, "- " bullets) is stripped from what is shown; the sentence stays a source
sentence otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

from pipeline.text import stopwords, words

MODEL_FILE = "summarize/model.json"
NEAR_DUPLICATE_COSINE = 0.5  # tf-idf cosine above which two sentences say the same thing
NEAR_DUPLICATE_COVER = 0.6  # share of a sentence's content stems already in a chosen sentence
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-Þ][\w'’-]+")
_TOKEN = re.compile(r"\S+")


class SentenceLike(Protocol):
    id: int
    paragraph: int
    text: str
    terms: Counter


# -- residue ------------------------------------------------------------------------------

_AGENCY = r"(?:CNN|Reuters|AP|AFP|ANSA|EFE|dpa|DPA|Bloomberg|Xinhua|PA|UPI|BBC|Belga|ATS|APA|TASS|Kyodo|Yonhap|Europa Press)"
_DASH = r"(?:--|[-–—:])"
_RESIDUE_HEAD = [
    # "By . Daily Mail Reporter . PUBLISHED: . 14:11 EST, 25 October 2013 . | . UPDATED: . ... 2013 ."
    re.compile(r"^(?:By\s+\.\s+[^.]{1,80}?\s+\.\s+)?(?:(?:PUBLISHED|UPDATED|Last updated)[^|]*?\b\d{4}\s*\.\s*\|?\s*\.?\s*)+"),
    re.compile(r"^By\s+\.\s+[^.]{1,80}?\s+\.\s+(?:and\s+[^.]{1,80}?\s+\.\s+)?"),
    # "LONDON, England (CNN) -- ", "(Reuters) - ", "PARIS (AFP) – ", "(CNN)Share ..."
    re.compile(rf"^[A-ZÀ-Ý][\w'’.-]*(?:[ ,]+[A-ZÀ-Ý][\w'’.-]*){{0,4}},?\s*\({_AGENCY}\)\s*{_DASH}?\s*"),
    re.compile(rf"^\(\s*{_AGENCY}\s*\)\s*{_DASH}?\s*"),
    # a bullet or heading mark left by the page: "- ", "• ", "* ", "## "
    re.compile(r"^(?:[-–—•·▪►*]|#{1,6})\s+"),
]
_MARKUP = [
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), r"\1"),  # _emphasis_
    (re.compile(r"(?<![\w*])\*{1,2}(?=\S)([^*\n]+?)(?<=\S)\*{1,2}(?![\w*])"), r"\1"),  # *emphasis*, **strong**
    (re.compile(r"\[([^\]\n]+)\]\((?:https?://|/)[^)\s]*\)"), r"\1"),  # [text](link)
]  # a literal tag is text as far as this stage knows: the digest escapes it


def strip_residue(text: str) -> str:
    """The sentence without page residue: a leading dateline or byline, a bullet, markup.

    Only a prefix and markup are removed; the words of the sentence stay as they are.
    """
    out = text.strip()
    for _ in range(3):  # "- (Reuters) - ..." : a bullet before a dateline
        before = out
        for pattern in _RESIDUE_HEAD:
            match = pattern.match(out)
            if match and len(out) - match.end() >= 20:
                out = out[match.end():].lstrip()
        if out == before:
            break
    for pattern, replacement in _MARKUP:
        out = pattern.sub(replacement, out)
    out = re.sub(r"\s{2,}", " ", out).strip()
    return out or text.strip()


# -- glued paragraphs ----------------------------------------------------------------------

# A sentence end with no space before the next sentence ("... a-t-elle rappelé.La ville ...",
# "... en 1975).\"Hier ...") is a paragraph break that the page's extraction lost: a lower-case
# letter, a figure or a closing mark, the end, then a capitalised word. "M.Legault", "U.S.",
# "1.000" and "BFMTV.com" do not match; "L'arrêté" does.
_GLUED = re.compile(r"(?<=[a-zß-öø-ÿ0-9)\]»”%])[.!?]+(?=[\"»”]?[«“\"]?[A-ZÀ-ÖØ-Þ](?:[a-zß-öø-ÿ]|['’]\w))")


# A video's credit left between its title and the next sentence: "... l'école ?par BFMTVDéjà en vue ...",
# or glued to a title that has no end mark: "... répond Marlène Schiappapar Europe 1Jeudi ...", "... - 23/01par
# RMCSi ..."; there the name must end in a capital or a figure (a channel's name), so that a word that
# happens to end in "par" is not cut.
_CREDIT = re.compile(r"(?<=[?!.»\"”])par (?:[A-ZÀ-Þ0-9][\w'’-]*?(?: [A-ZÀ-Þ0-9][\w'’-]*?){0,2})(?=[A-ZÀ-Þ][a-zß-ÿ])"
                     r"|(?<=[a-zß-öø-ÿ0-9])par (?:[A-ZÀ-Þ0-9][\w'’-]*? ){0,2}(?:[A-ZÀ-Þ0-9][\w'’-]*?)?[A-ZÀ-Þ0-9]"
                     r"(?=[A-ZÀ-Þ][a-zß-ÿ])")


def glued_parts(paragraph: str) -> list[str]:
    """The paragraph cut where a sentence end runs into the next sentence without a space,
    and around a video credit glued between two sentences; the parts joined are the
    paragraph. A straight quote right after the end closes the sentence when a quotation is
    open before it, and opens the next one otherwise."""
    cuts: set[int] = set()
    last = 0
    for match in _GLUED.finditer(paragraph):
        cut = match.end()
        if paragraph[cut:cut + 1] in "»”":
            cut += 1
        elif paragraph[cut:cut + 1] == '"' and paragraph[last:match.start()].count('"') % 2 == 1:
            cut += 1  # the quotation this sentence opened ends here
        if cut < len(paragraph) and not paragraph[cut].isspace():
            cuts.add(cut)
            last = cut
    for match in _CREDIT.finditer(paragraph):
        cuts.update((match.start(), match.end()))
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(paragraph)), len(paragraph)]
    return [paragraph[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if paragraph[a:b].strip()]


# -- cues ---------------------------------------------------------------------------------


@cache
def _openers(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    data = json.loads(resources.files("pipeline.resources").joinpath("summarize/openers.json").read_text("utf-8"))
    leaning = tuple(sorted(data.get(language, []), key=len, reverse=True))
    standalone = tuple(sorted(data.get("standalone", {}).get(language, []), key=len, reverse=True))
    return leaning, standalone


def _opening(text: str) -> str:
    """The first words, lower-cased, quotes and dashes dropped, apostrophes kept."""
    return re.sub(r"^[\W_]+", "", text.lower().replace("’", "'"))


def _opens_with(opening: str, cue: str) -> bool:
    return opening.startswith(cue) and (len(opening) == len(cue) or not opening[len(cue)].isalnum())


def leans_on_context(text: str, language: str) -> bool:
    """True when the sentence opens with a word that points back (a pronoun, a connective)."""
    leaning, standalone = _openers(language)
    opening = _opening(strip_residue(text))
    if any(_opens_with(opening, cue) for cue in standalone):
        return False
    return any(_opens_with(opening, cue) for cue in leaning)


def stands_alone(text: str, language: str) -> bool:
    """A key point must read without its neighbours: no leaning opening, not a question."""
    stripped = strip_residue(text).rstrip(" \"'»”)")
    return not stripped.endswith("?") and not leans_on_context(text, language)


# -- features -----------------------------------------------------------------------------

FEATURES = (
    "lead1", "lead2", "lead3", "inv_position", "rel_position", "inv_paragraph", "first_in_paragraph",
    "centrality", "forward", "title_sim", "has_title", "length", "short", "long", "stopword_ratio",
    "numbers", "capitalised", "quote_open", "question", "leaning", "candidate", "junk", "doc_length",
    "lead1_x_doc", "title_recall", "in_paragraph",
)
FORWARD_WINDOW = 150


def idf_weights(sentences: list[SentenceLike]) -> dict[str, float]:
    df = Counter(t for s in sentences for t in s.terms)
    return {t: math.log(1 + len(sentences) / d) for t, d in df.items()}


def tfidf_vector(terms: Counter, idf: dict[str, float]) -> tuple[dict[str, float], float]:
    """A tf-idf vector and its norm, computed once per sentence rather than per comparison."""
    vector = {t: c * idf.get(t, 1.0) for t, c in terms.items()}
    return vector, math.sqrt(sum(v * v for v in vector.values()))


def cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
    (va, na), (vb, nb) = a, b
    if not na or not nb:
        return 0.0
    if len(va) > len(vb):
        va, vb = vb, va
    return sum(w * vb[t] for t, w in va.items() if t in vb) / (na * nb)


def length_in_words(text: str) -> int:
    """Words of a sentence; for a script written without spaces (Chinese, Japanese, Thai), about
    one word per two characters, so that budgets and length limits mean the same there."""
    tokens = [t for t in _TOKEN.findall(text) if any(c.isalnum() for c in t)]  # "|", "--" are no words
    letters = sum(len(t) for t in tokens)
    return max(len(tokens), letters // 2) if letters > 12 * max(1, len(tokens)) else len(tokens)


def is_candidate(text: str) -> bool:
    """A whole sentence of reasonable length: not a heading, a fragment or a cut-off teaser."""
    text = strip_residue(text).rstrip()
    n = length_in_words(text)
    return 6 <= n <= 60 and text[-1:] in ".!?\"'»”)" and not text.endswith(("...", "…"))


def features(sentences: list[SentenceLike], title_terms: Counter, language: str) -> list[list[float]]:
    """One row of FEATURES per sentence, in sentence order."""
    n = len(sentences)
    idf = idf_weights(sentences)
    vectors = [tfidf_vector(s.terms, idf) for s in sentences]
    centroid: Counter = Counter()
    for s in sentences:
        centroid.update(s.terms)
    centroid_vector, centroid_norm = tfidf_vector(centroid, idf)
    title_vector = tfidf_vector(title_terms, idf)
    forward = [0.0] * n
    for i in range(n):
        for j in range(i + 1, min(n, i + 1 + FORWARD_WINDOW)):
            forward[i] += cosine(vectors[i], vectors[j])
    top_forward = max(forward, default=0.0) or 1.0
    stop = stopwords(language)
    paragraph_starts: set[int] = set()
    seen_paragraphs: set[int] = set()
    for s in sentences:
        if s.paragraph not in seen_paragraphs:
            seen_paragraphs.add(s.paragraph)
            paragraph_starts.add(s.id)
    paragraph_rank = {p: r for r, p in enumerate(sorted(seen_paragraphs))}
    in_paragraph = [0] * n  # the sentence's place in its paragraph
    for s in sentences[1:]:
        in_paragraph[s.id] = 0 if s.id in paragraph_starts else in_paragraph[s.id - 1] + 1
    title_stems = _stems(title_terms)
    doc_length = math.log1p(n) / math.log1p(100)
    rows = []
    for s in sentences:
        text = strip_residue(s.text)
        tokens = _TOKEN.findall(text)
        ws = words(text)
        length = length_in_words(text)
        vector, norm = vectors[s.id]
        dot = sum(w * centroid_vector[t] for t, w in vector.items())
        rest_norm = math.sqrt(max(0.0, centroid_norm ** 2 - 2 * dot + norm * norm))
        centrality = (dot - norm * norm) / (norm * rest_norm) if norm and rest_norm > 1e-9 else 0.0
        junk = sum(1 for t in tokens if not any(c.isalnum() for c in t)) / max(1, len(tokens))
        lead1 = float(s.id == 0)
        rows.append([
            lead1, float(s.id == 1), float(s.id == 2),
            1.0 / (1 + s.id), s.id / max(1, n - 1),
            1.0 / (1 + paragraph_rank[s.paragraph]), float(s.id in paragraph_starts),
            centrality, forward[s.id] / top_forward,
            cosine(vectors[s.id], title_vector), float(bool(title_terms)),
            min(length, 80) / 40, float(length < 8), float(length > 45),
            (sum(w in stop for w in ws) / max(1, len(ws))) if stop else 0.0,
            min(len(_NUMBER.findall(text)), 4) / 4,
            min(len(_CAPITALISED.findall(text)), 8) / 8,
            float(text[:1] in "\"“«„'‘"), float(text.rstrip(" \"'»”)").endswith("?")),
            float(leans_on_context(text, language)),
            float(is_candidate(s.text)), junk, doc_length, lead1 * doc_length,
            len(title_stems & _stems(s.terms)) / len(title_stems) if title_stems else 0.0,
            1.0 / (1 + in_paragraph[s.id]),
        ])
    return rows


# -- model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    budgets: dict[str, dict[str, float]]  # language -> {"words": cap, "relative": cut against the best}

    def probabilities(self, rows: list[list[float]]) -> list[float]:
        out = []
        for row in rows:
            z = self.intercept + sum(c * (x - m) / s for c, x, m, s in zip(self.coef, row, self.mean, self.scale,
                                                                          strict=True))
            out.append(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
        return out

    def budget(self, language: str) -> tuple[dict[str, float], str]:
        if language in self.budgets:
            return self.budgets[language], language
        return self.budgets["default"], "default"


def load_model_from(data: dict) -> Model:
    if tuple(data["features"]) != FEATURES:
        raise ValueError("the summarize model was trained on other features; retrain it "
                         "(bench/train_summarize_model.py)")
    return Model(version=data["version"], features=tuple(data["features"]), mean=tuple(data["mean"]),
                 scale=tuple(data["scale"]), coef=tuple(data["coef"]), intercept=float(data["intercept"]),
                 budgets=data["budgets"])


@cache
def load_model() -> Model:
    """The shipped model, read once, on first use."""
    text = resources.files("pipeline.resources").joinpath(MODEL_FILE).read_text("utf-8")
    return load_model_from(json.loads(text))


# -- selection ----------------------------------------------------------------------------


def _stems(terms) -> set[str]:
    return {t[:5] for t in terms}


def _figures(text: str) -> set[str]:
    return {n.split(".")[0].split(",")[0] for n in _NUMBER.findall(text)}


class Redundancy:
    """Whether a sentence repeats one already chosen."""

    def __init__(self, sentences: list[SentenceLike]):
        idf = idf_weights(sentences)
        self.vectors = [tfidf_vector(s.terms, idf) for s in sentences]
        self.stems = [_stems(s.terms) for s in sentences]
        self.figures = [_figures(s.text) for s in sentences]

    def repeats(self, i: int, chosen: list[int]) -> bool:
        for j in chosen:
            if cosine(self.vectors[i], self.vectors[j]) > NEAR_DUPLICATE_COSINE:
                return True
            small, large = sorted((self.stems[i], self.stems[j]), key=len)
            shared = len(small & large) / len(small) if small else 0.0
            # a figure restated ("14 billion", then "14.3 billion") makes a smaller overlap enough
            same_figure = bool(self.figures[i] & self.figures[j])
            if shared > NEAR_DUPLICATE_COVER or (same_figure and shared > NEAR_DUPLICATE_COVER / 2):
                return True
        return False


@dataclass
class Choice:
    summary: list[int]  # sentence ids, in source order
    key_points: list[int]  # sentence ids, in source order
    scores: list[float]
    report: dict


def choose(sentences: list[SentenceLike], title_terms: Counter, language: str, max_sentences: int,
           key_points: int, model: Model | None = None, rows: list[list[float]] | None = None) -> Choice:
    """The summary's sentences (length chosen for this article) and the key points' sentences.

    `rows` are the sentences' features when the caller has them already (training)."""
    model = model or load_model()
    scores = model.probabilities(rows if rows is not None else features(sentences, title_terms, language))
    budget, budget_language = model.budget(language)
    words_budget = budget["words"]
    redundancy = Redundancy(sentences)
    lengths = [length_in_words(strip_residue(s.text)) for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    candidates = [i for i in order if is_candidate(sentences[i].text)]
    pool = candidates + [i for i in order if i not in set(candidates)]  # fragments only when nothing else
    chosen: list[int] = []
    used = 0
    skipped_repeats = 0
    relative = budget.get("relative", 0.0)
    top = scores[pool[0]] if pool else 0.0
    for i in pool:
        if len(chosen) >= max_sentences:
            break
        if chosen and scores[i] < relative * top:
            break  # the rest is much less likely to belong than the best: a short summary is enough
        if redundancy.repeats(i, chosen):
            skipped_repeats += 1
            continue
        if chosen and used + lengths[i] / 2 > words_budget:
            continue  # more than half of it would run over the budget: a shorter one may fit
        chosen.append(i)
        used += lengths[i]
        if used >= words_budget:
            break
    points: list[int] = []
    for i in pool:
        if len(points) >= key_points:
            break
        if i in chosen or not stands_alone(sentences[i].text, language) or redundancy.repeats(i, chosen + points):
            continue
        points.append(i)
    if len(points) < min(3, key_points):  # a short text: its summary sentences are its key points too
        for i in pool:
            if len(points) >= min(3, key_points, len(sentences)):
                break
            if i not in points and stands_alone(sentences[i].text, language) and not redundancy.repeats(i, points):
                points.append(i)
    report = {"sentences": len(chosen), "words": sum(lengths[i] for i in chosen),
              "word_budget": round(words_budget), "relative_cut": relative, "budget_language": budget_language,
              "max_sentences": max_sentences, "chosen_by": f"model {model.version}"}
    if skipped_repeats:
        report["repeats_skipped"] = skipped_repeats
    return Choice(sorted(chosen), sorted(points), scores, report)
