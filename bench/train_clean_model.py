"""Train the clean stage's block model (pipeline/resources/clean/block_model.json) on the
development split of the real-page corpus (bench/clean_corpus.py), never on its test split.

Each text dump goes through the clean stage's own blocks and rules; every block is labelled
from the page's gold text (article when most of its word trigrams are in the gold, or it is a
gold line), and described by pipeline.stages.clean.learned.FEATURES. LightGBM fits gradient-boosted
trees; the decision threshold and the model's size are chosen by cross-validation with the
pages grouped by site (no site in two folds), scored by the same per-page token F1 as
bench/clean_eval.py. The trees are then written as JSON that pipeline.stages.clean.learned evaluates
itself.

    .venv/bin/pip install -e '.[bench]'
    nice -n 10 .venv/bin/python bench/train_clean_model.py [--corpus ~/.cache/newsum/clean-corpus] [--cv-only]

`--extra CORPUS` (repeatable) adds another corpus's dev part, bench/clean_teacher.py's or
bench/clean_sites.py's: its pages join training and the cross-validation, where they are scored
as a group of their own and every group weighs the same in the choice. Measured so
(`--cv-only --extra ~/.cache/newsum/clean-corpus-teacher --extra ~/.cache/newsum/clean-sites
--remove-grid 0.3,0.35,0.4,0.45,0.5`), a model trained on the three corpora chooses removal at
0.35, and removes the first subheading of the project's own pages (tests/test_clean.py) at
any threshold from 0.3 up: the sites corpus's annotators left subheadings out of the gold (see
subheading_share). The shipped model is trained on the gold dev part alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clean_eval import EXTERNAL, pages, prf  # noqa: E402

from pipeline.inputs import Document, read_document  # noqa: E402
from pipeline.stages.clean import learned  # noqa: E402
from pipeline.stages.clean.blocks import page_blocks  # noqa: E402
from pipeline.stages.clean.classify import classify  # noqa: E402
from pipeline.text import join_paragraphs  # noqa: E402

OUT = ROOT / "pipeline" / "resources" / "clean" / learned.MODEL_FILE
TRIGRAM_SHARE = 0.5
TEACHER_WEIGHT = 1.0  # set by --teacher-weight
# Features the trees may not read: each costs the clean stage a pass over every block's words
# (a digit-run count, the date-word share), about a fifth of its time when a tree reads them
# (bench/clean_speed.py: 448 docs/s per core without, 311 with), for no gain in cross-validation.
LEFT_OUT = ("numbers_per_word", "date_word_share")
PARAMS = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 8, "min_data_in_leaf": 20,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "seed": 13, "deterministic": True, "num_threads": 1, "verbose": -1}


def ordered_tokens(text: str) -> list[str]:
    import re

    out = []
    unspaced = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
    for token in re.findall(r"\w+", text.lower()):
        if unspaced.search(token):
            out.extend(unspaced.findall(token))
        else:
            out.append(token)
    return out


def trigrams(seq: list[str]) -> set[tuple[str, ...]]:
    return {tuple(seq[i:i + 3]) for i in range(len(seq) - 2)}


def labels_for(texts: list[str], paragraphs: list[str]) -> list[int]:
    gold_lines = {" ".join(ordered_tokens(p)) for p in paragraphs}
    gold_grams: set = set()
    for p in paragraphs:
        gold_grams |= trigrams(ordered_tokens(p))
    found = []
    for text in texts:
        seq = ordered_tokens(text)
        if not seq:
            found.append(0)
        elif " ".join(seq) in gold_lines:
            found.append(1)
        elif len(seq) >= 3:
            grams = [tuple(seq[i:i + 3]) for i in range(len(seq) - 2)]
            found.append(int(sum(g in gold_grams for g in grams) / len(grams) >= TRIGRAM_SHARE))
        else:
            found.append(0)
    return found


def page_rows(corpus: Path, split: str, group: str = "inscriptis") -> list[dict]:
    """Each page's blocks, labels and features; `group` names the set its cross-validation
    score is reported in: the dump's layout, or the corpus."""
    out = []
    for page, gold in pages([corpus / split / "text"]):
        if not gold.get("paragraphs"):
            continue
        source = read_document(Document(page.stem, page, "text"))
        texts, sentences = page_blocks(source.text)
        decision = classify(texts, sentences=sentences)
        rows = learned.features(decision.blocks, decision.language, decision.title)
        out.append({"name": page.stem, "site": gold.get("site", page.stem), "language": gold["language"],
                    "gold": "\n".join(gold["paragraphs"]), "texts": [b.text for b in decision.blocks],
                    "title_index": decision.title_index, "rows": rows, "labelled_by": gold.get("labels", "gold"), "group": group,
                    "labels": labels_for([b.text for b in decision.blocks], gold["paragraphs"]),
                    "weights": [max(1, len(ordered_tokens(b.text))) for b in decision.blocks],
                    "rules_keep": [b.reason is None for b in decision.blocks],
                    "kind": [0 if b.reason is None else 1 if b.rule in learned.POSITIONAL_RULES else
                             3 if b.reason in learned.FINAL_REASONS else 2 for b in decision.blocks]})
    return out


