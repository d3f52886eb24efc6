"""Build a corpus of many pages per site: what a nightly folder looks like, for site templates.

The other clean corpora (bench/clean_corpus.py, bench/clean_teacher.py) hold one or two pages
per site, so evidence that works across the pages of one site cannot be measured on them. This
one holds, for each of nine news sites, ten articles from each of four years (2005, 2009, 2013,
2017): forty pages a site, ten from each version of its page template, with a hand-made gold
text for each.

Source: MSVCode/ir-research-data ("Big9" web content extraction dataset; Utomo & Leu),
commit cbb428ce, terms "only for research purpose": the data stays in a git-ignored cache.

    fetch github:MSVCode/ir-research-data      (the search tool; a bare git dir under /work/.mirror)
    .venv/bin/python bench/clean_sites.py [--mirrors /work/.mirror] [--out ~/.cache/newsum/clean-sites]

The same dataset's "Chaos" set (360 pages of 2017 from about 240 sites, ten per search query)
becomes a third part, OUT/chaos/text: one or two pages a site, a held-out set nothing was
tuned on; its pages from the nine sites above are left out.

Writes OUT/{dev,test}/text/NAME.{txt,gold.json}, NAME = SITE-YEAR-KEYWORD; the gold has
`site` and `batch` (site and year: pages of one template). The split is by site, with the hash
bench/clean_corpus.py uses. The gold's first paragraph is the headline when it is short and
matches the page's <title>; it becomes the gold title (the headline is not article text).
Pages are turned into text dumps the way bench/clean_corpus.py does (inscriptis, the text a
reader copies from the page).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from clean_corpus import (  # noqa: E402
    MIN_GOLD_FOUND,
    decode,
    git_files,
    git_show,
    gold_found,
    html_title,
    page_site,
    render,
    slug,
    split_of,
    tokens,
)

DEFAULT_OUT = Path.home() / ".cache" / "newsum" / "clean-sites"
SOURCE = {"repo": "MSVCode/ir-research-data", "commit": "cbb428cea48e1392496a6542b610fb422a436b52",
          "licence": "research use only (cache only)", "path": "Extraction"}
SITES = ("arstechnica", "bbc", "cnn", "forbes", "foxnews", "latimes", "nymag", "nypost", "yahoo")
_DOMAIN = re.compile(r"\b(" + "|".join(SITES) + r")\.(?:com|co\.uk)\b", re.I)


def site_of(html: str) -> str | None:
    counts = Counter(m.lower() for m in _DOMAIN.findall(html))
    return counts.most_common(1)[0][0] if counts else None


def split_title(paragraphs: list[str], html: str) -> tuple[str, list[str]]:
    """(title, paragraphs): the first paragraph is the headline when it is short and most of its
    words are in the page's <title>."""
    if len(paragraphs) < 2:
        return "", paragraphs
    first = paragraphs[0]
    words, title = tokens(first), tokens(html_title(html))
    if sum(words.values()) <= 25 and sum((words & title).values()) >= 0.6 * sum(words.values()):
        return first, paragraphs[1:]
    return "", paragraphs


def build(mirrors: Path, out: Path) -> Counter:
    mirror = mirrors / SOURCE["repo"].replace("/", "+") / "repo"
    if not mirror.is_dir():
        sys.exit(f"no mirror at {mirror}: fetch github:{SOURCE['repo']} first")
    commit = pinned_commit(mirror)
    counts: Counter = Counter()
    for split in ("dev", "test", "chaos"):
        folder = out / split / "text"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    for path in git_files(mirror, commit, SOURCE["path"]):
        parts = path.split("/")
        if len(parts) != 4 or parts[2] != "html" or not (parts[1].startswith("big5-") or parts[1] == "chaos-all"):
            continue
        chaos = parts[1] == "chaos-all"
        year = "2017" if chaos else "20" + parts[1].split("-")[1]
        stem = Path(parts[3]).stem
        html = decode(git_show(mirror, commit, path))
        site = site_of(html)
        if chaos:
            if site is not None:  # one of the nine sites of the other parts
                counts["skipped: chaos page of a site of the other parts"] += 1
                continue
            site = page_site(html, stem)
        try:
            gold_raw = decode(git_show(mirror, commit, f"{parts[0]}/{parts[1]}/gold/{stem}.txt"))
        except Exception:  # noqa: BLE001 - a page without its gold is left out
            counts["skipped: no gold"] += 1
            continue
        if site is None:
            counts["skipped: site not found"] += 1
            continue
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", gold_raw) if p.strip()]
        title, paragraphs = split_title(paragraphs, html)
        dump = render(html)
        if gold_found(dump, paragraphs) < MIN_GOLD_FOUND:
            counts["skipped: gold not in the copied text"] += 1
            continue
        split = "chaos" if chaos else split_of(site)
        name = slug(f"{site}-{year}-{stem}")
        gold = {"language": "en", "title": title, "paragraphs": paragraphs, "site": site,
                "batch": f"{site}-{year}", "source": SOURCE["repo"]}
        folder = out / split / "text"
        (folder / f"{name}.txt").write_text(dump, encoding="utf-8")
        (folder / f"{name}.gold.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")
        counts[f"{split} pages"] += 1
        counts[f"{split} site={site}"] += 1
    return counts


def pinned_commit(mirror: Path) -> str:
    """The pinned commit when the mirror has it (it is the newest there today)."""
    import subprocess

    found = subprocess.run(["git", f"--git-dir={mirror}", "cat-file", "-e", SOURCE["commit"]], capture_output=True)
    if found.returncode == 0:
        return SOURCE["commit"]
    sys.exit(f"{mirror} lacks commit {SOURCE['commit']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for key, value in sorted(build(args.mirrors, args.out).items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
