"""How fast clean runs on plain-text dumps: documents per second on one core for ~5 KB
dumps, and the time and peak memory for one 20 MB dump (with line breaks, and as one line).
First, what a fresh process pays once: the CPU time of its first document's clean and of its
first ten different documents (samples/*.txt and the first pages of the external corpus's
development split, else of bench/data/clean), against the same ten once more (median of
three fresh processes).

The dumps are built from the text pages of bench/data/clean and samples/: each page
padded to about 5 KB with its own paragraphs repeated inside the body, so the shapes
(furniture at the top and bottom, the article between) stay those of real dumps.

    python bench/clean_speed.py [--docs 2000] [--big-mb 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.inputs import SourceText  # noqa: E402
from pipeline.stages.base import StageContext  # noqa: E402
from pipeline.stages.clean.stage import CleanStage  # noqa: E402

TARGET_BYTES = 5 * 1024
CORPUS_DEV_TEXT = Path.home() / ".cache" / "newsum" / "clean-corpus" / "dev" / "text"
FRESH_RUNS = 3

# Run in a new interpreter: nothing of clean loaded, compiled or cached yet.
_FRESH = """
import hashlib, json, sys, time
from pathlib import Path
started = time.process_time()
sys.path.insert(0, sys.argv[1])
from pipeline.config import Config
from pipeline.inputs import SourceText
from pipeline.stages.base import StageContext
from pipeline.stages.clean.stage import CleanStage
imported = time.process_time() - started
texts = [Path(p).read_text(encoding="utf-8") for p in sys.argv[2:]]
pages = [SourceText(text=t, encoding="utf-8", format="text", sha256=hashlib.sha256(t.encode()).hexdigest(),
                    size=len(t.encode())) for t in texts]
stage = CleanStage(StageContext(Config()))
times = []
for page in pages:
    started = time.process_time()
    stage.clean("doc", "doc", page)
    times.append(time.process_time() - started)
started = time.process_time()
for page in pages:
    stage.clean("doc", "doc", page)
again = time.process_time() - started
print(json.dumps({"import": imported, "first": times[0], "first_ten": sum(times), "again": again}))
"""


def source(text: str) -> SourceText:
    data = text.encode("utf-8")
    return SourceText(text=text, encoding="utf-8", format="text", sha256=hashlib.sha256(data).hexdigest(),
                      size=len(data))


def five_kb_pages() -> list[str]:
    pages = []
    for folder in (ROOT / "bench" / "data" / "clean", ROOT / "samples"):
        for path in sorted(folder.glob("*.txt")):
            lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
            body = [line for line in lines if len(line) > 150]
            if not body:
                continue
            middle = len(lines) // 2
            padded = list(lines)
            k = 0
            while len("\n".join(padded).encode("utf-8")) < TARGET_BYTES:
                padded.insert(middle, body[k % len(body)])
                k += 1
            pages.append("\n".join(padded))
    return pages


def fresh_pages() -> list[Path]:
    """Ten different pages: the samples, then the corpus's development pages (or the bench's)."""
    pages = sorted((ROOT / "samples").glob("*.txt"))
    more = sorted(CORPUS_DEV_TEXT.glob("*.txt")) or sorted((ROOT / "bench" / "data" / "clean").glob("*.txt"))
    return (pages + more)[:10]


def fresh_process() -> None:
    """What the first documents of a new process cost, against the same documents once warm."""
    pages = fresh_pages()
    runs = []
    for _ in range(FRESH_RUNS):
        done = subprocess.run([sys.executable, "-c", _FRESH, str(ROOT), *map(str, pages)], capture_output=True,
                              text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"a fresh process (median of {FRESH_RUNS}; CPU time): importing clean {median['import']:.3f} s, "
          f"first document {median['first']:.3f} s, first {len(pages)} different documents "
          f"{median['first_ten']:.3f} s, the same {len(pages)} again {median['again']:.3f} s")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="documents to clean for the throughput figure")
    parser.add_argument("--big-mb", type=int, default=20, help="size of the big dump in MB")
    parser.add_argument("--no-fresh", action="store_true", help="leave out the fresh-process figure")
    args = parser.parse_args()
    if not args.no_fresh:
        fresh_process()

    stage = CleanStage(StageContext(Config()))
    pages = [source(p) for p in five_kb_pages()]
    mean_kb = sum(p.size for p in pages) / len(pages) / 1024
    # Warm up: stoplists loaded, tables built. (A kind of line has its cues compiled into one
    # alternation after firstchar.COMBINE_AFTER lines of that kind, so some of that happens
    # in the timed documents, as in any process; the fresh-process line gives the one-time cost.)
    for page in pages:
        stage.clean("warm", "warm", page)
    started_cpu, started = time.process_time(), time.perf_counter()
    for i in range(args.docs):
        stage.clean("doc", "doc", pages[i % len(pages)])
    cpu = time.process_time() - started_cpu
    wall = time.perf_counter() - started
    print(f"{args.docs} dumps of {mean_kb:.1f} KB on average ({len(pages)} distinct pages), one process:")
    print(f"  {args.docs / cpu:.0f} docs/s per core (CPU time {cpu:.2f} s, wall {wall:.2f} s)")

    base_rss = peak_rss_mb()
    text = "\n".join(p.text for p in pages)
    repeats = args.big_mb * 1024 * 1024 // len(text.encode("utf-8")) + 1
    big = "\n".join([text] * repeats)
    big_source = source(big)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        record = stage.clean("big", "big", big_source)
    except InputError as exc:  # over clean's line limit: refused at once, by design
        seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        print(f"one {big_source.size / 2**20:.1f} MB dump with line breaks: refused ({exc.code}) in {seconds:.2f} s")
    else:
        seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        print(f"one {big_source.size / 2**20:.1f} MB dump with line breaks: {seconds:.2f} s (CPU {cpu:.2f} s), "
              f"{record.report['blocks']} blocks, status {record.status}, "
              f"peak RSS {peak_rss_mb():.0f} MB (before: {base_rss:.0f} MB)")
        del record

    one_line = source(" ".join(big.split("\n")))
    del big, big_source
    started, started_cpu = time.perf_counter(), time.process_time()
    record = stage.clean("line", "line", one_line)
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"the same dump as a single line: {seconds:.2f} s (CPU {cpu:.2f} s), {record.report['blocks']} blocks, "
          f"status {record.status}, peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