def page_rows_html(corpus: Path, split: str) -> list[dict]:
    """As page_rows, for the HTML pages: trafilatura's blocks as the clean stage decides them."""
    from pipeline.stages.clean.html import extract

    out = []
    for page, gold in pages([corpus / split / "html"]):
        source = read_document(Document(page.stem, page, "html"))
        extracted = extract(source.text)
        if extracted.extractor != "trafilatura":
            continue  # the fallback path is left to the rules
        decision = classify(extracted.blocks, from_extractor=True, known_title=extracted.title,
                            known_author=extracted.metadata.get("author", ""))
        blocks = decision.blocks
        out.append({"name": page.stem, "site": gold.get("site", page.stem), "language": gold["language"],
                    "gold": "\n".join(gold["paragraphs"]), "texts": [b.text for b in blocks],
                    "title_index": decision.title_index,
                    "rows": learned.features(blocks, decision.language, decision.title),
                    "labels": labels_for([b.text for b in blocks], gold["paragraphs"]),
                    "weights": [max(1, len(ordered_tokens(b.text))) for b in blocks],
                    "rules_keep": [b.reason is None for b in blocks],
                    # no positional rules over an extractor's blocks: kept, removed by a rule, final
                    "kind": [0 if b.reason is None else 3 if b.reason in learned.FINAL_REASONS or
                             i == decision.title_index else 2 for i, b in enumerate(blocks)]})
    return out


HEADING, SENTENCE, WORDS = (learned.FEATURES.index(name) for name in ("heading_like", "ends_sentence", "words"))


def inside_headings(page: dict) -> list[int]:
    """The blocks shaped like a subheading (heading-like, no sentence, 2-12 words) between the
    first and the last block the gold calls article."""
    article = [i for i, label in enumerate(page["labels"]) if label]
    rows = page["rows"]
    return [i for i in range(article[0] + 1, article[-1]) if i != page["title_index"]
            and rows[i][HEADING] and not rows[i][SENTENCE] and 2 <= rows[i][WORDS] <= 12] if article else []


def subheading_share(pages: list[dict]) -> float:
    """The share of subheading-shaped blocks inside the article that a corpus's gold calls
    article: how its annotators treated subheadings (bench/clean_corpus.py's dev part 0.44,
    bench/clean_sites.py's 0.10)."""
    inside = [(page, i) for page in pages for i in inside_headings(page)]
    return sum(page["labels"][i] for page, i in inside) / max(1, len(inside))


def page_weight(page: dict) -> float:
    return 1.0 if page.get("labelled_by", "gold") == "gold" else TEACHER_WEIGHT


def page_f1(page: dict, keep: list[bool]) -> tuple[float, float, float]:
    kept = [t for i, (t, k) in enumerate(zip(page["texts"], keep, strict=True)) if k and i != page["title_index"]]
    return prf(join_paragraphs(kept), page["gold"])


