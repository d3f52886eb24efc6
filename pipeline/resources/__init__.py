"""Data files the stages read (cue lists, stoplists, the learned models), and their digest."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources


@cache
def digest(*folders: str) -> str:
    """A hash of every file under these folders of pipeline/resources (names and bytes): a
    stage's key holds the digest of the data it decides by, so a changed model or cue list redoes
    its records even where the package's version stayed the same."""
    return tree_digest(resources.files("pipeline.resources"), folders)


def tree_digest(root, folders) -> str:
    """The digest of the named folders under `root` (a path or an importlib resource)."""
    found = hashlib.sha256()

    def add(name: str, entry) -> None:
        if entry.is_dir():
            for child in sorted(entry.iterdir(), key=lambda child: child.name):
                if child.name != "__pycache__":
                    add(f"{name}/{child.name}", child)
        else:
            found.update(name.encode() + b"\0" + (entry.read_bytes() if entry.is_file() else b"missing") + b"\0")

    for folder in sorted(folders):
        add(folder, root.joinpath(folder))
    return found.hexdigest()[:16]
