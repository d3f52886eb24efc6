"""Where the configured models are, fetching them ahead of time, and checking that they work.

`newsum models pull` is the only command that touches the network: it downloads every
configured hub model (safetensors weights, configuration and tokenizer files only) into the
Hugging Face cache, converts the models whose backend is ctranslate2, and records what it
fetched, with the resolved commit sha, in models.lock.json beside models.yaml.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.config import Config, ModelSpec
from pipeline.errors import ModelUnavailable
from pipeline.models.loading import (
    cached_snapshot,
    convert_to_ctranslate2,
    ct2_folder,
    hub_cache_dir,
    newsum_home,
    snapshot_commit,
)

LOCK_FILE = "models.lock.json"
# What a model needs to load with AutoTokenizer + AutoModelForSeq2SeqLM from safetensors;
# other weight formats (pytorch_model.bin, tf_model.h5, flax, rust) are never fetched.
PULL_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.spm", "*.txt", "*.tiktoken"]


def configured_models(config: Config) -> Iterator[tuple[str, ModelSpec]]:
    """Every model models.yaml names, with the dotted key that names it."""
    for language, spec in sorted(config.translate.models.items()):
        yield f"translate.models.{language}", spec
    if config.translate.fallback is not None:
        yield "translate.fallback", config.translate.fallback
    if config.summarize.model is not None:
        yield "summarize.model", config.summarize.model


def _folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size  # follows the cache's symlinks
            except OSError:
                pass
    return total


def local_status(spec: ModelSpec, config: Config) -> tuple[bool, str, int]:
    """(present, where or what is missing, size in bytes) without touching the network."""
    if spec.is_local:
        path = Path(spec.model)
        if path.is_dir() and (path / "config.json").is_file():
            return True, str(path), _folder_size(path)
        return False, f"local folder {path} not found or has no config.json", 0
    path = cached_snapshot(spec, config)
    if path is None:
        return False, "not in the Hugging Face cache (run `newsum models pull` on a connected machine)", 0
    return True, path, _folder_size(Path(path))


def presence(specs: Iterable[ModelSpec], config: Config) -> str:
    """A fingerprint of which of these models are present locally, and where: it changes when
    one is pulled, copied in or removed. Never touches the network."""
    import hashlib

    parts = []
    for spec in specs:
        if spec.is_local:
            where = spec.model if (Path(spec.model) / "config.json").is_file() else None
        else:
            where = cached_snapshot(spec, config)
        parts.append([spec.key(), where])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ModelState:
    """What `newsum models list` shows for one configured model."""

    role: str
    spec: ModelSpec
    present: bool
    where: str
    size: int
    commit: str | None = None
    conversion: str | None = None  # backend ctranslate2: the converted folder, or what is missing
    conversion_size: int = 0

    @property
    def ready(self) -> bool:
        return self.present and (self.spec.backend != "ctranslate2" or self.conversion_size > 0)


def model_states(config: Config) -> list[ModelState]:
    states = []
    for role, spec in configured_models(config):
        present, where, size = local_status(spec, config)
        state = ModelState(role, spec, present, where, size, commit=snapshot_commit(where) if present else None)
        if spec.backend == "ctranslate2" and present:
            folder = ct2_folder(spec, config, where)
            if (folder / "model.bin").is_file():
                state.conversion, state.conversion_size = str(folder), _folder_size(folder)
            else:
                state.conversion = f"not converted to CTranslate2 {spec.quantization} (run `newsum models pull`)"
        states.append(state)
    return states


def lock_path(config: Config) -> Path:
    return Path(config.path).resolve().parent / LOCK_FILE if config.path else newsum_home(config) / LOCK_FILE


def read_lock(config: Config) -> dict[str, Any]:
    try:
        return json.loads(lock_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"models": {}}


def _write_lock(config: Config, entries: dict[str, dict[str, Any]]) -> Path:
    from pipeline.files import write_json_atomic

    lock = read_lock(config)
    lock.setdefault("models", {}).update(entries)
    lock["comment"] = ("Written by `newsum models pull`: the exact commit of each hub model it fetched "
                       "and the CTranslate2 conversions it made.")
    path = lock_path(config)
    write_json_atomic(path, lock)
    return path


@dataclass
class PullResult:
    role: str
    spec: ModelSpec
    ok: bool
    message: str
    lock: dict[str, Any] = field(default_factory=dict)


def _fetch(spec: ModelSpec, config: Config) -> tuple[str, str]:
    """Download a hub model's safetensors and tokenizer files; returns (folder, commit sha)."""
    from huggingface_hub import HfApi, constants, snapshot_download
    from huggingface_hub.utils import enable_progress_bars

    if constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        folder = cached_snapshot(spec, config)
        if folder is None:
            raise ModelUnavailable(f"{spec.model}: HF_HUB_OFFLINE is set and the model is not in the cache; "
                                   "run `newsum models pull` without HF_HUB_OFFLINE on a connected machine")
        return folder, snapshot_commit(folder) or ""
    info = HfApi().model_info(spec.model, revision=spec.revision, timeout=30)
    files = [s.rfilename for s in info.siblings or []]
    if not any(name.endswith(".safetensors") for name in files):
        weights = ", ".join(n for n in files if n.endswith((".bin", ".h5", ".msgpack", ".ot"))) or "none"
        raise ModelUnavailable(
            f"{spec.model} at revision {spec.revision or 'main'} has no safetensors weights (it has: {weights}); "
            "newsum loads safetensors only: pin a revision that has them in models.yaml, e.g. the "
            "safetensors converter's pull request (revision: refs/pr/N) or its commit sha")
    enable_progress_bars()  # a pull of hundreds of MB shows its progress
    folder = snapshot_download(spec.model, revision=spec.revision, cache_dir=hub_cache_dir(config),
                               allow_patterns=PULL_PATTERNS)
    return folder, snapshot_commit(folder) or info.sha or ""