def fit(train: list[dict], rounds: int):
    import lightgbm as lgb
    import numpy as np

    x = np.array([r for p in train for r in p["rows"]], dtype=np.float64)
    y = np.array([label for p in train for label in p["labels"]])
    # Each page weighs the same, and a block by its share of the page's words: the score is
    # per-page token F1, so a long paragraph matters more than a menu entry. A page labelled by
    # a teacher (an extractor's output, not hand-checked gold) weighs TEACHER_WEIGHT of a page.
    w = np.array([wt / sum(p["weights"]) * page_weight(p) for p in train for wt in p["weights"]]) * 100
    for name in LEFT_OUT:  # a constant column: no split can read it
        x[:, learned.FEATURES.index(name)] = 0.0
    data = lgb.Dataset(x, label=y, weight=w, feature_name=list(learned.FEATURES), free_raw_data=False)
    return lgb.train(PARAMS, data, num_boost_round=rounds)


def folds(sites: list[str], k: int) -> list[set[str]]:
    import hashlib

    groups: list[set[str]] = [set() for _ in range(k)]
    for site in sorted(set(sites)):
        groups[int(hashlib.sha256(site.encode()).hexdigest(), 16) % k].add(site)
    return groups


def combine(page: dict, prob, remove_below: float, restore_above: float, restore_rule_above: float) -> list[bool]:
    """The model overrides the rules only where it is sure: it removes a block the rules keep
    below one threshold, brings back one they removed by position above another, and one a
    rule removed above a third (as pipeline.stages.clean.learned.threshold)."""
    limits = (remove_below, restore_above, restore_rule_above, 2.0)
    return [bool(p >= limits[kind]) for kind, p in zip(page["kind"], prob, strict=True)]


def cross_validate(dev: list[dict], rounds_grid: list[int], thresholds: list[tuple[float, float, float]],
                   k: int = 5, extra: list[dict] = ()) -> dict:
    """Site-grouped k-fold over all the dev pages, `extra` ones (other corpora's dev parts)
    included: no site is in two folds, and every page is scored once, by a model that never
    saw its site, in its group."""
    import numpy as np

    scores: dict[tuple, list] = {}
    everything = [*dev, *extra]
    for held in folds([p["site"] for p in everything], k):
        train = [p for p in everything if p["site"] not in held]
        test = [p for p in everything if p["site"] in held]
        booster = fit(train, max(rounds_grid))
        for rounds in rounds_grid:
            for page in test:
                prob = booster.predict(np.array(page["rows"]), num_iteration=rounds)
                for t in thresholds:
                    keep = combine(page, prob, *t)
                    scores.setdefault((rounds, t), {}).setdefault(page.get("group", "inscriptis"), []).append(
                        page_f1(page, keep))
    # each group's mean, then their mean: every layout and every corpus weighs the same
    return {key: {group: mean_prf(vals) for group, vals in by_group.items()} for key, by_group in scores.items()}


def mean_prf(scores) -> tuple[float, float, float]:
    """The mean precision, recall and F1 of (p, r, f) triples."""
    scores = list(scores)
    return tuple(sum(v[i] for v in scores) / len(scores) for i in range(3))


def mean_over_groups(by_group: dict) -> tuple[float, float, float]:
    return mean_prf(by_group.values())


def export(booster, threshold: tuple[float, float, float], trained_on: str = "") -> dict:
    dumped = booster.dump_model()

    def convert(node: dict) -> dict:
        if "leaf_value" in node:
            return {"leaf": round(node["leaf_value"], 6)}
        if node.get("decision_type", "<=") != "<=":
            raise ValueError("only numeric splits are supported")
        return {"f": node["split_feature"], "t": node["threshold"], "v": round(node["internal_value"], 6),
                "l": convert(node["left_child"]), "r": convert(node["right_child"])}

    return {"version": learned.MODEL_VERSION, "remove_below": threshold[0], "restore_above": threshold[1],
            "restore_rule_above": threshold[2],
            "features": list(learned.FEATURES),
            "trained_on": trained_on or "bench/clean_corpus.py dev split (text dumps), bench/train_clean_model.py",
            "params": {k: v for k, v in PARAMS.items() if k not in ("num_threads", "verbose")},
            "trees": [convert(t["tree_structure"]) for t in dumped["tree_info"]]}


