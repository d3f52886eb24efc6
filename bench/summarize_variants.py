"""Other designs of the extractive scorer, cross-validated against the shipped one on the dev parts.

    python bench/summarize_corpus.py           # once: builds ~/.cache/newsum/summarize-{en,fr}
    python bench/summarize_variants.py [--language fr] [--variant NAME ...]

The folds, the fits and the word-budget search are those of `bench/summarize_cv.py cv`: one
language's dev part in five folds by article id, each fold summarized by a scorer fitted on the
other folds and on the whole dev part of the other language, with the word budget and the
relative cut searched on the fitting folds. Only dev parts are read. For each variant the line
gives ROUGE-1/2/L over all dev articles, the mean words, the ROUGE-2 of the best-scored sentence
alone and of the best two (how well it ranks, apart from how many it takes), and the ROUGE-2
difference from the shipped design with its standard error over the five folds (paired, per
fold) and over the articles.

Variants (NAME):
- shipped: the logistic regression on soft labels of bench/train_summarize_model.py;
- listwise: a linear score trained with a softmax over each article's sentences against its
  normalised soft labels (ListNet, top one); the relative cut then compares exp(score - best);
- pairwise: a linear score trained on pairs of sentences of one article whose soft labels differ
  by more than 0.1 (logistic on feature differences, at most 300 pairs an article);
- lambdarank: LightGBM's lambdarank on the soft labels as five grades, articles as groups
  (8 leaves, 200 rounds, learning rate 0.05, at least 50 rows a leaf);
- stop-rule: the shipped scorer, then sentences taken best first (repeats skipped) while a second
  logistic model, trained on the fitting folds to predict whether the next sentence raises
  ROUGE-2 (weighted by how much), says so; in place of the word budget;
- weight-fr: the shipped fit with French weighted 0.67 and English 0.33 (instead of a half each);
- with one feature set added to the 26: candidate-rank (the place among whole sentences, and
  whether it is the first whole one), relative (centrality, title similarity and title recall as
  a rank in the article and as a share of the article's best), sim-lead (cosine to the first
  whole sentence), quote-share (share of characters inside quotation marks), title-bigram (share
  of the title's content-word bigrams in the sentence).

What these gave on French dev (190 articles, English dev in every fit; lead-3 R-2 0.1054, the
shipped design 0.1287): the R-2 difference from the shipped design, its standard error over the
folds, and the R-2 of the top sentence alone (shipped 0.1093):
    listwise        -0.0074 (0.0032)  0.1116      weight-fr       -0.0093 (0.0055)  0.1114
    pairwise        -0.0086 (0.0042)  0.1122      candidate-rank  -0.0032 (0.0021)  0.1122
    lambdarank      -0.0195 (0.0102)  0.1023      relative        -0.0012 (0.0029)  0.1091
    stop-rule       -0.0067 (0.0044)  0.1093      sim-lead        -0.0005 (0.0005)  0.1122
                                                  quote-share     -0.0008 (0.0004)  0.1087
                                                  title-bigram    -0.0065 (0.0042)  0.1092
None beats the shipped design. The ranking variants rank the top sentence about as well; what
they lose is the length: the shipped scorer's probabilities, cut at half the best one's, tell
when one sentence is enough, and a learned stop does worse than that cut.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import train_summarize_model as train  # noqa: E402
from summarize_cv import fold_of  # noqa: E402
from summarize_eval import rouge_l, rouge_n, tokens  # noqa: E402

from pipeline.stages.summarize import extractive  # noqa: E402
from pipeline.text import stopwords, words  # noqa: E402

FOLDS = 5
RELATIVE = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)  # the ranking variants' scores are not probabilities: more cuts


class Scorer:
    """A linear (or tree) score over the features, with the interface extractive.choose uses."""

    def __init__(self, raw, kind: str = "logistic", budgets: dict | None = None, version: str = "variant"):
        self.raw, self.kind, self.budgets, self.version = raw, kind, budgets or {}, version

    def probabilities(self, rows: list[list[float]]) -> list[float]:
        import numpy as np

        z = self.raw(np.asarray(rows, dtype=float))
        if self.kind == "softmax":  # relative to the article's best sentence
            return list(np.exp(z - z.max()))
        return list(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def budget(self, language: str) -> tuple[dict, str]:
        return (self.budgets[language], language) if language in self.budgets else (self.budgets["default"], "default")

    def with_budget(self, language: str, budget: dict) -> Scorer:
        return Scorer(self.raw, self.kind, {language: budget, "default": budget}, self.version)


def _standardised(docs: list[dict]):
    import numpy as np

    x = np.array([r for d in docs for r in d["x"]], dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def _linear(w, b, mean, scale, kind: str) -> Scorer:
    return Scorer(lambda x: ((x - mean) / scale) @ w + b, kind)


def fit_pointwise(docs: list[dict], french_share: float = 0.5) -> Scorer:
    """The shipped fit (train.fit) on the variant's rows, the languages weighted as given."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    per_language = Counter()
    for d in docs:
        per_language[d["language"]] += len(d["x"])
    rows, y, weight = [], [], []
    for d in docs:
        share = (french_share if d["language"] == "fr" else 1.0 - french_share) / per_language[d["language"]]
        for row, label in zip(d["x"], d["soft"], strict=True):
            rows += [row, row]
            y += [1, 0]
            weight += [share * label, share * (1.0 - label)]
    mean, scale = _standardised(docs)
    weight = np.array(weight)
    weight *= len(weight) / weight.sum()
    model = LogisticRegression(C=train.C, max_iter=3000)
    model.fit((np.array(rows, dtype=float) - mean) / scale, np.array(y), sample_weight=weight)
    return _linear(model.coef_[0], float(model.intercept_[0]), mean, scale, "logistic")


