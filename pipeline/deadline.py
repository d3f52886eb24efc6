"""Time limits on one document's work in one stage (models.yaml `limits`).

`deadline(seconds)` raises TimeLimitReached in the code inside when its time is up, by
SIGALRM. It works where signals can be used: the main thread of a process, which is where the
local engine's workers, the local engine and Ray's tasks compute; elsewhere, and for 0
seconds, there is no limit. Code in a C extension that never returns to Python is not
interrupted until it does.

`paused()` stops the clock while something every later document shares is loaded (a model's
weights, a tokenizer, torch itself): a load cut short would leave a half-imported module
behind, and the time is not the document's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_armed = False  # a deadline of ours holds the process's ITIMER_REAL


class TimeLimitReached(BaseException):
    """Raised in the stage's code when its time is up. A BaseException, so that no `except
    Exception` inside a stage can take it for a page's problem and carry on."""


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class deadline:  # noqa: N801 - a context manager, named like contextlib's
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = False

    def __enter__(self) -> deadline:
        global _armed
        if self.seconds > 0 and not _armed and _usable():
            self.previous = signal.signal(signal.SIGALRM, _expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = _armed = True
        return self

    def __exit__(self, *exc) -> bool:
        global _armed
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
            self.armed = _armed = False
        return False


def _expire(signum, frame) -> None:
    raise TimeLimitReached()


@contextmanager
def paused() -> Iterator[None]:
    """The clock of the deadline in force, if any, stopped for the code inside."""
    if not (_armed and _usable()):
        yield
        return
    remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining > 0:
            signal.setitimer(signal.ITIMER_REAL, remaining)
