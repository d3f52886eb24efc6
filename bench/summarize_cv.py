"""Cross-validation of the extractive scorer's design on the dev parts, and a paired bootstrap.

    python bench/summarize_cv.py cv [--language fr] [--folds 5]
    python bench/summarize_cv.py bootstrap [--language fr] [--split test]

`cv` splits one language's dev part into folds (by article id hash, so the same on every
machine); for each fold the scorer is fitted on the other folds (and on the whole dev part
of the other language, as bench/train_summarize_model.py does), the word budget is searched
on those folds too, and the held-out fold is summarized. The figure printed is the mean over
all dev articles of ROUGE-1/2/L, each article scored by a model that never saw it, next to
lead-3 on the same articles. Only dev parts are read.

`bootstrap` compares the shipped summarizer with lead-3 article by article on one part
(10,000 resamples of the articles): the mean ROUGE-2 difference, its 95 % interval and the
share of resamples where newsum is ahead; and how the difference depends on the length of
the reference and on where the oracle sentences lie. It tunes nothing.

Other designs of the scorer (ranking objectives, a learned stop, added features) are compared on
the same folds by bench/summarize_variants.py.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import train_summarize_model as train  # noqa: E402
from summarize_eval import lead, newsum_stage, rouge_l, rouge_n, tokens  # noqa: E402

from pipeline.stages.summarize import extractive  # noqa: E402


def fold_of(ident: str, folds: int) -> int:
    return int(hashlib.sha1(f"fold:{ident}".encode()).hexdigest(), 16) % folds


def summary_tokens(doc: dict, chosen: list[int]) -> list[str]:
    return [t for i in chosen for t in tokens(extractive.strip_residue(doc["sentences"][i].text))]


def rouge3(candidate: list[str], reference: list[str]) -> tuple[float, float, float]:
    return rouge_n(candidate, reference, 1), rouge_n(candidate, reference, 2), rouge_l(candidate, reference)


def cv(args: argparse.Namespace) -> None:
    other = "en" if args.language == "fr" else "fr"
    docs = [train.prepare(a, args.language) | {"id": a["id"]} for a in train.load(args.language, "dev")]
    others = [train.prepare(a, other) for a in train.load(other, "dev")] if args.with_other else []
    for d in docs + others:
        d["soft"] = (d["labels"] if args.labels == "oracle"
                     else train.soft_labels([tokens(extractive.strip_residue(s.text)) for s in d["sentences"]],
                                            d["reference"], args.power))
    print(f"{args.language}: {len(docs)} dev articles; {other}: {len(others)} in every fit")
    lead_scores = [rouge3(summary_tokens(d, list(range(min(3, len(d["sentences"]))))), d["reference"]) for d in docs]
    per: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(docs)
    lengths = [0] * len(docs)
    for k in range(args.folds):
        fit_docs = [d for d in docs if fold_of(d["id"], args.folds) != k]
        held = [i for i, d in enumerate(docs) if fold_of(d["id"], args.folds) == k]
        weights = train.fit(fit_docs + others, c=args.c)
        model = extractive.Model(train.VERSION, extractive.FEATURES, tuple(weights["mean"]), tuple(weights["scale"]),
                                 tuple(weights["coef"]), weights["intercept"], {})
        budget, _ = train.search_budget(model, fit_docs, args.language)
        trial = train.with_budget(model, args.language, budget)
        for i in held:
            d = docs[i]
            choice = extractive.choose(d["sentences"], d["title_terms"], args.language, train.MAX_SENTENCES, 4,
                                       model=trial, rows=d["rows"])
            candidate = summary_tokens(d, choice.summary)
            per[i] = rouge3(candidate, d["reference"])
            lengths[i] = len(candidate)
        print(f"  fold {k}: budget {budget}")
    mean = [sum(p[j] for p in per) / len(per) for j in range(3)]
    base = [sum(p[j] for p in lead_scores) / len(lead_scores) for j in range(3)]
    diff = [p[1] - q[1] for p, q in zip(per, lead_scores, strict=True)]
    low, high = _interval(diff)
    print(f"cv newsum  R-1 {mean[0]:.4f} R-2 {mean[1]:.4f} R-L {mean[2]:.4f} words {sum(lengths) / len(lengths):.0f}")
    print(f"   lead-3  R-1 {base[0]:.4f} R-2 {base[1]:.4f} R-L {base[2]:.4f}")
    print(f"   R-2 difference {mean[1] - base[1]:+.4f} (95 % {low:+.4f} .. {high:+.4f})")
    fold_means, fold_se = fold_figures([p[1] for p in per], [fold_of(d["id"], args.folds) for d in docs], args.folds)
    print("   newsum R-2 per fold " + " ".join(f"{m:.4f}" for m in fold_means)
          + f" (standard error of the mean over folds {fold_se:.4f})")


def fold_figures(values: list[float], folds_of: list[int], folds: int) -> tuple[list[float], float]:
    """The mean of `values` in each fold, and the standard error of their mean over the folds: what a
    change of design must beat (per-fold differences of two designs give the paired one)."""
    means = []
    for k in range(folds):
        inside = [v for v, f in zip(values, folds_of, strict=True) if f == k]
        means.append(sum(inside) / len(inside) if inside else 0.0)
    centre = sum(means) / folds
    spread = (sum((m - centre) ** 2 for m in means) / (folds - 1)) ** 0.5 if folds > 1 else 0.0
    return means, spread / folds ** 0.5


def _interval(diff: list[float], resamples: int = 10000, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    n = len(diff)
    means = sorted(sum(diff[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples)]


def bootstrap(args: argparse.Namespace) -> None:
    articles = train.load(args.language, args.split)
    rows = []
    for a in articles:
        reference = tokens(a["reference"])
        ours = rouge_n(tokens(newsum_stage(a, args.language)), reference, 2)
        base = rouge_n(tokens(lead(a, args.language)), reference, 2)
        doc = train.prepare(a, args.language)
        oracle = [i for i, label in enumerate(doc["labels"]) if label]
        rows.append({"diff": ours - base, "ref_words": len(reference), "oracle_first": min(oracle, default=-1),
                     "lead_oracle": bool(oracle) and max(oracle) < 3})
    diff = [r["diff"] for r in rows]
    rng = random.Random(0)
    n = len(diff)
    means = sorted(sum(diff[rng.randrange(n)] for _ in range(n)) / n for _ in range(10000))
    ahead = sum(m > 0 for m in means) / len(means)
    print(f"{args.language} {args.split}: {n} articles; newsum - lead-3 R-2 {sum(diff) / n:+.4f} "
          f"(95 % {means[250]:+.4f} .. {means[9750]:+.4f}); newsum ahead in {ahead:.1%} of resamples; "
          f"articles won/lost/tied {sum(d > 1e-9 for d in diff)}/{sum(d < -1e-9 for d in diff)}/"
          f"{sum(abs(d) <= 1e-9 for d in diff)}")
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        groups["reference <= 30 words" if r["ref_words"] <= 30 else "reference > 30 words"].append(r["diff"])
        groups["oracle all in lead-3" if r["lead_oracle"] else "oracle beyond lead-3"].append(r["diff"])
    for name, values in sorted(groups.items()):
        print(f"  {name:24} {len(values):4} articles, mean difference {sum(values) / len(values):+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("cv", "bootstrap"))
    parser.add_argument("--language", default="fr")
    parser.add_argument("--split", default="dev", help="bootstrap: the part to compare on")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=train.C, help="cv: the logistic regression's inverse regularisation")
    parser.add_argument("--labels", choices=("soft", "oracle"), default="soft",
                        help="cv: soft labels (the shipped way) or the 0/1 labels of the greedy ROUGE-2 oracle")
    parser.add_argument("--power", type=float, default=train.POWER, help="cv: the soft labels' power")
    parser.add_argument("--without-other", dest="with_other", action="store_false",
                        help="cv: fit on this language's folds only")
    args = parser.parse_args()
    cv(args) if args.mode == "cv" else bootstrap(args)


if __name__ == "__main__":
    main()
