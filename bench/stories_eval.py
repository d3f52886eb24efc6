"""Story grouping and near-copy detection measured on real news articles nobody here wrote.

Data: WikiRef220 (Gialampoukidis, Vrochidis & Kompatsiaris 2016), 220 English news articles
cited as references by Wikipedia articles on 16 topics (Paris attacks 2015, MH370, Premier
League, Samsung Galaxy S5, Michelle Obama, ...), shipped as text files in
  repo:    github.com/dpacassi/dynamic-event-detection-in-data-streams
  commit:  3207bdee91d7f14cc60dc05dd9c64fe48f37e516
  path:    app/data_processing/test_data/wikiref/WikiRef220/<topic>.<n>.txt
  licence: none stated in the repository (research data set); so it is built into a
           git-ignored cache (~/.cache/newsum/wikiref220/), never into this repository.
Labels are the topic of each file (its name). The files carry no outlet, so the split is by
topic: topics sorted by name, alternate ones go to dev and test (dev: tune; test: report).
Topics are broader than single events; B-cubed precision therefore understates what a reader
would accept, recall is the stricter figure.

Near copies: the set holds few copies, so precision of near-copy detection is measured as the
share of detected copy pairs whose members share a topic, and the reach of MinHash on
rewrites is measured by rewriting each test article: replacing a share of its words (every
k-th word swapped for a word of another article) and adding a footer, then asking whether the
rewrite is still found as a copy of its original.

Copies on crawled pages: ML-Crisis (the CL-TLS data collection, La Quatra et al. 2021), 1 671
Spanish, French and Italian news pages as crawled text, menus and cookie banners included,
shipped in
  repo:    github.com/MorenoLaQuatra/CL-TLS
  commit:  39ae6d5c84f86af45811fc2bf4ea44c4809a685f
  licence: none stated in the repository; built into ~/.cache/newsum/cltls/ only.
The same page is often filed under two topics (a Global Voices post under Egypt and Yemen),
and sites share templates: the right shape to measure the precision of copy detection.
The pages go through `newsum run ... --stages clean` first, as in a night. Dev: the Spanish
pages; test: the French and Italian ones (other sites). A copy pair found counts as right when
the two cleaned texts share one verbatim passage of 40 words or more that is also a quarter of
the shorter text (difflib), a check that does not depend on the MinHash estimate; it is not a
human judgement.

Usage:
  python bench/stories_eval.py --build            # fetch-free: needs the repository's git dir (see --git-dir)
  python bench/stories_eval.py --build-copies --git-dir DIR      # ML-Crisis pages into the cache
  newsum run ~/.cache/newsum/cltls/pages --out ~/.cache/newsum/cltls/out --stages clean
  python bench/stories_eval.py --copies ~/.cache/newsum/cltls/out  # copy pairs and their precision
  python bench/stories_eval.py                    # figures for dev and test
  python bench/stories_eval.py --sweep            # dev only: thresholds and evidence weights
  python bench/stories_eval.py --set embed_chars=200 ...   # any stories setting over models.yaml's
  python bench/stories_eval.py --timing 10000 --timing-only  # the whole of grouping N articles, one core
  python bench/stories_eval.py --timing 10000 --timing-only --timing-source cnn  # the same from 1 100
                                                  # CNN/DailyMail articles (bench/summarize_corpus.py's cache)
  python bench/stories_eval.py --timing 10000 --timing-only --timing-source mixed  # and ML-Crisis, French

Thresholds (models.yaml) are chosen on dev by one rule: the highest join threshold whose dev
F1 is within 0.02 of the best dev F1, ties to the larger evidence weight (the labels are
topics, broader than events, so the highest threshold that still groups them is the one
least likely to merge two events; evidence is what carries a pair across languages, which
this English set cannot show).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.neardup import CopyCandidate, copy_groups  # noqa: E402
from pipeline.stories import (  # noqa: E402
    Article,
    StoryIndex,
    date_in_text,
    embed,
    embedding_backend,
    group,
)

REPO = "dpacassi/dynamic-event-detection-in-data-streams"
COMMIT = "3207bdee91d7f14cc60dc05dd9c64fe48f37e516"
FOLDER = "app/data_processing/test_data/wikiref/WikiRef220"
CACHE = Path(os.environ.get("NEWSUM_CACHE", Path.home() / ".cache" / "newsum")) / "wikiref220"
DEFAULT_GIT = Path("/work/.mirror/dpacassi+dynamic-event-detection-in-data-streams/repo/.git")


def build(git_dir: Path) -> None:
    names = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "--name-only", f"{COMMIT}:{FOLDER}"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    CACHE.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in filter(None, names):
        raw = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{COMMIT}:{FOLDER}/{name}"],
                             capture_output=True, check=True).stdout.decode("utf-8", errors="replace")
        topic = re.sub(r"[\s.(]*\d+\)?\.txt$", "", name).lower().replace("parisattacks2015", "paris.attacks")
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        if not lines:
            continue
        rows.append({"id": name, "topic": topic, "title": lines[0], "text": "\n\n".join(lines[1:])})
    (CACHE / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (CACHE / "SOURCE").write_text(f"{REPO} {COMMIT} {FOLDER}\n", encoding="utf-8")
    print(f"{len(rows)} articles, {len(set(r['topic'] for r in rows))} topics -> {CACHE}")


CLTLS_REPO = "MorenoLaQuatra/CL-TLS"
CLTLS_COMMIT = "39ae6d5c84f86af45811fc2bf4ea44c4809a685f"
CLTLS_CACHE = CACHE.parent / "cltls"


def build_copies(git_dir: Path) -> None:
    names = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", CLTLS_COMMIT],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    count = 0
    for name in names:
        if not name.endswith(".txt") or "/reference/" in name:
            continue
        data = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{CLTLS_COMMIT}:{name}"],
                              capture_output=True, check=True).stdout
        path = CLTLS_CACHE / "pages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        count += 1
    (CLTLS_CACHE / "SOURCE").write_text(f"{CLTLS_REPO} {CLTLS_COMMIT}\n", encoding="utf-8")
    print(f"{count} pages -> {CLTLS_CACHE / 'pages'}")


COMMON_RUN = 40  # words in one verbatim passage that make two pages the same article...
COMMON_SHARE = 0.25  # ...when it is also this share of the shorter text (a shared template passage is not)


def longest_common_run(a: str, b: str) -> int:
    from difflib import SequenceMatcher

    wa, wb = a.split(), b.split()
    match = SequenceMatcher(None, wa, wb, autojunk=False).find_longest_match(0, len(wa), 0, len(wb))
    return match.size


def copies_on_pages(out: Path, threshold: float, shingle_words: int, show: bool) -> None:
    """Copy pairs among the clean records of the ML-Crisis pages; dev: Spanish pages, test: French and
    Italian (other sites). A pair counts as right when the two texts share a verbatim passage of
    COMMON_RUN words or more: an independent check of what MinHash estimates, not a human judgement."""
    by_part: dict[str, list[CopyCandidate]] = {"dev": [], "test": []}
    for path in sorted(out.rglob("clean.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("status") != "failed" and record.get("text"):
            part = "dev" if record["doc_id"].startswith("es/") else "test"
            by_part[part].append(CopyCandidate(record["doc_id"], f"{record.get('title', '')}\n{record['text']}"))
    for part, candidates in by_part.items():
        groups = copy_groups(candidates, threshold=threshold, shingle_words=shingle_words)
        text = {c.doc_id: c.text for c in candidates}
        pairs = [(g.canonical, m, g.kind, g.similarity[m]) for g in groups for m in g.members if m != g.canonical]
        right = [longest_common_run(text[a], text[b])
                 >= max(min(COMMON_RUN, len(text[a].split()), len(text[b].split())),
                        COMMON_SHARE * min(len(text[a].split()), len(text[b].split())))
                 for a, b, _, _ in pairs]
        exact = sum(1 for p in pairs if p[2] == "exact")
        precision = f"{sum(right) / len(right):.3f}" if right else "n/a"
        print(f"copies, {part} ({len(candidates)} cleaned pages; shingles of {shingle_words} words, threshold "
              f"{threshold}): {len(pairs)} pairs ({exact} exact), precision {precision} "
              f"(a verbatim passage of {COMMON_RUN}+ words and {COMMON_SHARE:.0%}+ of the shorter text)")
        if show:
            for (a, b, kind, sim), ok in zip(pairs, right, strict=True):
                print(f"  {'ok ' if ok else 'NO '} {sim:.3f} {kind} {a} | {b}")


def load() -> list[dict]:
    path = CACHE / "articles.jsonl"
    if not path.is_file():
        sys.exit(f"{path} missing: run python bench/stories_eval.py --build first")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cnn_rows() -> list[dict]:
    """The CNN/DailyMail articles of bench/summarize_corpus.py's cache (both parts; timing only, no
    labels), each with its first sentence as a headline: five times as many distinct articles as
    WikiRef220, so a synthetic night made of them has more distinct stories and fewer shared pieces."""
    root = CACHE.parent / "summarize-en"
    files = sorted(root.glob("*/en/*.json"))
    if not files:
        sys.exit(f"{root} has no articles: run python bench/summarize_corpus.py first")
    rows = []
    for path in files:
        text = json.loads(path.read_text(encoding="utf-8"))["text"]
        rows.append({"title": text.split(". ")[0][:120], "text": text[:3000]})
    return rows


def mixed_rows() -> list[dict]:
    """cnn_rows() with the ML-Crisis pages (Spanish, French, Italian; --build-copies) and the French
    articles of ../shared/dev/summarize-fr where present, those of five sentences or more: about 3 100
    distinct articles, so a synthetic night of 10 000 has several hundred stories in four languages."""
    rows = cnn_rows()
    pages = CACHE.parent / "cltls.jsonl"
    if pages.is_file():
        for line in pages.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            rows.append({"title": text.split("\n", 1)[0][:120], "text": text[:3000]})
    from summarize_corpus import FRENCH, french  # the same reader the summarize bench builds from

    rows += [{"title": a["title"], "text": a["text"][:3000]} for a in french(FRENCH)]
    return [r for r in rows if len(re.split(r"(?<=[.!?])\s+", r["text"])) >= 5]


def split(rows: list[dict]) -> dict[str, list[dict]]:
    topics = sorted({r["topic"] for r in rows})
    dev = set(topics[0::2])
    return {"dev": [r for r in rows if r["topic"] in dev], "test": [r for r in rows if r["topic"] not in dev]}


def bcubed(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float]:
    by_pred, by_gold = {}, {}
    for d in gold:
        by_pred.setdefault(pred[d], set()).add(d)
        by_gold.setdefault(gold[d], set()).add(d)
    p = sum(len(by_pred[pred[d]] & by_gold[gold[d]]) / len(by_pred[pred[d]]) for d in gold) / len(gold)
    r = sum(len(by_pred[pred[d]] & by_gold[gold[d]]) / len(by_gold[gold[d]]) for d in gold) / len(gold)
    return p, r


OVERRIDES: dict = {}  # stories settings given on the command line, over models.yaml's


def _config(**changes):
    from pipeline.config import load_config

    cfg = load_config(Path(__file__).resolve().parent.parent / "models.yaml").stories
    return replace(cfg, **{**OVERRIDES, **changes})


def articles(rows: list[dict], backend: str | None, cfg=None) -> list[Article]:
    """Articles prepared as a night prepares them (pipeline/storyrun.py): evidence, words, embeddings."""
    from pipeline.storyrun import prepare

    out = [Article(doc_id=r["id"], title=r["title"], text=r["text"], language="en",
                   dated=date_in_text(r["title"], r["text"])) for r in rows]
    prepare(out, cfg or _config(), backend)
    return out


_PREPARED: dict[tuple, list[Article]] = {}


def grouping(rows: list[dict], backend: str | None, threshold: float, evidence_weight: float,
             cfg=None) -> tuple[float, float, int]:
    cfg = cfg or _config()
    key = (backend, cfg.embed_chars, cfg.lead_chars, tuple(r["id"] for r in rows))
    if key not in _PREPARED:
        _PREPARED[key] = articles(rows, backend, cfg)
    arts = [replace(a) for a in _PREPARED[key]]
    from pipeline.storyrun import grouping_settings

    index = StoryIndex(replace(grouping_settings(cfg, backend), join_threshold=threshold,
                               evidence_weight=evidence_weight))
    group(arts, index, "2026-01-01")
    p, r = bcubed(index.story_of, {row["id"]: row["topic"] for row in rows})
    return p, r, len(index.stories)


def copies_precision(rows: list[dict], threshold: float) -> tuple[int, float | None]:
    groups = copy_groups([CopyCandidate(r["id"], r["text"]) for r in rows], threshold=threshold)
    topic = {r["id"]: r["topic"] for r in rows}
    pairs = [(g.canonical, m) for g in groups for m in g.members if m != g.canonical]
    good = sum(topic[a] == topic[b] for a, b in pairs)
    return len(pairs), (good / len(pairs) if pairs else None)


def rewrite(text: str, share: float, filler: list[str], rng: random.Random) -> str:
    words = text.split()
    k = max(1, round(1 / share)) if share else 0
    if k:
        words = [rng.choice(filler) if i % k == k - 1 else w for i, w in enumerate(words)]
    return " ".join(words) + "\n\nThis story was rewritten from wire reports. Share it with your friends and follow us."


def reach(rows: list[dict], threshold: float) -> list[tuple[float, float]]:
    rng = random.Random(7)
    filler = [w for r in rows[:20] for w in r["text"].split()]
    figures = []
    for share in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5):
        found = 0
        for r in rows:
            copy = rewrite(r["text"], share, filler, rng)
            groups = copy_groups([CopyCandidate("orig", r["text"]), CopyCandidate("copy", copy)], threshold=threshold)
            found += bool(groups)
        figures.append((share, found / len(rows)))
    return figures


def synthetic(rows: list[dict], n: int) -> list[Article]:
    """n distinct articles from real sentences (few near copies, as in a night of many sites): two fifths of
    one article's sentences and of another's, shuffled, names renamed at random."""
    rng = random.Random(3)
    synth = []
    sentences = [re.split(r"(?<=[.!?])\s+", r["text"]) for r in rows]
    for i in range(n):
        src, other = i % len(rows), rng.randrange(len(rows))
        picked = [x for k in (src, other) for x in rng.sample(sentences[k], max(2, len(sentences[k]) * 2 // 5))
                  if len(sentences[k]) >= 2]
        rng.shuffle(picked)
        suffix = f"x{i}"

        def rename(match, suffix=suffix):
            return match.group(1) + (suffix if rng.random() < 0.3 else "")

        text = re.sub(r"\b([A-Z][a-z]+)\b", rename, " ".join(picked))
        synth.append(Article(doc_id=f"d{i}", title=rows[src]["title"] + f" {suffix}", text=text, language="en"))
    return synth


def timing(rows: list[dict], n: int, backend: str | None) -> None:
    """The whole of story grouping for n articles, as a night runs it on one core: evidence, words and
    embeddings of every article (none cached), near copies, then grouping. The process is pinned to
    one CPU and the encoder runs one BLAS thread."""
    from pipeline.storyrun import grouping_settings

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cfg = _config()
    synth = synthetic(rows, n)
    if backend:  # the encoder's weights load once per process, not once per night's article
        embed(["warm up"], backend)
    from pipeline.storyrun import prepare_keys, prepare_vectors

    clock = [(time.process_time(), time.perf_counter())]
    groups = copy_groups([CopyCandidate(a.doc_id, a.text) for a in synth], cfg.near_duplicate_threshold,
                         cfg.shingle_words, cfg.num_perm)
    copies = {m: g.canonical for g in groups for m in g.members if m != g.canonical}
    clock.append((time.process_time(), time.perf_counter()))
    prepare_keys(synth, cfg)
    clock.append((time.process_time(), time.perf_counter()))
    if backend:
        prepare_vectors(synth, cfg, backend, copies=set(copies))
    clock.append((time.process_time(), time.perf_counter()))
    index = StoryIndex(grouping_settings(cfg, backend))
    group(synth, index, "2026-01-01", copies)
    clock.append((time.process_time(), time.perf_counter()))
    cpu = [b[0] - a[0] for a, b in zip(clock, clock[1:], strict=False)]
    chars = sum(len(a.text) for a in synth)
    print(f"timing, {n} articles ({chars / n:.0f} characters each), one core ({backend or 'tfidf'}, embed_chars "
          f"{cfg.embed_chars}), CPU seconds: near copies {cpu[0]:.1f} ({len(groups)} groups, {len(copies)} copies), "
          f"evidence+words {cpu[1]:.1f}, embeddings {cpu[2]:.1f}, grouping {cpu[3]:.1f} ({len(index.stories)} "
          f"stories); total {sum(cpu):.1f} s CPU, {clock[-1][1] - clock[0][1]:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--git-dir", type=Path, default=DEFAULT_GIT)
    parser.add_argument("--timing", type=int, default=0, help="also time grouping N articles")
    parser.add_argument("--timing-only", action="store_true", help="with --timing: only the timing")
    parser.add_argument("--timing-source", choices=("wikiref", "cnn", "mixed"), default="wikiref",
                        help="with --timing: the real articles the synthetic night is made from")
    parser.add_argument("--sweep", action="store_true", help="dev only: thresholds and weights")
    parser.add_argument("--build-copies", action="store_true", help="ML-Crisis pages into the cache")
    parser.add_argument("--copies", type=Path, metavar="OUT", help="copy pairs among the clean records in OUT")
    parser.add_argument("--show", action="store_true", help="with --copies: print each pair")
    parser.add_argument("--shingle-words", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a stories setting over models.yaml's (embed_chars=200, date_gap_days=0, ...)")
    args = parser.parse_args()
    for item in args.set:
        key, value = item.split("=", 1)
        OVERRIDES[key] = type(getattr(_config(), key))(value)
    if args.build:
        build(args.git_dir)
        return
    if args.build_copies:
        build_copies(args.git_dir)
        return
    if args.copies:
        from pipeline.config import load_config

        cfg = load_config(Path(__file__).resolve().parent.parent / "models.yaml").stories
        copies_on_pages(args.copies, args.threshold or cfg.near_duplicate_threshold,
                        args.shingle_words or cfg.shingle_words, args.show)
        return
    rows = load()
    parts = split(rows)
    backend = embedding_backend("auto")
    timing_rows = {"wikiref": lambda: rows, "cnn": cnn_rows, "mixed": mixed_rows}[args.timing_source]()
    if args.timing and args.timing_only:
        timing(timing_rows, args.timing, backend)
        return
    if args.sweep:
        for b in (backend, None):
            for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7):
                for t in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                    p, r, k = grouping(parts["dev"], b, t, w)
                    f = 2 * p * r / (p + r)
                    print(f"dev {b or 'tfidf'} w={w} t={t}: P {p:.3f} R {r:.3f} F {f:.3f} stories {k}")
        return
    from pipeline.config import load_config
    from pipeline.storyrun import grouping_settings

    cfg = _config()
    for name, part in parts.items():
        topics = Counter(r["topic"] for r in part)
        print(f"{name}: {len(part)} articles, {len(topics)} topics")
        for b in ([backend] if backend else []) + [None]:
            settings = grouping_settings(cfg, b)
            p, r, k = grouping(part, b, settings.join_threshold, settings.evidence_weight, cfg)
            print(f"  grouping ({b or 'tfidf + evidence'}): B-cubed P {p:.3f} R {r:.3f} F1 {2 * p * r / (p + r):.3f}, "
                  f"{k} stories")
        pairs, precision = copies_precision(part, cfg.near_duplicate_threshold)
        print(f"  near copies found: {pairs} pairs, same-topic precision "
              f"{'n/a' if precision is None else f'{precision:.3f}'}")
        print("  reach on rewrites (share of words replaced -> found): "
              + ", ".join(f"{s:.0%} -> {f:.2f}" for s, f in reach(part, cfg.near_duplicate_threshold)))
    if args.timing:
        timing(timing_rows, args.timing, backend)


if __name__ == "__main__":
    main()
