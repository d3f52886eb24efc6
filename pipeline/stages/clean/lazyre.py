"""Regular expressions compiled when first used: clean holds some hundred cue patterns, and a
page needs few of them; compiling them all would be the first page's biggest cost."""

from __future__ import annotations

import re


class LazyPattern:
    """A pattern's source and flags, compiled at the first call of one of its methods. Then
    its methods are those of the compiled pattern (no call in between). Equal and hashed as
    the compiled pattern would be: by source and flags."""

    def __init__(self, source: str, flags: int = 0):
        self.source, self.flags = source, flags

    def __getattr__(self, name: str):  # only for what is not set yet: compile, then keep
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = re.compile(self.source, self.flags)
        self.search, self.match, self.fullmatch = compiled.search, compiled.match, compiled.fullmatch
        self.findall, self.finditer, self.pattern = compiled.findall, compiled.finditer, compiled.pattern
        return getattr(compiled, name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyPattern) and (self.source, self.flags) == (other.source, other.flags)

    def __hash__(self) -> int:
        return hash((self.source, self.flags))

    def __repr__(self) -> str:
        return f"LazyPattern({self.source!r}, {self.flags!r})"
