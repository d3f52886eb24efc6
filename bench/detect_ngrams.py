"""Check that lingua's values computed from its cached models (pipeline.stages.detect.ngrams)
are lingua's own, on real text, through the ensemble exactly as detect asks: the same
candidates, the same texts; and what each costs.

Items come from bench/detect_external.py's dump (Debian's fortunes, reference manual and
man pages in 15 languages: text nobody here wrote):

    python bench/detect_external.py --no-eval --dump /tmp/external.tsv
    python bench/detect_ngrams.py /tmp/external.tsv [--limit N] [--cache DIR]

Prints how many items lingua was asked about, the largest difference between the two
ensembles' probabilities, how many decisions differ, and the CPU time of each (models
already loaded: the second pass over the items).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.detect.langid import EnsembleBackend, LinguaBackend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", type=Path, help="TSV with lang, kind, text (detect_external.py --dump)")
    parser.add_argument("--limit", type=int, default=0, help="first N items only")
    parser.add_argument("--cache", type=Path, help="the model cache (default: a new temporary folder)")
    args = parser.parse_args()

    with open(args.items, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    texts = [row["text"] for row in rows][: args.limit or None]
    cache = args.cache or Path(tempfile.mkdtemp(prefix="lingua-cache-"))

    cached = EnsembleBackend(lingua_cache=str(cache))
    cached.lingua.HANDOVER = 10**9  # the arrays for every question, to compare and time them
    plain = EnsembleBackend()
    plain.lingua = LinguaBackend(cached=False)

    def run(backend) -> tuple[list, float, float]:
        started = time.process_time()
        first = [backend.scores(text) for text in texts]
        cold = time.process_time() - started
        started = time.process_time()
        for text in texts:
            backend.scores(text)
        return first, cold, time.process_time() - started

    ours, ours_cold, ours_warm = run(cached)
    theirs, theirs_cold, theirs_warm = run(plain)
    worst, decisions = 0.0, 0
    for a, b in zip(ours, theirs, strict=True):
        da, db = dict(a), dict(b)
        worst = max([worst] + [abs(da.get(k, 0.0) - db.get(k, 0.0)) for k in set(da) | set(db)])
        decisions += bool(a and b and a[0][0] != b[0][0])
    asked = plain.consulted // 2
    print(f"{len(texts)} items, lingua asked about {asked} of them")
    print(f"  largest difference in a probability: {worst:.1e}; decisions that differ: {decisions}")
    print(f"  CPU, first pass (models read):   cached {ours_cold:.2f} s   lingua {theirs_cold:.2f} s")
    print(f"  CPU, second pass (models loaded): cached {ours_warm:.2f} s   lingua {theirs_warm:.2f} s "
          f"({1000 * ours_warm / max(asked, 1):.2f} against {1000 * theirs_warm / max(asked, 1):.2f} ms a question)")


if __name__ == "__main__":
    main()
