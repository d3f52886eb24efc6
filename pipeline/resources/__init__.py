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
    pending = [(folder, root.joinpath(folder)) for folder in sorted(folders)]
    while pending:
        name, entry = pending.pop(0)
        if entry.is_dir():
            pending[:0] = sorted(((f"{name}/{child.name}", child) for child in entry.iterdir()
                                  if child.name != "__pycache__"), key=lambda pair: pair[0])
        elif entry.is_file():
            found.update(name.encode() + b"\0" + entry.read_bytes() + b"\0")
        else:
            found.update(name.encode() + b"\0missing\0")
    return found.hexdigest()[:16]
