"""Where the configured models are: present in the Hugging Face cache or a local folder, or not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.config import Config, ModelSpec
from pipeline.models import cached_snapshot


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
