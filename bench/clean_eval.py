"""How well clean keeps the article and only the article, against pages with gold article text.

Each page NAME.txt / NAME.html has NAME.gold.json: {language, title, paragraphs}. The score is
token-level F1 of the kept text against the gold paragraphs: tokens are lower-cased word
characters runs (letters and digits), compared as multisets over the whole page; precision,
recall and F1 are computed per page and averaged over pages, then reported per format and
per language. The headline is not part of the gold text, so a method that keeps it pays in
precision.

Methods:
  keep-all     every block of the dump; for HTML, all the visible text of the page
  c4-lines     C4-style line rules (terminal punctuation, at least 5 words, no policy words)
  trafilatura  trafilatura.extract on the HTML alone (HTML pages only)
  newsum       the clean stage, through the same reading code as `newsum run`

    python bench/clean_eval.py --data ../main/bench/data/clean --data bench/data/clean-dev
    python bench/clean_eval.py --data DIR --show NAME     # per block: gold, kept, reason
    python bench/clean_eval.py --external                 # + the real-page corpus, dev and test
    python bench/clean_eval.py --external --teacher       # + the teacher-labelled pages, apart
    python bench/clean_eval.py --dumps                    # the corpus's pages as w3m, lynx, a browser dump them
    python bench/clean_eval.py --sites                    # 40 pages a site: each page alone, then as one run
    python bench/clean_eval.py --external --as-run        # each folder cleaned as one run (site templates)

`--external [DIR]` adds the corpus bench/clean_corpus.py builds (default
~/.cache/newsum/clean-corpus): its dev and test splits, text dumps and HTML, each reported
beside the project's own pages, overall and per language. Scripts written without spaces
(Chinese, Japanese, Thai...) are scored per character.

`--teacher [DIR]` adds the pages bench/clean_teacher.py labels with trafilatura (default
~/.cache/newsum/clean-corpus-teacher), reported as a group of their own, per split and per
language: their "gold" is trafilatura's reading of the HTML, so they never enter the gold-labelled
figures, and trafilatura's own row on them measures nothing (it is the teacher).

`--dumps [DIR]` adds the corpus's pages as other tools dump them (bench/clean_dumps.py, default
~/.cache/newsum/clean-dumps: w3m and lynx wrap paragraphs at the screen's width; a browser's
copy glues links and has no bullets), with the corpus's gold, one table per tool and split.

`--sites [DIR]` adds the corpus of many pages per site (bench/clean_sites.py, default
~/.cache/newsum/clean-sites), each split scored twice: every page cleaned on its own, and the
split's pages cleaned as one run, as `newsum run` does a folder: lines that recur on pages of
other stories go as site templates (pipeline/stages/clean/templates.py). Its "chaos" part
(309 pages of 226 other sites, nothing tuned on it) is scored the same way. `--as-run` does the
same for every other folder: its text pages surveyed together before they are cleaned.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.inputs import Document, read_document  # noqa: E402
from pipeline.stages.base import StageContext  # noqa: E402
from pipeline.stages.clean.stage import CleanStage  # noqa: E402

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Scripts without spaces between words: each character is a token.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
EXTERNAL = Path.home() / ".cache" / "newsum" / "clean-corpus"
TEACHER = Path.home() / ".cache" / "newsum" / "clean-corpus-teacher"
DUMPS = Path.home() / ".cache" / "newsum" / "clean-dumps"
SITES = Path.home() / ".cache" / "newsum" / "clean-sites"
_C4_TERMINAL = re.compile(r"[.!?\"”»]\s*$")
_C4_POLICY = re.compile(r"javascript|terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies",
                        re.IGNORECASE)


def tokens(text: str) -> Counter:
    counts: Counter = Counter()
    for token in _TOKEN.findall(text.lower()):
        if _UNSPACED.search(token):
            counts.update(_UNSPACED.findall(token))
            rest = _UNSPACED.sub(" ", token).split()
            counts.update(rest)
        else:
            counts[token] += 1
    return counts


def prf(kept: str, gold: str) -> tuple[float, float, float]:
    k, g = tokens(kept), tokens(gold)
    overlap = sum((k & g).values())
    nk, ng = sum(k.values()), sum(g.values())
    if nk == 0 and ng == 0:
        return 1.0, 1.0, 1.0
    p = overlap / nk if nk else 0.0
    r = overlap / ng if ng else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def keep_all(path: Path, source) -> str:
    if source.format == "html":
        from pipeline.stages.clean.html import visible_text_blocks

        return "\n".join(visible_text_blocks(source.text))
    return source.text


def c4_lines(path: Path, source) -> str:
    text = keep_all(path, source)
    kept = [line.strip() for line in text.splitlines()
            if _C4_TERMINAL.search(line) and len(line.split()) >= 5 and not _C4_POLICY.search(line)]
    return "\n".join(kept)


def trafilatura_alone(path: Path, source) -> str | None:
    if source.format != "html":
        return None
    import trafilatura

    return trafilatura.extract(source.text, include_comments=False, include_tables=False) or ""


_stage = CleanStage(StageContext(Config()))
# Per page path: its site-template lines, when its folder is cleaned as one run.
_evidence: dict[str, frozenset[str]] = {}


_last_title: list[str] = [""]  # the title newsum gave the page scored last


def newsum(path: Path, source) -> str:
    record = _stage.clean(path.stem, str(path), source, _evidence.get(str(path), frozenset()))
    _last_title[0] = record.title
    return record.text


def same_title(found: str, gold: str) -> bool:
    """The same headline: token F1 of 0.8 or more (a gold title from a page's <title> often
    carries the site's name, "Headline - Site")."""
    return prf(found, gold)[2] >= 0.8


def as_one_run(found: list[tuple[Path, dict]]) -> None:
    """Survey the pages together, as `newsum run` does the documents of a run (nothing remembered)."""
    documents = [Document(page.stem, page, "text") for page, _ in found if page.suffix == ".txt"]
    survey = CleanStage.survey(documents, _stage.context, {})
    _evidence.clear()
    _evidence.update({name: frozenset(lines) for name, lines in survey.evidence.items()})


METHODS = {"keep-all": keep_all, "c4-lines": c4_lines, "trafilatura": trafilatura_alone, "newsum": newsum}


def pages(folders: list[Path]) -> list[tuple[Path, dict]]:
    found = []
    for folder in folders:
        for gold_path in sorted(folder.glob("*.gold.json")):
            name = gold_path.name[: -len(".gold.json")]
            page = next((folder / f"{name}{ext}" for ext in (".txt", ".html", ".htm")
                         if (folder / f"{name}{ext}").exists()), None)
            if page is not None:
                found.append((page, json.loads(gold_path.read_text(encoding="utf-8"))))
    return found


def show(page: Path, gold: dict) -> None:
    source = read_document(Document(page.stem, page, "html" if page.suffix in (".html", ".htm") else "text"))
    record = CleanStage(StageContext(Config(), explain=True)).clean(page.stem, str(page), source)
    gold_blocks = {" ".join(p.split()) for p in gold["paragraphs"]}
    print(f"title: {record.title!r}\n gold: {gold['title']!r}")
    for block in record.report.get("explain", []):
        text = " ".join(block["text"].split())
        excerpt = text.removesuffix("…")  # explain rows hold excerpts of long blocks
        in_gold = text in gold_blocks or (text.endswith("…") and any(g.startswith(excerpt) for g in gold_blocks))
        kept = block["decision"] == "keep"
        mark = "  " if kept == in_gold else ("FP" if kept else "FN")
        print(f"{mark} {'keep' if kept else block['reason']:<16} {text[:110]}")
        if mark != "  ":
            print(f"{'':20}{block['signals']}")
    print("scores:", [round(x, 3) for x in prf(record.text, "\n".join(gold["paragraphs"]))])


def evaluate(found: list[tuple[Path, dict]], per_page: bool = False) -> dict[str, dict[str, list]]:
    """scores[method][group] -> per-page (precision, recall, F1)."""
    scores: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for page, gold in found:
        fmt = "html" if page.suffix in (".html", ".htm") else "text"
        source = read_document(Document(page.stem, page, fmt))
        gold_text = "\n".join(gold["paragraphs"])
        row = []
        for name, method in METHODS.items():
            kept = method(page, source)
            if kept is None:
                continue
            result = prf(kept, gold_text)
            for group in ("all", f"format={fmt}", f"lang={gold['language']}", f"{fmt}/{gold['language']}"):
                scores[name][group].append(result)
                if name == "newsum" and gold.get("title"):
                    scores["title"][group].append(same_title(_last_title[0], gold["title"]))
            row.append(f"{name}={result[2]:.3f}")
        if per_page:
            print(f"{page.name:<60} {' '.join(row)}")
    return scores


def print_table(scores: dict[str, dict[str, list]], label: str, languages: bool = True) -> None:
    groups = sorted({g for m in scores.values() for g in m}, key=lambda g: (g != "all", "/" in g, g))
    if not languages:
        groups = [g for g in groups if not g.startswith("lang=") and "/" not in g]
    methods = [m for m in METHODS if scores.get(m)]
    titled = bool(scores.get("title"))
    print(f"\n== {label}: token F1 (precision/recall) averaged per page"
          + ("; title: share of pages (whose gold has one) where newsum's has F1 >= 0.8 against it" if titled else ""))
    print(f"{'group':<16}{'pages':>6}" + "".join(f"{m:>22}" for m in methods) + (f"{'title':>8}" if titled else ""))
    for group in groups:
        n = len(scores["newsum"][group])
        cells = []
        for method in methods:
            values = scores[method].get(group)
            if not values:
                cells.append(f"{'-':>22}")
                continue
            p, r, f = (sum(v[i] for v in values) / len(values) for i in range(3))
            cells.append(f"{f:>10.3f} ({p:.2f}/{r:.2f})")
        if titled:
            hits = scores["title"].get(group, [])
            cells.append(f"{sum(hits) / len(hits):>8.2f}" if hits else f"{'-':>8}")
        print(f"{group:<16}{n:>6}" + "".join(cells))
    failed = [v for v in scores["newsum"].get("all", []) if v[2] == 0.0]
    if failed:
        print(f"pages where newsum kept nothing of the gold: {len(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", type=Path,
                        help="folder of pages with gold (repeatable); default bench/data/clean and bench/data/clean-dev")
    parser.add_argument("--show", help="print per-block decisions for one page NAME")
    parser.add_argument("--pages", action="store_true", help="print each page's F1 per method")
    parser.add_argument("--external", nargs="?", const=EXTERNAL, type=Path,
                        help="also the real-page corpus of bench/clean_corpus.py (dev and test splits)")
    parser.add_argument("--teacher", nargs="?", const=TEACHER, type=Path,
                        help="also the teacher-labelled pages of bench/clean_teacher.py, as their own group")
    parser.add_argument("--dumps", nargs="?", const=DUMPS, type=Path,
                        help="also the corpus's pages as other tools dump them (bench/clean_dumps.py)")
    parser.add_argument("--sites", nargs="?", const=SITES, type=Path,
                        help="also the corpus of many pages per site (bench/clean_sites.py): alone and as one run")
    parser.add_argument("--as-run", action="store_true",
                        help="clean each folder's text pages as one run (site templates across them)")
    parser.add_argument("--splits", default="dev,test", help="with --external/--teacher/--dumps: which splits (dev,test)")
    args = parser.parse_args()
    folders = args.data or [p for p in (ROOT / "bench/data/clean", ROOT / "bench/data/clean-dev") if p.is_dir()]
    found = pages(folders)
    if not found and not args.external and not args.teacher and not args.dumps and not args.sites:
        sys.exit("no pages with gold found; pass --data FOLDER")
    if args.show:
        extra = [root / s / f for root in (args.external, args.teacher) if root
                 for s in ("dev", "test") for f in ("text", "html")]
        for page, gold in found + pages([f for f in extra if f.is_dir()]):
            if page.stem == args.show:
                show(page, gold)
        return
    def scored(found_here: list[tuple[Path, dict]], as_run: bool) -> dict:
        if as_run:
            as_one_run(found_here)
        try:
            return evaluate(found_here, args.pages)
        finally:
            _evidence.clear()

    if found:
        print(f"{len(found)} pages from {', '.join(str(f) for f in folders)}")
        print_table(scored(found, args.as_run), "own pages" + (", as one run" if args.as_run else ""))
    if args.sites:
        chaos = ["chaos"] if (args.sites / "chaos" / "text").is_dir() else []  # one or two pages a site
        for split in args.splits.split(",") + chaos:
            folder = args.sites / split / "text"
            found_here = pages([folder]) if folder.is_dir() else []
            if not found_here:
                print(f"\n(no pages in {folder}: build them with bench/clean_sites.py)")
                continue
            for as_run in (False, True):
                print_table(scored(found_here, as_run), f"sites {split} ({len(found_here)} pages, {folder}), "
                            + ("as one run" if as_run else "each page alone"), languages=False)
    for root, label, builder, note in ((args.external, "external", "bench/clean_corpus.py", ""),
                                       (args.teacher, "TEACHER-labelled", "bench/clean_teacher.py build", "; not gold")):
        if not root:
            continue
        for split in args.splits.split(","):
            for fmt in ("text", "html"):
                folder = root / split / fmt
                found_here = pages([folder]) if folder.is_dir() else []
                if not found_here:
                    print(f"\n(no pages in {folder}: build them with {builder})")
                    continue
                as_run = args.as_run and fmt == "text"
                print_table(scored(found_here, as_run),
                            f"{label} {split} {fmt} ({len(found_here)} pages, {folder}{note})"
                            + (", as one run" if as_run else ""), languages=fmt == "text")
    if args.dumps:
        tools = sorted(d.name for d in args.dumps.iterdir() if d.is_dir()) if args.dumps.is_dir() else []
        if not tools:
            print(f"\n(no dumps in {args.dumps}: build them with bench/clean_dumps.py)")
        for split in args.splits.split(","):
            for tool in tools:
                folder = args.dumps / tool / split / "text"
                dumped = pages([folder]) if folder.is_dir() else []
                if dumped:
                    print_table(scored(dumped, args.as_run),
                                f"external {split} as {tool} dumps them ({len(dumped)} pages, {folder})"
                                + (", as one run" if args.as_run else ""), languages=False)


if __name__ == "__main__":
    main()
