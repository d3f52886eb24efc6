"""What a small run costs beyond its share of a large one: 10 new documents through clean,
detect and an extractive summary, against the same stages over a few hundred documents.

The documents are real pages nobody here wrote: the text dumps of the clean corpus's
development part (bench/clean_corpus.py builds it in ~/.cache/newsum/clean-corpus). Each run
is a fresh `python -m pipeline run` in a new OUT, timed from outside (wall clock, and the CPU
time of the process and its workers). The small run's share is the large run's wall time
times 10/N; the share by these documents' own compute time in the large run's records is
printed beside it (a page's records count the loading it triggered, so it flatters a
checkout that loads models while it works).

    python bench/startup_bench.py [--small 10] [--repeat 3] [--cold]

--cold gives the runs an empty model cache (HF_HOME in a temporary folder): the first night
on a new machine, when lingua's models are read from its library and kept as arrays.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path.home() / ".cache" / "newsum" / "clean-corpus" / "dev" / "text"


def stage_seconds(out: Path) -> dict[str, float]:
    """Each document's compute time in its records (clean, detect, summary)."""
    seconds = {}
    for folder in out.iterdir():
        total = 0.0
        for name in ("clean", "detect", "summary"):
            path = folder / f"{name}.json"
            if path.exists():
                total += (json.loads(path.read_text("utf-8")).get("timings") or {}).get("seconds", 0.0)
        seconds[folder.name] = total
    return seconds


def run(folder: Path, config: Path, env: dict, workers: int | None,
        keep: dict | None = None) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp(prefix="startup-out-"))
    args = [sys.executable, "-m", "pipeline", "run", str(folder), "--out", str(out / "o"), "--config", str(config),
            "--stages", "clean,detect,summarize", "--quiet"]
    if workers is not None:
        args += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3):
        sys.exit(f"newsum run failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if keep is not None:
        keep.update(stage_seconds(out / "o"))
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10, help="documents in the small run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (medians)")
    parser.add_argument("--cold", action="store_true", help="an empty model cache for every run")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()

    pages = sorted(args.corpus.glob("*.txt"))
    if len(pages) < 2 * args.small:
        sys.exit(f"{args.corpus}: {len(pages)} pages; build it with python bench/clean_corpus.py")
    work = Path(tempfile.mkdtemp(prefix="startup-"))
    small, large = work / "small", work / "large"
    small.mkdir()
    large.mkdir()
    for i, page in enumerate(pages):
        shutil.copy(page, large / page.name)
        if i < args.small:
            shutil.copy(page, small / page.name)
    config = work / "models.yaml"
    config.write_text("summarize:\n  method: extractive\n", encoding="utf-8")

    def env() -> dict:
        e = dict(os.environ)
        if args.cold:
            e["HF_HOME"] = tempfile.mkdtemp(prefix="startup-hf-", dir=work)
        return e

    if not args.cold:
        run(small, config, env(), None)  # the cache filled once, as after a first night

    def median(folder: Path, workers: int | None, times: int) -> tuple[float, float]:
        results = [run(folder, config, env(), workers) for _ in range(times)]
        return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)

    small_default = median(small, None, args.repeat)
    small_one = median(small, 1, args.repeat)
    per_document: dict[str, float] = {}
    large_default = run(large, config, env(), None, keep=per_document)
    n = len(pages)
    # Their share: the large run's time in the proportion of these documents' own compute
    # time in it (a long page costs more than a short one, in either run).
    mine = sum(per_document.get(page.stem, 0.0) for page in pages[: args.small])
    fraction = mine / max(sum(per_document.values()), 1e-9)
    share_wall = large_default[0] * fraction
    print(f"{'cold' if args.cold else 'warm'} model cache; {os.cpu_count()} CPUs; medians of {args.repeat}")
    print(f"  {args.small} documents, default workers: {small_default[0]:.2f} s wall, {small_default[1]:.2f} s CPU")
    print(f"  {args.small} documents, --workers 1:     {small_one[0]:.2f} s wall, {small_one[1]:.2f} s CPU")
    share = large_default[0] * args.small / n
    print(f"  {n} documents, default workers: {large_default[0]:.2f} s wall, {large_default[1]:.2f} s CPU")
    print(f"  the share of {args.small} documents: {share:.2f} s wall ({args.small}/{n} of the large run); "
          f"these {args.small} took {100 * fraction:.1f} % of its compute in its records: {share_wall:.2f} s wall")
    print(f"  goal: {args.small} documents within 2 s + their share = {2 + share:.2f} s wall: "
          f"{'met' if small_default[0] <= 2 + share else 'not met'} ({small_default[0]:.2f} s); "
          f"default workers {'not slower' if small_default[0] <= small_one[0] * 1.05 else 'SLOWER'} than --workers 1")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
