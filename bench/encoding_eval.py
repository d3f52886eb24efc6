"""How often a legacy-encoded document is decoded right: real text, encoded by us.

    python bench/detect_external.py --fetch        # once: the Debian packages (apt-get, dpkg-deb)
    python bench/encoding_eval.py --build          # once: paragraphs → ~/.cache/newsum/encoding-eval/items.jsonl
    python bench/encoding_eval.py [--split dev|test|both] [--errors FILE]

Text nobody wrote for us: the paragraphs bench/detect_external.py extracts and filters from
Debian packages (fortunes, translated man pages, the Debian Reference; licences vary, so
nothing from them is committed, they live in the cache). Per language, paragraphs of one
package are joined into documents of about 400-1500 characters (three paragraphs), as a
short news article's body; each document is encoded in each legacy encoding its language is
written in (Western European: latin-1, cp1252, iso-8859-15; Central European: cp1250,
iso-8859-2; Cyrillic: cp1251, koi8-r), skipped where it cannot be encoded, and where the
bytes are ASCII (then every encoding reads them alike). Each is decoded by
pipeline.inputs's decoder, from the bytes alone; it is right when the decoded text is the
original text (the label may differ where two encodings give the same text: latin-1 and
cp1252 for French without € or curly quotes). The decision before this change
(charset-normalizer's best guess, latin-1 mapped to cp1252) is measured beside it.

Split by source (package), never by document: dev = the man pages (manpages-fr, -it, -es,
-de, -pl), debian-reference-pt, and the first half of fortunes-cs and fortunes-ru (files
in sorted order; these two languages have one package each); test = the rest (Debian
Reference fr/it/es/de, fortunes-it/-de/-es/-pl/-br, the second half of fortunes-cs/-ru).
Only dev was looked at while choosing the scorer and its thresholds.

Printed per split: accuracy per language and encoding, before and after; how many right
decodings were marked doubtful (degraded) and how many wrong ones were (a wrong one not
marked doubtful passes as ok: the figure that matters most).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CACHE = Path.home() / ".cache" / "newsum" / "encoding-eval"
LANGUAGES = ("fr", "it", "de", "es", "pt", "pl", "cs", "ru")
ENCODINGS = {
    **dict.fromkeys(("fr", "it", "de", "es", "pt"), ("latin-1", "cp1252", "iso-8859-15")),
    **dict.fromkeys(("pl", "cs"), ("cp1250", "iso-8859-2")),
    "ru": ("cp1251", "koi8-r"),
}
DEV_PACKAGES = {"manpages-fr", "manpages-it", "manpages-es", "manpages-de", "manpages-pl", "debian-reference-pt"}
HALVED = {"fortunes-cs", "fortunes-ru"}  # one package for the language: first half dev, second half test
PER_DOCUMENT = 3
MAX_DOCUMENTS = 150  # per language and split


def build(cache: Path, packages: Path) -> None:
    from detect_external import extract

    items, _, _ = extract(packages)
    rows = [{"lang": it.lang, "source": it.source, "text": it.text} for it in items
            if it.kind == "paragraph" and it.lang in LANGUAGES]
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "items.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} paragraphs written to {cache / 'items.jsonl'}: {dict(Counter(r['lang'] for r in rows))}")


def documents(cache: Path) -> dict[str, list[tuple[str, str, str]]]:
    """split → [(language, source, text)], paragraphs of one package joined three by three."""
    by_source: dict[tuple[str, str], list[str]] = defaultdict(list)
    with open(cache / "items.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_source[(row["lang"], row["source"])].append(row["text"])
    out: dict[str, list] = {"dev": [], "test": []}
    for (lang, source), paragraphs in sorted(by_source.items()):
        groups = [paragraphs[i:i + PER_DOCUMENT] for i in range(0, len(paragraphs) - PER_DOCUMENT + 1, PER_DOCUMENT)]
        docs = [(lang, source, "\n\n".join(g)) for g in groups if any(ord(c) > 127 for c in "".join(g))]
        if source in HALVED:
            half = len(docs) // 2
            out["dev"] += docs[:half]
            out["test"] += docs[half:]
        else:
            out["dev" if source in DEV_PACKAGES else "test"] += docs
    for split in out:  # at most MAX_DOCUMENTS per language, spread over the whole list
        kept = []
        for lang in LANGUAGES:
            docs = [d for d in out[split] if d[0] == lang]
            step = max(1, len(docs) // MAX_DOCUMENTS)
            kept += docs[::step][:MAX_DOCUMENTS]
        out[split] = kept
    return out


def decode_before(data: bytes) -> str:
    """The decision this project made before: charset-normalizer's best, latin-1 read as cp1252."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        return ""
    encoding = "cp1252" if best.encoding in ("latin_1", "iso8859_1", "ascii") else best.encoding
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


