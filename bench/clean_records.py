"""Save or compare the clean records of many pages: a speed-up of clean must not change them.

The pages are samples/, bench/data/clean*, the seeds (../shared/seeds, where present) and the
external corpus of bench/clean_corpus.py (text dumps and HTML, both splits). Each page is
cleaned twice, plainly and with `explain` (every block's decision and signals), and the
records, timings left out, are written as one JSON file; `compare` cleans them again and
names every page whose record differs.

    python bench/clean_records.py save /tmp/clean-before.json [--no-html]
    python bench/clean_records.py compare /tmp/clean-before.json [--no-html]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.inputs import Document, read_document  # noqa: E402
from pipeline.stages.base import StageContext  # noqa: E402
from pipeline.stages.clean.stage import CleanStage  # noqa: E402

EXTERNAL = Path.home() / ".cache" / "newsum" / "clean-corpus"
SEEDS = ROOT.parent / "shared" / "seeds"


def page_paths(html: bool) -> list[Path]:
    folders = [ROOT / "samples", *sorted((ROOT / "bench" / "data").glob("clean*")), SEEDS]
    folders += [EXTERNAL / split / fmt for split in ("dev", "test") for fmt in ("text", "html")]
    suffixes = (".txt", ".html", ".htm") if html else (".txt",)
    return [p for folder in folders if folder.is_dir() for p in sorted(folder.rglob("*")) if p.suffix in suffixes]


def records(paths: list[Path]) -> dict[str, dict]:
    plain = CleanStage(StageContext(Config()))
    explained = CleanStage(StageContext(Config(), explain=True))
    out = {}
    for path in paths:
        fmt = "html" if path.suffix in (".html", ".htm") else "text"
        source = read_document(Document(path.stem, path, fmt))
        # the same key and path wherever the checkout lies (two checkouts compare)
        key = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else (
            f"seeds/{path.name}" if path.is_relative_to(SEEDS) else str(path))
        for label, stage in (("plain", plain), ("explain", explained)):
            record = stage.clean(path.stem, key, source).to_dict()
            record.pop("timings", None)
            out[f"{key}:{label}"] = record
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--no-html", action="store_true", help="text dumps only (HTML pages take longer)")
    args = parser.parse_args()
    found = records(page_paths(not args.no_html))
    if args.action == "save":
        args.file.write_text(json.dumps(found, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        print(f"saved {len(found)} records to {args.file}")
        return
    saved = json.loads(args.file.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(found, ensure_ascii=False, sort_keys=True))
    differ = sorted(k for k in now if saved.get(k) != now[k])  # --no-html compares the text dumps only
    for key in differ:
        print("differs:", key)
    print(f"{len(now)} records, {len(differ)} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