def fit_listwise(docs: list[dict], l2: float = 1e-3) -> Scorer:
    import numpy as np
    from scipy.optimize import minimize

    mean, scale = _standardised(docs)
    per_language = Counter(d["language"] for d in docs)
    groups = []
    for d in docs:
        target = np.array(d["soft"], dtype=float)
        if target.sum() > 0:
            groups.append(((np.array(d["x"], dtype=float) - mean) / scale, target / target.sum(),
                           1.0 / per_language[d["language"]]))
    total = sum(g[2] for g in groups)

    def loss(w):
        value, grad = 0.5 * l2 * w @ w, l2 * w
        for x, target, weight in groups:
            z = x @ w
            z = z - z.max()
            log_p = z - math.log(np.exp(z).sum())
            value -= weight * (target @ log_p) / total
            grad = grad + weight * x.T @ (np.exp(log_p) - target) / total
        return value, grad

    w = minimize(loss, np.zeros(len(mean)), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    return _linear(w, 0.0, mean, scale, "softmax")


def fit_pairwise(docs: list[dict], margin: float = 0.1, max_pairs: int = 300) -> Scorer:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    mean, scale = _standardised(docs)
    per_language = Counter(d["language"] for d in docs)
    x_pairs, y, weight = [], [], []
    for d in docs:
        x = (np.array(d["x"], dtype=float) - mean) / scale
        soft = d["soft"]
        pairs = [(i, j) for i in range(len(soft)) for j in range(len(soft)) if soft[i] - soft[j] > margin]
        if len(pairs) > max_pairs:
            pairs = [pairs[k] for k in rng.choice(len(pairs), max_pairs, replace=False)]
        for i, j in pairs:
            x_pairs += [x[i] - x[j], x[j] - x[i]]
            y += [1, 0]
            weight += [(soft[i] - soft[j]) / per_language[d["language"]] / len(pairs)] * 2
    weight = np.array(weight)
    weight *= len(weight) / weight.sum()
    model = LogisticRegression(C=train.C, max_iter=3000, fit_intercept=False)
    model.fit(np.array(x_pairs), np.array(y), sample_weight=weight)
    return _linear(model.coef_[0], 0.0, mean, scale, "softmax")


def fit_lambdarank(docs: list[dict], grades: int = 4) -> Scorer:
    import lightgbm
    import numpy as np

    data = lightgbm.Dataset(np.array([r for d in docs for r in d["x"]], dtype=float),
                            label=np.array([round(v * grades) for d in docs for v in d["soft"]]),
                            group=[len(d["x"]) for d in docs])
    params = {"objective": "lambdarank", "num_leaves": 8, "learning_rate": 0.05, "min_data_in_leaf": 50,
              "verbose": -1, "num_threads": 1, "label_gain": [float(2 ** i - 1) for i in range(grades + 1)]}
    booster = lightgbm.train(params, data, num_boost_round=200)
    return Scorer(booster.predict, "softmax")


# -- added features --------------------------------------------------------------------------


def _rank_share(values: list[float]) -> list[float]:
    out = [0.0] * len(values)
    for rank, i in enumerate(sorted(range(len(values)), key=lambda i: -values[i])):
        out[i] = 1.0 / (1 + rank)
    return out


def candidate_rank(d: dict) -> list[list[float]]:
    out, seen = [], 0
    for row in d["rows"]:
        whole = row[extractive.FEATURES.index("candidate")]
        out.append([1.0 / (1 + seen) if whole else 0.0, float(whole and seen == 0)])
        seen += bool(whole)
    return out


def relative(d: dict) -> list[list[float]]:
    columns = []
    for name in ("centrality", "title_sim", "title_recall"):
        values = [row[extractive.FEATURES.index(name)] for row in d["rows"]]
        top = max(values) or 1.0
        columns += [_rank_share(values), [v / top for v in values]]
    return [list(values) for values in zip(*columns, strict=True)]


def sim_lead(d: dict) -> list[list[float]]:
    sentences = d["sentences"]
    idf = extractive.idf_weights(sentences)
    vectors = [extractive.tfidf_vector(s.terms, idf) for s in sentences]
    lead = next((i for i, s in enumerate(sentences) if extractive.is_candidate(s.text)), 0)
    return [[0.0 if i == lead else extractive.cosine(vectors[i], vectors[lead])] for i in range(len(sentences))]


_QUOTED = re.compile(r"[«“\"]([^«“\"»”]{3,}?)[»”\"]")


def quote_share(d: dict) -> list[list[float]]:
    return [[sum(len(m.group(1)) for m in _QUOTED.finditer(s.text)) / max(1, len(s.text))] for s in d["sentences"]]


def title_bigram(d: dict) -> list[list[float]]:
    stop = stopwords(d["language"])

    def bigrams(text: str) -> set[tuple[str, str]]:
        content = [w[:5] for w in words(text) if w not in stop and len(w) > 1]
        return set(zip(content, content[1:], strict=False))

    title = bigrams(d["title"])
    return [[len(title & bigrams(s.text)) / len(title) if title else 0.0] for s in d["sentences"]]


EXTRA = {"candidate-rank": candidate_rank, "relative": relative, "sim-lead": sim_lead, "quote-share": quote_share,
         "title-bigram": title_bigram}
FITS = {"shipped": fit_pointwise, "listwise": fit_listwise, "pairwise": fit_pairwise, "lambdarank": fit_lambdarank,
        "weight-fr": lambda docs: fit_pointwise(docs, french_share=0.67)}
VARIANTS = ("shipped", "listwise", "pairwise", "lambdarank", "stop-rule", "weight-fr", *EXTRA)


# -- a learned stop in place of the word budget --------------------------------------------


def _sequence(d: dict, scores: list[float], limit: int = train.MAX_SENTENCES) -> list[int]:
    """Sentences best first as extractive.choose takes them (whole ones first, repeats skipped)."""
    redundancy = d["redundancy"]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    pool = [i for i in order if d["whole"][i]] + [i for i in order if not d["whole"][i]]
    chosen: list[int] = []
    for i in pool:
        if len(chosen) >= limit:
            break
        if not redundancy.repeats(i, chosen):
            chosen.append(i)
    return chosen


def _stop_rows(d: dict, scores: list[float], sequence: list[int]) -> list[list[float]]:
    """For each step, what is known before taking the next sentence."""
    feature = extractive.FEATURES.index
    logit = [math.log(max(p, 1e-9) / max(1.0 - p, 1e-9)) for p in scores]
    rows = []
    for step in range(1, len(sequence)):
        first, following = sequence[0], sequence[step]
        row = d["rows"][following]
        rows.append([float(step == 1), float(step == 2), float(step >= 3), logit[following], logit[first],
                     logit[first] - logit[following], scores[following] / max(scores[first], 1e-9),
                     sum(d["lengths"][i] for i in sequence[:step]) / 40, d["lengths"][following] / 40,
                     float(following < 3), 1.0 / (1 + following), row[feature("doc_length")],
                     row[feature("has_title")], row[feature("title_recall")], row[feature("centrality")],
                     d["lengths"][first] / 40])
    return rows


def _r2(d: dict, chosen: list[int]) -> float:
    return rouge_n([t for i in sorted(chosen) for t in d["shown"][i]], d["reference"], 2)


def fit_stop(docs: list[dict], scorer: Scorer):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows, y, weight, languages = [], [], [], []
    for d in docs:
        scores = scorer.probabilities(d["x"])
        sequence = _sequence(d, scores)
        for step, row in enumerate(_stop_rows(d, scores, sequence), start=1):
            gain = _r2(d, sequence[:step + 1]) - _r2(d, sequence[:step])
            rows.append(row)
            y.append(int(gain > 0))
            weight.append(abs(gain))
            languages.append(d["language"])
    per_language = Counter(languages)
    weight = np.array(weight) / np.array([per_language[language] for language in languages])
    weight *= len(weight) / weight.sum()
    x = np.array(rows)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=3000).fit((x - mean) / scale, np.array(y), sample_weight=weight)

    def take(d: dict, scores: list[float]) -> list[int]:
        sequence = _sequence(d, scores)
        chosen = sequence[:1]
        for step, row in enumerate(_stop_rows(d, scores, sequence), start=1):
            if model.predict_proba(((np.array(row) - mean) / scale)[None, :])[0, 1] < 0.5:
                break
            chosen = sequence[:step + 1]
        return chosen
    return take


