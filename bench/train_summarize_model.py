"""Train the extractive sentence scorer and the word budgets on the dev parts of the real sets.

    python bench/summarize_corpus.py            # once: builds ~/.cache/newsum/summarize-{en,fr}
    python bench/train_summarize_model.py [--out pipeline/resources/summarize/model.json]

Labels are soft: a sentence's ROUGE-2 F-measure against the reference on its own, divided by
the best sentence's of its article and squared, so that the best sentence counts 1, one
half as good 0.25 and one that shares no bigram 0 (bigrams are what the summary is judged
on). Each sentence enters the fit as a summary sentence with that weight and as none with
the rest. Cross-validated on French dev (bench/summarize_cv.py, five folds), R-2 was 0.1204
with the 0/1 labels of a greedy ROUGE-2 oracle that this replaces, 0.1247 with the ratio
unsquared and 0.1284 squared: the oracle marks one or two sentences per article and calls
a near miss as wrong as a sentence on another subject. (The oracle, sentences added
greedily while they raise ROUGE-2, at most four, is still printed as a reference.) A
logistic regression (scikit-learn, standardised features, the two languages weighted
alike) learns them from the
features of pipeline/stages/extractive.py. Then, for each language, the word budget and the
relative cut (a sentence whose probability is under that share of the best one's is not
taken) that give the best mean ROUGE-2 on dev are searched (the shortest within 0.001 of
the best) (for English, averaged over the CNN and the
Daily Mail articles alike, whose highlights differ in length); "default", used for any other
language, is their mean. Only the dev parts are read; the test parts are for
bench/summarize_eval.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from summarize_eval import rouge_n, tokens  # noqa: E402

from pipeline.stages.summarize import extractive  # noqa: E402
from pipeline.stages.summarize.stage import content_terms, source_sentences  # noqa: E402

CACHE = Path.home() / ".cache" / "newsum"
VERSION = "3"
MAX_ORACLE = 4
MAX_SENTENCES = 4
WORDS = range(25, 115, 10)  # word budgets tried
RELATIVE = (0.0, 0.3, 0.5, 0.7)  # a sentence less likely than this share of the best one is not taken
C = 1.0  # the logistic regression's inverse regularisation
POWER = 2.0  # soft labels: (a sentence's ROUGE-2 / the article's best) ** POWER


def oracle(sentence_tokens: list[list[str]], reference: list[str]) -> list[int]:
    chosen: list[int] = []
    best = 0.0
    while len(chosen) < MAX_ORACLE:
        gains = []
        for i in range(len(sentence_tokens)):
            if i in chosen:
                continue
            candidate = [t for j in sorted(chosen + [i]) for t in sentence_tokens[j]]
            gains.append((rouge_n(candidate, reference, 2), -i, i))
        if not gains:
            break
        score, _, i = max(gains)
        if score <= best:
            break
        best = score
        chosen.append(i)
    return chosen


def soft_labels(sentence_tokens: list[list[str]], reference: list[str], power: float = POWER) -> list[float]:
    """Each sentence's ROUGE-2 against the reference, as a share of the article's best, to `power`."""
    alone = [rouge_n(t, reference, 2) for t in sentence_tokens]
    best = max(alone, default=0.0) or 1.0
    return [(v / best) ** power for v in alone]


def load(language: str, split: str) -> list[dict]:
    folder = CACHE / f"summarize-{language}" / split / language
    files = sorted(folder.glob("*.json"))
    if not files:
        sys.exit(f"{folder}: no articles; build them with python bench/summarize_corpus.py")
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def prepare(article: dict, language: str) -> dict:
    sentences = source_sentences(article["text"], language)
    title_terms = content_terms(article["title"], language)
    rows = extractive.features(sentences, title_terms, language)
    reference = tokens(article["reference"])
    shown = [tokens(extractive.strip_residue(s.text)) for s in sentences]
    labels = set(oracle(shown, reference))
    return {"sentences": sentences, "title_terms": title_terms, "rows": rows, "reference": reference,
            "labels": [int(i in labels) for i in range(len(sentences))], "soft": soft_labels(shown, reference),
            "source": article.get("source", ""), "language": language}


def fit(docs: list[dict], c: float = C) -> dict:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    per_language = defaultdict(int)
    for d in docs:
        per_language[d["language"]] += len(d["rows"])
    rows, y, weight = [], [], []
    for d in docs:
        share = 1.0 / per_language[d["language"]]
        for row, label in zip(d["rows"], d["soft"], strict=True):
            rows += [row, row]  # a summary sentence to the extent of its label, none for the rest
            y += [1, 0]
            weight += [share * label, share * (1.0 - label)]
    x = np.array(rows, dtype=float)
    y = np.array(y)
    weight = np.array(weight)
    weight *= len(weight) / weight.sum()
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=weight)
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": model.coef_[0].tolist(),
            "intercept": float(model.intercept_[0])}


def with_budget(model: extractive.Model, language: str, budget: dict) -> extractive.Model:
    return extractive.Model(model.version, model.features, model.mean, model.scale, model.coef, model.intercept,
                            {language: budget, "default": budget})


def score_budget(model: extractive.Model, docs: list[dict], language: str, words: float, relative: float) -> float:
    trial = with_budget(model, language, {"words": words, "relative": relative})
    by_source: dict[str, list[float]] = defaultdict(list)
    for d in docs:
        choice = extractive.choose(d["sentences"], d["title_terms"], language, MAX_SENTENCES, 4, model=trial,
                                   rows=d["rows"])
        summary = [t for i in choice.summary for t in tokens(extractive.strip_residue(d["sentences"][i].text))]
        site = d["source"].rsplit("/", 1)[-1]
        by_source[site].append(rouge_n(summary, d["reference"], 2))
    return sum(sum(v) / len(v) for v in by_source.values()) / len(by_source)


def search_budget(model: extractive.Model, docs: list[dict], language: str) -> tuple[dict, dict]:
    """The word budget and relative cut with the best mean ROUGE-2 on `docs`, and every result."""
    results = {(w, r): score_budget(model, docs, language, w, r) for w in WORDS for r in RELATIVE}
    # the shortest summaries within 0.001 of the best: differences that small are noise here
    top = max(results.values())
    best = min((k for k, v in results.items() if v >= top - 0.001), key=lambda k: (k[0], -k[1]))
    return {"words": float(best[0]), "relative": best[1]}, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "pipeline" / "resources" / "summarize" / "model.json")
    parser.add_argument("--languages", default="en,fr")
    args = parser.parse_args()
    docs_by_language = {}
    for language in args.languages.split(","):
        docs_by_language[language] = [prepare(a, language) for a in load(language, "dev")]
        labelled = sum(sum(d["labels"]) for d in docs_by_language[language])
        print(f"{language}: {len(docs_by_language[language])} dev articles, {labelled} oracle sentences")
    weights = fit([d for docs in docs_by_language.values() for d in docs])
    for name, coef in sorted(zip(extractive.FEATURES, weights["coef"], strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:20} {coef:+.3f}")
    model = extractive.Model(VERSION, extractive.FEATURES, tuple(weights["mean"]), tuple(weights["scale"]),
                             tuple(weights["coef"]), weights["intercept"], {})
    budgets = {}
    for language, docs in docs_by_language.items():
        budgets[language], results = search_budget(model, docs, language)
        print(f"{language}: word budget {budgets[language]['words']:.0f}, relative cut "
              f"{budgets[language]['relative']} (R-2 {max(results.values()):.4f}); "
              + " ".join(f"{w}/{r}:{v:.3f}" for (w, r), v in results.items()))
    budgets["default"] = {key: round(sum(b[key] for b in budgets.values()) / len(budgets), 2)
                          for key in ("words", "relative")}
    data = {"_comment": ("Logistic sentence scorer and per-language word budgets of the extractive summarizer; "
                         "trained by bench/train_summarize_model.py on the dev parts of CNN/DailyMail "
                         "(highlights) and OrangeSum (abstracts), soft ROUGE-2 labels. Features: pipeline/stages/summarize/extractive.py."),
            "version": VERSION, "features": list(extractive.FEATURES),
            "mean": [round(v, 6) for v in weights["mean"]], "scale": [round(v, 6) for v in weights["scale"]],
            "coef": [round(v, 6) for v in weights["coef"]], "intercept": round(weights["intercept"], 6),
            "budgets": budgets}
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