def evaluate(docs: list[tuple[str, str, str]], errors: list | None = None) -> None:
    from pipeline.encodings import decode_legacy

    right = defaultdict(Counter)  # (lang, encoding) → Counter(before, after, n, doubt_right, doubt_wrong)
    for lang, source, text in docs:
        for encoding in ENCODINGS[lang]:
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:
                continue
            if data.isascii():
                continue
            cell = right[(lang, encoding)]
            cell["n"] += 1
            cell["before"] += decode_before(data) == text
            decoded = decode_legacy(data)
            ok = decoded.text == text
            cell["after"] += ok
            if decoded.doubtful:
                cell["doubt_right" if ok else "doubt_wrong"] += 1
            elif not ok:
                cell["silent_wrong"] += 1
            if errors is not None and not ok:
                errors.append([lang, encoding, source, decoded.encoding, f"{decoded.confidence:.2f}",
                               str(decoded.doubtful), " ".join(text.split())[:160],
                               " ".join(decoded.text.split())[:160]])
    print(f"  {'language':8} {'encoding':12} {'docs':>5} {'before':>8} {'after':>8} "
          f"{'doubtful (right / wrong)':>25} {'wrong, not doubtful':>20}")
    total = Counter()
    for (lang, encoding), cell in sorted(right.items(), key=lambda kv: (LANGUAGES.index(kv[0][0]), kv[0][1])):
        total.update(cell)
        n = cell["n"]
        print(f"  {lang:8} {encoding:12} {n:5} {cell['before'] / n:8.1%} {cell['after'] / n:8.1%} "
              f"{cell['doubt_right']:>12} / {cell['doubt_wrong']:<10} {cell['silent_wrong']:>20}")
    n = total["n"]
    if n:
        print(f"  {'all':8} {'':12} {n:5} {total['before'] / n:8.1%} {total['after'] / n:8.1%} "
              f"{total['doubt_right']:>12} / {total['doubt_wrong']:<10} {total['silent_wrong']:>20}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="extract the paragraphs into the cache, then stop")
    parser.add_argument("--packages", default=str(Path.home() / ".cache" / "newsum" / "detect-external"),
                        help="where bench/detect_external.py --fetch put the packages")
    parser.add_argument("--cache", default=str(CACHE))
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--errors", metavar="FILE", help="write every wrong decoding as TSV")
    args = parser.parse_args(argv)
    cache = Path(args.cache).expanduser()
    if args.build:
        build(cache, Path(args.packages).expanduser())
        return
    if not (cache / "items.jsonl").is_file():
        raise SystemExit(f"no {cache / 'items.jsonl'}: run with --build first")
    splits = documents(cache)
    errors: list | None = [] if args.errors else None
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        docs = splits[split]
        print(f"\n{split}: {len(docs)} documents, {dict(Counter(d[0] for d in docs))}")
        evaluate(docs, errors)
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as fh:
            fh.write("lang\tencoding\tsource\tdecoded_as\tconfidence\tdoubtful\ttext\tdecoded\n")
            for row in errors:
                fh.write("\t".join(row) + "\n")
        print(f"\n{len(errors)} wrong decodings written to {args.errors}")


if __name__ == "__main__":
    main()