# -- cross-validation --------------------------------------------------------------------------


def prepare(language: str) -> list[dict]:
    docs = []
    for article in train.load(language, "dev"):
        d = train.prepare(article, language) | {"id": article["id"], "title": article["title"]}
        d["shown"] = [tokens(extractive.strip_residue(s.text)) for s in d["sentences"]]
        d["whole"] = [extractive.is_candidate(s.text) for s in d["sentences"]]
        d["lengths"] = [extractive.length_in_words(extractive.strip_residue(s.text)) for s in d["sentences"]]
        d["redundancy"] = extractive.Redundancy(d["sentences"])
        docs.append(d)
    return docs


def _choose(d: dict, scorer: Scorer, language: str, limit: int = train.MAX_SENTENCES) -> list[int]:
    return extractive.choose(d["sentences"], d["title_terms"], language, limit, 4, model=scorer, rows=d["x"]).summary


def search_budget(scorer: Scorer, docs: list[dict], language: str, cuts: tuple[float, ...]) -> dict:
    """As train.search_budget: the shortest budget within 0.001 of the best mean ROUGE-2 (by site)."""
    results = {}
    for words_budget in train.WORDS:
        for cut in cuts:
            trial = scorer.with_budget(language, {"words": words_budget, "relative": cut})
            by_site = defaultdict(list)
            for d in docs:
                by_site[d["source"].rsplit("/", 1)[-1]].append(_r2(d, _choose(d, trial, language)))
            results[(words_budget, cut)] = sum(sum(v) / len(v) for v in by_site.values()) / len(by_site)
    top = max(results.values())
    best = min((k for k, v in results.items() if v >= top - 0.001), key=lambda k: (k[0], -k[1]))
    return {"words": float(best[0]), "relative": best[1]}


