"""Throughput of whole runs: documents/s for a corpus without models and with tiny models.

    python bench/run_bench.py --docs 2000                      # no models: extractive, no translation
    python bench/run_bench.py --docs 200 --tiny-models         # tiny MarianMT/BART built here
    python bench/run_bench.py --docs 2000 --workers 1 2        # compare process-pool sizes
    python bench/run_bench.py --docs 2000 --engine local ray   # the Ray engine against the local one

Each configuration runs `newsum run` in a fresh process on a fresh OUT, then once more on
the same OUT (the incremental rerun, which should do no stage work). Prints documents/s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def make_corpus(folder: Path, n: int) -> Path:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples").glob("*.txt"))]
    for i in range(n):
        sub = folder / f"{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc{i:06d}.txt").write_text(texts[i % len(texts)] + f"\n\nUpdate {i}: copy number {i}.\n",
                                             encoding="utf-8")
    return folder


def timed_run(args: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--tiny-models", action="store_true", help="translate and summarize with tiny models")
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--engine", nargs="+", choices=["local", "ray"], default=["local"],
                        help="ray: a local Ray instance started by each run (its start-up is counted)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        corpus = make_corpus(tmp_path / "in", options.docs)
        if options.tiny_models:
            import conftest

            models_dir = tmp_path / "models"
            models_dir.mkdir()
            sp = conftest._train_sentencepiece(models_dir)
            models = {"it": conftest.build_tiny_marian(models_dir / "it", sp, seed=0),
                      "fr": conftest.build_tiny_marian(models_dir / "fr", sp, seed=2),
                      "fallback": conftest.build_tiny_marian(models_dir / "mul", sp, seed=3),
                      "bart": conftest.build_tiny_bart(models_dir / "bart", sp)}
            config = conftest.write_config(tmp_path / "models.yaml", models)
            label = "tiny models"
        else:
            config = tmp_path / "models.yaml"
            config.write_text("translate:\n  models: {}\nsummarize:\n  method: extractive\n", encoding="utf-8")
            label = "no models"
        print(f"{options.docs} documents ({label}), batch size {options.batch_size}")
        for engine in options.engine:
            for workers in options.workers:
                out = tmp_path / f"out-{engine}-{workers}"
                args = ["run", str(corpus), "--out", str(out), "--config", str(config), "--quiet",
                        "--workers", str(workers), "--batch-size", str(options.batch_size), "--engine", engine]
                seconds, code = timed_run(args)
                again, _ = timed_run(args)
                print(f"  engine={engine} workers={workers}: {seconds:7.1f} s, {options.docs / seconds:7.1f} docs/s "
                      f"(exit {code}); unchanged rerun {again:5.1f} s, {options.docs / again:7.1f} docs/s")


if __name__ == "__main__":
    main()
