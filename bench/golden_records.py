"""Save or compare the records `newsum run samples/` writes with the tests' tiny models.

A change that should not alter behaviour (a refactoring, a speed-up) is checked by saving
the records before it and comparing after it: every ordered subset of the four stages,
timings stripped. The tiny models (random weights, the tests' fixtures) are built once in
MODELS and reused, so both sides run the very same models.

    python bench/golden_records.py save /tmp/golden --models /tmp/golden-models
    python bench/golden_records.py compare /tmp/golden --models /tmp/golden-models [--engine ray]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

STAGES = ("clean", "detect", "translate", "summarize")
VOLATILE = {"timings"}


def subsets() -> list[tuple[str, ...]]:
    return [combo for n in range(1, len(STAGES) + 1) for combo in itertools.combinations(STAGES, n)]


def tiny_models(folder: Path) -> dict[str, Path]:
    from conftest import _train_sentencepiece, build_tiny_bart, build_tiny_marian

    folder.mkdir(parents=True, exist_ok=True)
    sp_model = folder / "sp.model"
    if not sp_model.exists():
        sp_model = _train_sentencepiece(folder)
    builders = {"it": (build_tiny_marian, 0), "fr": (build_tiny_marian, 2), "fallback": (build_tiny_marian, 3),
                "bart": (build_tiny_bart, 1)}
    names = {"it": "marian-it-en", "fr": "marian-fr-en", "fallback": "marian-mul-en", "bart": "bart-sum"}
    models = {}
    for role, (build, seed) in builders.items():
        path = folder / names[role]
        if not (path / "config.json").exists():
            build(path, sp_model, seed=seed)
        models[role] = path
    return models


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def run_all(models_dir: Path, engine: str) -> dict[str, dict]:
    from conftest import SAMPLES, load_records, run_cli, write_config

    models = tiny_models(models_dir)
    config = write_config(models_dir / "models.yaml", models)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for combo in subsets():
            name = ",".join(combo)
            out = Path(tmp) / name
            args = ["run", str(SAMPLES), "--out", str(out), "--config", str(config), "--stages", name,
                    "--workers", "2", "--quiet"]
            if engine != "local":
                args += ["--engine", engine]
            result = run_cli(*args)
            results[name] = {"exit_code": result.exit_code, "records": strip(load_records(out))}
            print(f"{name:32} exit {result.exit_code}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "newsum-golden-models")
    parser.add_argument("--engine", default="local", choices=("local", "ray"))
    args = parser.parse_args()
    results = run_all(args.models, args.engine)
    target = args.folder / "records.json"
    if args.action == "save":
        args.folder.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        print(f"saved {target}")
        return 0
    saved = json.loads(target.read_text(encoding="utf-8"))
    differences = 0
    for name, expected in saved.items():
        got = results.get(name)
        if got == expected:
            continue
        for doc in sorted(set(expected["records"]) | set(got["records"])):
            for stage in sorted(set(expected["records"].get(doc, {})) | set(got["records"].get(doc, {}))):
                before = expected["records"].get(doc, {}).get(stage)
                after = got["records"].get(doc, {}).get(stage)
                if before != after:
                    differences += 1
                    keys = sorted(k for k in set(before or {}) | set(after or {})
                                  if (before or {}).get(k) != (after or {}).get(k))
                    print(f"differs: --stages {name}: {doc}/{stage}: {', '.join(keys)}")
        if got["exit_code"] != expected["exit_code"]:
            print(f"differs: --stages {name}: exit {expected['exit_code']} → {got['exit_code']}")
            differences += 1
    print(f"{differences} differences in {len(saved)} runs")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
