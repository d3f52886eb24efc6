"""Evaluate language detection: accuracy per kind of item, precision per language, mixed pages, speed.

    python bench/detect_eval.py [DATA_DIR] [--backend NAME ...] [--limit N]

DATA_DIR (default bench/data/detect) holds
- `items.tsv`: a header line, then `lang`, `kind`, `text` per line (kind: sentence,
  paragraph, or shorter things: word pairs, single words);
- `mixed/*.json`: pages whose lines have gold languages, and the language the site declares.

Every item and every page goes through the detect stage itself (`DetectStage`), as in a
run: an item is a one-paragraph document, a page is a document whose lines are paragraphs.
For each backend configuration this prints accuracy on sentences and paragraphs (all
languages, and it/en/fr), precision of it, en and fr, accuracy on the shorter items,
mixed-page line and document accuracy, and lines per second (CPU time, one core).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config, DetectConfig  # noqa: E402
from pipeline.records import CleanRecord  # noqa: E402
from pipeline.stages.base import StageContext  # noqa: E402
from pipeline.stages.detect.stage import DetectStage  # noqa: E402

FOCUS = ("it", "en", "fr")
LONG_KINDS = ("sentence", "paragraph")

WARM_UP = ["Models load before the clock starts.", "Ok", "Ελληνικά", "Русский язык", "日本語", "עברית", "العربية"]

# The configurations compared: langdetect alone (the old default), each other detector
# alone, and the ensemble as shipped. Names are what --backend selects.
CONFIGURATIONS: dict[str, DetectConfig] = {
    "langdetect": DetectConfig(backend="langdetect"),
    "fasttext": DetectConfig(backend="fasttext"),
    "lingua": DetectConfig(backend="lingua"),
    "ensemble": DetectConfig(backend="ensemble"),
    "ensemble-always-lingua": DetectConfig(backend="ensemble", fast_accept=1.01),
}


def _field(row: dict, *names: str) -> str:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    raise KeyError(f"none of {names} in {sorted(row)}")


def load_items(folder: Path) -> list[tuple[str, str, str]]:
    path = folder / "items.tsv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(_field(r, "lang", "language").strip(), _field(r, "kind").strip(), _field(r, "text"))
                for r in reader if r.get("text")]


def load_pages(folder: Path) -> list[dict]:
    """Pages as {name, declared, language, lines: [(gold, text)]}."""
    pages = []
    for path in sorted((folder / "mixed").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lines = [(_field(line, "lang", "language", "gold"), _field(line, "text"))
                 for line in _field(data, "lines", "paragraphs")]
        declared = data.get("declared_language", data.get("declared", data.get("site_lang")))
        language = data.get("language", data.get("doc_lang", data.get("document_language")))
        pages.append({"name": path.stem, "declared": declared, "language": language, "lines": lines})
    return pages


def is_long(kind: str) -> bool:
    return any(kind.startswith(k) for k in LONG_KINDS)


def evaluate(config: DetectConfig, items, pages, repeat: int = 1) -> dict:
    stage = DetectStage(StageContext(replace(Config(), detect=config)))
    # Models load lazily (lingua one language at a time); a long run pays that once, so the
    # clock starts after every script has been seen.
    for text in WARM_UP:
        stage.detect(CleanRecord(doc_id="warm-up", text=text))
        if hasattr(stage.backend, "lingua"):
            stage.backend.lingua.scores(text)
    # The machine may be shared: the best of `repeat` passes is the figure least disturbed.
    cpu = wall = float("inf")
    for _ in range(max(1, repeat)):
        if hasattr(stage.backend, "consulted"):
            stage.backend.consulted = 0
        predictions = []
        page_records = []
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for i, (_, _, text) in enumerate(items):
            predictions.append(stage.detect(CleanRecord(doc_id=f"item-{i}", text=text)).language)
        for page in pages:
            text = "\n\n".join(t.strip() for _, t in page["lines"])
            page_records.append(stage.detect(CleanRecord(doc_id=page["name"], text=text,
                                                  declared_language=page["declared"])))
        cpu = min(cpu, time.process_time() - cpu_start)
        wall = min(wall, time.perf_counter() - wall_start)

    long_total = long_right = focus_total = focus_right = short_total = short_right = 0
    predicted = Counter()
    predicted_right = Counter()
    confusions: Counter = Counter()
    for (gold, kind, _), guess in zip(items, predictions, strict=True):
        if is_long(kind):
            long_total += 1
            long_right += guess == gold
            predicted[guess] += 1
            predicted_right[guess] += guess == gold
            if gold in FOCUS:
                focus_total += 1
                focus_right += guess == gold
            if guess != gold:
                confusions[(gold, guess)] += 1
        else:
            short_total += 1
            short_right += guess == gold

    lines_total = lines_right = docs_right = docs_with_gold = 0
    line_confusions: Counter = Counter()
    for page, record in zip(pages, page_records, strict=True):
        golds = [g for g, t in page["lines"] if t.strip()]
        guesses = [p["language"] for p in record.paragraphs]
        if len(golds) != len(guesses):  # a blank line in the gold: align by text instead
            raise SystemExit(f"{page['name']}: {len(golds)} gold lines, {len(guesses)} paragraphs")
        for gold, guess in zip(golds, guesses, strict=True):
            lines_total += 1
            lines_right += gold == guess
            if gold != guess:
                line_confusions[(gold, guess)] += 1
        if page["language"]:
            docs_with_gold += 1
            docs_right += record.language == page["language"]
    n_lines = len(items) + sum(len(p["lines"]) for p in pages)
    return {
        "long": (long_right, long_total), "focus": (focus_right, focus_total), "short": (short_right, short_total),
        "precision": {lang: (predicted_right[lang], predicted[lang]) for lang in FOCUS},
        "lines": (lines_right, lines_total), "docs": (docs_right, docs_with_gold),
        "lines_per_s_cpu": n_lines / cpu if cpu else float("inf"), "lines_per_s_wall": n_lines / wall,
        "confusions": confusions.most_common(8), "line_confusions": line_confusions.most_common(8),
        "consulted": getattr(stage.backend, "consulted", None), "n": n_lines,
        "predictions": predictions,  # the item languages, in the items' order
    }


def pct(pair: tuple[int, int]) -> str:
    right, total = pair
    return f"{100 * right / total:6.2f} % ({right}/{total})" if total else "     –"


def print_figures(name: str, r: dict, confusions: bool = False) -> None:
    """The table of figures of one configuration, as `evaluate` measured them."""
    print(f"\n== {name}")
    print(f"  sentences+paragraphs, all languages : {pct(r['long'])}")
    print(f"  sentences+paragraphs, it/en/fr      : {pct(r['focus'])}")
    for lang in FOCUS:
        print(f"  precision of {lang}                     : {pct(r['precision'][lang])}")
    print(f"  shorter items (pairs, words)        : {pct(r['short'])}")
    print(f"  mixed pages, lines                  : {pct(r['lines'])}")
    print(f"  mixed pages, document language      : {pct(r['docs'])}")
    print(f"  speed                               : {r['lines_per_s_cpu']:.0f} lines/s CPU "
          f"({r['lines_per_s_wall']:.0f} lines/s wall, {r['n']} lines)")
    if r["consulted"] is not None:
        print(f"  lingua consulted                    : {r['consulted']} texts")
    if confusions:
        print("  confusions (gold→guess)             :",
              ", ".join(f"{g}→{p} {n}" for (g, p), n in r["confusions"]) or "none")
        print("  line confusions (gold→guess)        :",
              ", ".join(f"{g}→{p} {n}" for (g, p), n in r["line_confusions"]) or "none")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(ROOT / "bench" / "data" / "detect"))
    parser.add_argument("--backend", action="append", choices=sorted(CONFIGURATIONS),
                        help="configuration to evaluate (repeatable; default: all)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N items (a quick look)")
    parser.add_argument("--fast-accept", type=float, help="override detect.fast_accept for the ensemble")
    parser.add_argument("--errors", action="store_true", help="print the most frequent confusions")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes; the best is reported (default 1)")
    args = parser.parse_args(argv)
    folder = Path(args.data)
    items = load_items(folder)
    if args.limit:
        items = items[: args.limit]
    pages = load_pages(folder)
    kinds = Counter(kind for _, kind, _ in items)
    langs = len({lang for lang, _, _ in items})
    print(f"{folder}: {len(items)} items in {langs} languages ({dict(kinds)}), {len(pages)} mixed pages")
    for name in args.backend or list(CONFIGURATIONS):
        config = CONFIGURATIONS[name]
        if args.fast_accept is not None and config.backend == "ensemble":
            config = replace(config, fast_accept=args.fast_accept)
        r = evaluate(config, items, pages, args.repeat)
        print_figures(name, r, args.errors)


if __name__ == "__main__":
    main()