def pull_model(role: str, spec: ModelSpec, config: Config, force_convert: bool = False) -> PullResult:
    """Fetch (hub) or check (local folder) one model, and convert it when its backend is ctranslate2."""
    try:
        if spec.is_local:
            present, where, _ = local_status(spec, config)
            if not present:
                return PullResult(role, spec, False, f"{where}: point {role} in models.yaml at a folder saved "
                                                     "with save_pretrained")
            folder, commit = where, None
        else:
            folder, commit = _fetch(spec, config)
        if not any(Path(folder).glob("*.safetensors")):
            return PullResult(role, spec, False, f"{folder} has no .safetensors weights; newsum loads safetensors only")
        entry: dict[str, Any] = {"model": spec.model, "revision": spec.revision, "commit": commit,
                                 "folder": str(folder), "size": _folder_size(Path(folder)),
                                 "pulled_at": datetime.now(UTC).isoformat(timespec="seconds")}
        message = f"{'local folder' if spec.is_local else 'fetched'} {folder}"
        if commit:
            message += f" (commit {commit})"
        if spec.backend == "ctranslate2":
            converted = convert_to_ctranslate2(spec, config, folder, force=force_convert)
            entry["ctranslate2"] = {"folder": str(converted), "quantization": spec.quantization}
            message += f"; CTranslate2 {spec.quantization} in {converted}"
        return PullResult(role, spec, True, message, entry)
    except ModelUnavailable as exc:
        return PullResult(role, spec, False, str(exc))
    except ImportError as exc:
        return PullResult(role, spec, False, f"{exc}: backend ctranslate2 needs pip install 'newsum[ct2]'")
    except Exception as exc:  # network, permissions, a converter refusing the model: one line each
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = f"{type(exc).__name__}: {detail[:300]}"
        if any(word in type(exc).__name__ for word in ("Connect", "Timeout", "Offline", "Network")):
            return PullResult(role, spec, False, f"cannot reach the Hugging Face hub ({detail}); pull on a connected "
                                                 "machine with the same HF_HOME, or copy the model folder here and "
                                                 "name it in models.yaml")
        return PullResult(role, spec, False, detail)


def pull_models(config: Config, on_result: Callable[[int, int, PullResult], None] | None = None,
                force_convert: bool = False) -> tuple[list[PullResult], Path | None]:
    """Pull every configured model; record the successes in the lock file."""
    models = list(configured_models(config))
    results = []
    for n, (role, spec) in enumerate(models, start=1):
        result = pull_model(role, spec, config, force_convert=force_convert)
        results.append(result)
        if on_result:
            on_result(n, len(models), result)
    entries = {r.role: r.lock for r in results if r.ok}
    return results, _write_lock(config, entries) if entries else None


@cache
def check_sentences() -> dict[str, str]:
    text = resources.files("pipeline.resources").joinpath("translate/check_sentences.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


@dataclass
class CheckResult:
    role: str
    spec: ModelSpec
    ok: bool
    message: str
    seconds: float = 0.0
    source: str = ""
    output: str = ""


def check_model(role: str, spec: ModelSpec, config: Config) -> CheckResult:
    """Load one model and run it on one sentence (a translation, or a summary of an English one)."""
    from pipeline.models.loading import LanguageNotSupported, load_seq2seq

    started = time.perf_counter()
    try:
        model = load_seq2seq(spec, role, config)
        sentences = check_sentences()
        if role.startswith("translate.models."):
            language = role.rsplit(".", 1)[1]
        elif role == "translate.fallback":
            language = next((lang for lang in sentences if lang != config.translate.target
                             and lang not in config.translate.models and model.supports(lang)), None)
            if language is None:
                return CheckResult(role, spec, False, "the fallback model supports none of the check languages")
        else:
            language = None
        from pipeline.stages.translate.stage import pack_segments

        source = sentences.get(language or "en") or sentences["en"]
        # The sentence goes in as a run would send it: in segments that fit the model's input.
        pieces = [source[a:b] for (a, b), _split, _tokens in pack_segments(source, language or "en", model)]
        outputs, capped = model.generate(pieces, source_language=language)
        outputs, capped = [" ".join(outputs)], [any(capped)]
    except (ModelUnavailable, LanguageNotSupported) as exc:
        return CheckResult(role, spec, False, str(exc), time.perf_counter() - started)
    except Exception as exc:  # a model that loads but cannot generate is reported, not raised
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckResult(role, spec, False, f"{type(exc).__name__}: {detail[:300]}", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if not outputs[0]:
        return CheckResult(role, spec, False, "the model produced no text", seconds, source, "")
    note = " (reached the length cap)" if capped[0] else ""
    return CheckResult(role, spec, True, f"{model.ident['backend']} on {model.device}{note}", seconds,
                       source, outputs[0])