def cross_validate(variant: str, docs: list[dict], others: list[dict], language: str) -> list[tuple]:
    extra = EXTRA.get(variant)
    for d in docs + others:
        d["x"] = [row + added for row, added in zip(d["rows"], extra(d), strict=True)] if extra else d["rows"]
    fit = FITS.get(variant, fit_pointwise)
    cuts = RELATIVE if variant in ("listwise", "pairwise", "lambdarank") else train.RELATIVE
    per: list[tuple] = [()] * len(docs)
    for k in range(FOLDS):
        fitting = [d for d in docs if fold_of(d["id"], FOLDS) != k]
        scorer = fit(fitting + others)
        take = fit_stop(fitting + others, scorer) if variant == "stop-rule" else None
        trial = scorer.with_budget(language, search_budget(scorer, fitting, language, cuts)) if take is None else None
        for i, d in enumerate(docs):
            if fold_of(d["id"], FOLDS) != k:
                continue
            chosen = take(d, scorer.probabilities(d["x"])) if take else _choose(d, trial, language)
            candidate = [t for j in sorted(chosen) for t in d["shown"][j]]
            ranked = scorer.with_budget(language, {"words": 10_000, "relative": 0.0})
            per[i] = (rouge_n(candidate, d["reference"], 1), rouge_n(candidate, d["reference"], 2),
                      rouge_l(candidate, d["reference"]), len(candidate), k,
                      _r2(d, _choose(d, ranked, language, 1)), _r2(d, _choose(d, ranked, language, 2)))
    return per


