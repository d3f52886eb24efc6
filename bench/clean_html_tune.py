"""How sure the block model must be before it changes the rules' decision over trafilatura's blocks.

For every HTML page of a split of the real-page corpus (bench/clean_corpus.py), the page
goes through trafilatura and the rules as in the clean stage; the model scores each kept
block, and the kept text is scored against the gold (per-page token F1, as
bench/clean_eval.py) for each threshold. Tune on dev only; `--split test` is for the report.

    nice -n 10 .venv/bin/python bench/clean_html_tune.py [--split dev] [--thresholds 0,0.02,0.05,0.1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clean_eval import EXTERNAL, pages, prf  # noqa: E402

from pipeline.inputs import Document, read_document  # noqa: E402
from pipeline.stages.clean import learned  # noqa: E402
from pipeline.stages.clean.classify import classify  # noqa: E402
from pipeline.stages.clean.html import extract  # noqa: E402
from pipeline.text import join_paragraphs  # noqa: E402


def scored_pages(folder: Path) -> list[dict]:
    model = learned.model()
    out = []
    for page, gold in pages([folder]):
        if page.suffix not in (".html", ".htm"):
            continue
        source = read_document(Document(page.stem, page, "html"))
        extracted = extract(source.text)
        decision = classify(extracted.blocks, from_extractor=extracted.extractor == "trafilatura",
                            known_title=extracted.title, known_author=extracted.metadata.get("author", ""))
        blocks = decision.blocks
        scored = [i for i, b in enumerate(blocks) if i != decision.title_index and b.reason not in learned.FINAL_REASONS]
        rows = learned.features(blocks, decision.language, decision.title, only=scored) if scored else []
        probs = dict(zip(scored, (model.probability(row) for row in rows), strict=True))
        out.append({"name": page.stem, "gold": "\n".join(gold["paragraphs"]),
                    "kept": [(blocks[i].text, probs[i]) for i in scored if blocks[i].reason is None],
                    "removed": [(blocks[i].text, probs[i], blocks[i].reason) for i in scored if blocks[i].reason]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=EXTERNAL)
    parser.add_argument("--split", default="dev", help="dev, test, or a folder of HTML pages with gold")
    parser.add_argument("--thresholds", default="0,0.01,0.02,0.03,0.05,0.08,0.1,0.15,0.2,0.3")
    parser.add_argument("--restore", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.01",
                        help="thresholds above which a block the rules removed comes back")
    parser.add_argument("--show", type=float, help="list the blocks removed at this threshold")
    args = parser.parse_args()
    # a folder of pages with gold, or a split of the corpus
    folder = Path(args.split) if Path(args.split).is_dir() else args.corpus / args.split / "html"
    found = [p for p in scored_pages(folder) if p["kept"] or p["removed"]]
    print(f"{args.split}: {len(found)} HTML pages")
    for t in (float(x) for x in args.thresholds.split(",")):
        scores = [prf(join_paragraphs([text for text, p in page["kept"] if p >= t]), page["gold"]) for page in found]
        p, r, f = (sum(s[i] for s in scores) / len(scores) for i in range(3))
        removed = sum(1 for page in found for _, prob in page["kept"] if prob < t)
        print(f"remove below {t:<5}  F1 {f:.4f}  P {p:.4f}  R {r:.4f}  blocks removed {removed}")
    for t in (float(x) for x in args.restore.split(",")):
        scores = [prf(join_paragraphs([text for text, p in page["kept"]]
                                      + [text for text, p, _ in page["removed"] if p >= t]), page["gold"])
                  for page in found]  # (order aside: token F1 does not look at it)
        p, r, f = (sum(s[i] for s in scores) / len(scores) for i in range(3))
        back = sum(1 for page in found for _, prob, _ in page["removed"] if prob >= t)
        print(f"restore above {t:<5}  F1 {f:.4f}  P {p:.4f}  R {r:.4f}  blocks restored {back}")
    if args.show is not None:
        for page in found:
            for text, prob in page["kept"]:
                if prob < args.show:
                    print(f"{prob:.3f} {page['name'][:40]:<40} {text[:100]}")


if __name__ == "__main__":
    main()