def check(model: dict, booster, dev: list[dict]) -> None:
    """The exported trees, evaluated as the clean stage evaluates them, give LightGBM's probabilities."""
    import numpy as np

    ours = learned.Model(model)
    rows = [r for p in dev for r in p["rows"]]
    gap = np.abs(booster.predict(np.array(rows)) - np.array([ours.probability(r) for r in rows])).max()
    if gap > 1e-4:
        raise SystemExit(f"the exported trees differ from LightGBM's by {gap}")


def held_out(booster, corpora: list[Path], threshold: tuple[float, float, float]) -> None:
    """The chosen model, trained on every dev page, scored once on each corpus's held-out
    parts (test, and the sites corpus's chaos). Nothing is chosen on these figures. They are
    the block decisions alone, without the stage's later steps, so bench/clean_eval.py's
    figures for a shipped model differ a little."""
    import numpy as np

    for corpus in corpora:
        for split in ("test", "chaos"):
            if not (corpus / split / "text").is_dir():
                continue
            p, r, f = mean_prf(page_f1(page, combine(page, booster.predict(np.array(page["rows"])), *threshold))
                               for page in page_rows(corpus, split))
            print(f"held out {corpus.name}/{split}: F1 {f:.3f}  P {p:.3f}  R {r:.3f}")