def report(variant: str, per: list[tuple], shipped: list[tuple] | None) -> None:
    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values)

    line = (f"{variant:15} R-1 {mean(p[0] for p in per):.4f} R-2 {mean(p[1] for p in per):.4f} "
            f"R-L {mean(p[2] for p in per):.4f} words {mean(p[3] for p in per):.0f} "
            f"top sentence {mean(p[5] for p in per):.4f} top two {mean(p[6] for p in per):.4f}")
    if shipped is not None:
        by_fold = [mean(p[1] - q[1] for p, q in zip(per, shipped, strict=True) if p[4] == k) for k in range(FOLDS)]
        centre = mean(by_fold)
        fold_se = math.sqrt(sum((v - centre) ** 2 for v in by_fold) / (FOLDS - 1) / FOLDS)
        diff = [p[1] - q[1] for p, q in zip(per, shipped, strict=True)]
        article_se = math.sqrt(sum((v - mean(diff)) ** 2 for v in diff) / (len(diff) - 1) / len(diff))
        line += f" | R-2 {mean(diff):+.4f} (se over folds {fold_se:.4f}, over articles {article_se:.4f})"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="fr")
    parser.add_argument("--variant", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    other = "en" if args.language == "fr" else "fr"
    docs, others = prepare(args.language), prepare(other)
    for d in docs + others:
        d["soft"] = train.soft_labels(d["shown"], d["reference"])
    print(f"{args.language}: {len(docs)} dev articles; {other}: {len(others)} in every fit")
    shipped = cross_validate("shipped", docs, others, args.language)
    lead = [rouge_n([t for i in range(min(3, len(d["shown"]))) for t in d["shown"][i]], d["reference"], 2)
            for d in docs]
    print(f"lead-3          R-2 {sum(lead) / len(lead):.4f}")
    report("shipped", shipped, None)
    for variant in args.variant:
        if variant != "shipped":
            report(variant, cross_validate(variant, docs, others, args.language), shipped)


if __name__ == "__main__":
    main()
