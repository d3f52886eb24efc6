"""Build the real-news summarization sets into a git-ignored cache, split into dev and test.

    python bench/summarize_corpus.py [--mirror /work/.mirror] [--cache ~/.cache/newsum]

English: CNN/DailyMail articles with their highlights, from two public copies brought here
with the search tool's fetch (bare git directories under --mirror):

- EileenFeng/Text-Summarization-NLP @ 5bfee8b9ad6228e1c4d02f7be1042a4276632417,
  `data/train_sample.zip` (100 articles of the training split; the repository states no
  licence, CNN/DailyMail's text stays in the cache);
- hillaryke/rag-optimization-cnn-dailymail @ 03d05440507618d6bec073b46543696e5a47df20 (MIT),
  `data/collection/cnn_dailymail_validation_subset.csv` (1,000 articles of the validation split).

Every id (the SHA-1 of the story's URL) is checked against the official URL lists of
abisee/cnn-dailymail @ b15ad0a2db0d407a84b8ca9b5731e1f1c4bd24b9 (MIT): an article of the
official test split is dropped, so nothing here is a story the published test figures use.
CNN/DailyMail articles have no headline: `title` is empty.

French: the 400 OrangeSum training articles of ../shared/dev/summarize-fr (CC BY-SA 4.0;
`<id>.txt` = headline, blank line, body; `<id>.ref.txt` = abstract), read from there.

Both are split by a hash of the article id (SHA-1, first byte < 128 → dev, else test), so the
split is the same on every machine; tune on dev only. Written as
<cache>/summarize-<lang>/<split>/<lang>/<id>.json with {id, title, text, reference, source},
the layout bench/summarize_eval.py reads.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    "train_sample": ("EileenFeng+Text-Summarization-NLP", "5bfee8b9ad6228e1c4d02f7be1042a4276632417",
                     "data/train_sample.zip"),
    "validation_subset": ("hillaryke+rag-optimization-cnn-dailymail", "03d05440507618d6bec073b46543696e5a47df20",
                          "data/collection/cnn_dailymail_validation_subset.csv"),
}
URL_LISTS = ("abisee+cnn-dailymail", "b15ad0a2db0d407a84b8ca9b5731e1f1c4bd24b9")
FRENCH = ROOT.parent / "shared" / "dev" / "summarize-fr"


def split_of(ident: str) -> str:
    return "dev" if hashlib.sha1(ident.encode("utf-8")).digest()[0] < 128 else "test"


def _git_show(mirror: Path, repo: str, commit: str, path: str) -> bytes:
    git_dir = mirror / repo / "repo"
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def _rows(data: bytes) -> list[dict]:
    csv.field_size_limit(sys.maxsize)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _url_ids(mirror: Path, name: str) -> set[str]:
    text = _git_show(mirror, *URL_LISTS, f"url_lists/{name}").decode("utf-8")
    return {hashlib.sha1(line.strip().encode("utf-8")).hexdigest() for line in text.splitlines() if line.strip()}


def _highlights(text: str) -> str:
    """Highlights are one per line; end each as a sentence so that they read as a summary."""
    lines = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    return " ".join(line if line[-1:] in ".!?\"'" else line.rstrip(" .") + "." for line in lines)


def english(mirror: Path) -> list[dict]:
    test_ids = _url_ids(mirror, "all_test.txt")
    val_ids = _url_ids(mirror, "all_val.txt")
    articles: dict[str, dict] = {}
    dropped = 0
    for name, (repo, commit, path) in SOURCES.items():
        data = _git_show(mirror, repo, commit, path)
        if path.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data = archive.read(next(n for n in archive.namelist() if n.endswith(".csv")))
        for row in _rows(data):
            ident = row["id"].strip()
            if ident in test_ids:
                dropped += 1
                continue
            if name == "validation_subset" and ident not in val_ids:
                print(f"  {ident}: not in the validation URL list, kept as given", file=sys.stderr)
            text = row["article"].strip()
            site = "cnn" if "(CNN)" in text[:200] else "dailymail"
            articles[ident] = {"id": ident, "title": "", "text": text, "reference": _highlights(row["highlights"]),
                               "source": f"{name}/{site}"}
    print(f"en: {len(articles)} articles, {dropped} of the official test split dropped")
    return list(articles.values())


def french(folder: Path) -> list[dict]:
    articles = []
    for path in sorted(folder.glob("*.ref.txt")):
        ident = path.name[:-len(".ref.txt")]
        raw = (folder / f"{ident}.txt").read_text(encoding="utf-8")
        title, _, body = raw.partition("\n\n")
        articles.append({"id": ident, "title": title.strip(), "text": body.strip(),
                         "reference": path.read_text(encoding="utf-8").strip(), "source": "orangesum-train"})
    print(f"fr: {len(articles)} articles")
    return articles


def write(articles: list[dict], cache: Path, language: str) -> None:
    counts = {"dev": 0, "test": 0}
    for article in articles:
        split = split_of(article["id"])
        folder = cache / f"summarize-{language}" / split / language
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{article['id']}.json").write_text(json.dumps(article, ensure_ascii=False), encoding="utf-8")
        counts[split] += 1
    print(f"  {language}: dev {counts['dev']}, test {counts['test']} → {cache / f'summarize-{language}'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "newsum")
    parser.add_argument("--french", type=Path, default=FRENCH)
    args = parser.parse_args()
    write(english(args.mirror), args.cache, "en")
    if args.french.is_dir():
        write(french(args.french), args.cache, "fr")
    else:
        print(f"fr: {args.french} not found, skipped")


if __name__ == "__main__":
    main()