def main() -> None:
    global TEACHER_WEIGHT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=EXTERNAL)
    parser.add_argument("--cv-only", action="store_true", help="report cross-validation, write no model")
    parser.add_argument("--held-out", action="store_true",
                        help="also score the chosen model on each corpus's test part (and chaos), after the choice")
    parser.add_argument("--score", type=Path, action="append", default=[],
                        help="with --held-out: one more corpus whose held-out parts are scored, not trained on (repeatable)")
    parser.add_argument("--html", action="store_true",
                        help="cross-validate a model of trafilatura's blocks of HTML pages (with --cv-only; none is shipped)")
    # more trees cost the stage its speed (bench/clean_speed.py) for no gain in cross-validation
    parser.add_argument("--rounds", default="20,30,40")
    parser.add_argument("--leaves", type=int, default=PARAMS["num_leaves"])
    # remove_below above 0.3 cost the hand-labelled pages of tests/test_clean.py their
    # subheadings, and restoring cue removals broke hand-checked pages (model version 1)
    parser.add_argument("--remove-grid", default="0.2,0.25,0.3", help="remove_below values tried")
    parser.add_argument("--restore-rule-grid", default="1.01", help="restore_rule_above values tried")
    # restore_above 0.5 scores as 0.7 in cross-validation (within 0.001) but brings back an author
    # box and a paywall notice after the article on the project's own pages
    parser.add_argument("--restore-grid", default="0.7,0.9", help="restore_above values tried")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="another corpus (bench/clean_teacher.py's, bench/clean_sites.py's): its dev/text split "
                             "joins training and cross-validation, scored as a group of its own (repeatable)")
    parser.add_argument("--dumps", type=Path, default=None,
                        help="the same dev pages dumped by other tools (bench/clean_dumps.py's output): "
                             "trained on, and scored per layout")
    parser.add_argument("--layouts", default="w3m,lynx", help="which tools' dumps --dumps adds")
    parser.add_argument("--teacher-weight", type=float, default=TEACHER_WEIGHT,
                        help="weight of a teacher-labelled page against a gold-labelled one")
    args = parser.parse_args()
    PARAMS["num_leaves"] = args.leaves
    TEACHER_WEIGHT = args.teacher_weight
    if args.html and not args.cv_only:
        sys.exit("--html only measures (--cv-only): on the project's own pages it brings furniture back")
    if args.html and (args.held_out or args.extra):
        sys.exit("--held-out and --extra read text dumps; --html cross-validates HTML pages alone")
    dev = page_rows_html(args.corpus, "dev") if args.html else page_rows(args.corpus, "dev")
    for tool in args.layouts.split(",") if args.dumps and args.layouts else ():
        dev += page_rows(args.dumps / tool, "dev", group=tool)
    extra = [p for corpus in args.extra for p in page_rows(corpus, "dev", group=corpus.name)]
    for corpus in args.extra:
        some = [p for p in extra if p["group"] == corpus.name]
        print(f"{corpus.name}: {len(some)} pages, {len({p['site'] for p in some})} sites, "
              f"{subheading_share(some):.0%} of subheading-shaped blocks gold, "
              f"labelled by {dict(Counter(p['labelled_by'] for p in some))}",
              dict(Counter(p["language"] for p in some)))
    print(f"dev: {len(dev)} pages, {sum(len(p['rows']) for p in dev)} blocks, "
          f"{sum(sum(p['labels']) for p in dev)} labelled article, {len({p['site'] for p in dev})} sites, "
          f"{subheading_share(dev):.0%} of subheading-shaped blocks gold")
    p, r, f = mean_prf(page_f1(page, page["rules_keep"]) for page in dev)
    print(f"rules alone (dev): F1 {f:.3f} P {p:.3f} R {r:.3f}")
    oracle = [page_f1(p, [bool(x) for x in p["labels"]]) for p in dev]
    print(f"labels as decision (ceiling): F1 {sum(x[2] for x in oracle) / len(oracle):.3f}")
    grid = [int(x) for x in args.rounds.split(",")]
    thresholds = [(lo, hi, rule) for lo in (float(x) for x in args.remove_grid.split(","))
                  for hi in (float(x) for x in args.restore_grid.split(",")) for rule in (float(x) for x in args.restore_rule_grid.split(","))
                  if hi >= lo]
    cv = cross_validate(dev, grid, thresholds, extra=extra)
    for (rounds, t), by_group in sorted(cv.items()):
        p, r, f = mean_over_groups(by_group)
        per = "  ".join(f"{group} {v[2]:.3f}" for group, v in sorted(by_group.items())) if len(by_group) > 1 else ""
        print(f"cv rounds={rounds:<4} remove below {t[0]:.2f} restore above {t[1]:.2f} / {t[2]:.2f}  "
              f"F1 {f:.3f}  P {p:.3f}  R {r:.3f}  {per}")
    # ties in F1 go to the more precise setting (the rules already recall more than they keep right)
    (rounds, threshold), best = max(((key, mean_over_groups(v)) for key, v in cv.items()),
                                    key=lambda kv: (round(kv[1][2], 3), round(kv[1][0], 3), -kv[0][0]))
    print(f"chosen: rounds={rounds} thresholds={threshold} (cv F1 {best[2]:.3f} P {best[0]:.3f} R {best[1]:.3f})")
    print("languages in dev:", dict(Counter(p["language"] for p in dev)))
    if args.cv_only and not args.held_out:
        return
    booster = fit([*dev, *extra], rounds)
    if args.held_out:
        held_out(booster, [args.corpus, *args.extra, *(c for c in args.score if c not in args.extra)], threshold)
    if args.cv_only:
        return
    trained_on = "bench/clean_corpus.py dev split (text dumps)"
    if args.dumps and args.layouts:
        trained_on += f", its pages as {args.layouts} dump them (bench/clean_dumps.py)"
    if extra:
        trained_on += f", {len(extra)} dev pages of {', '.join(c.name for c in args.extra)}"
    model = export(booster, threshold, trained_on + "; bench/train_clean_model.py")
    check(model, booster, dev)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB, {len(model['trees'])} trees)")


if __name__ == "__main__":
    main()
