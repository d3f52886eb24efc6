"""Time limits on one document's work in one stage (models.yaml `limits`).

`deadline(seconds, clock)` raises TimeLimitReached in the code inside when its time is up.
The clock is the process's CPU time (`cpu`: ITIMER_PROF, SIGPROF) for CPU stages, so that
a machine shared with other work does not fail pages that are merely waiting for a core,
or wall-clock time (`wall`: ITIMER_REAL, SIGALRM) for model stages, whose work may be on a
GPU. It works where signals can be used: the main thread of a process, which is where the
local engine's workers, the local engine and Ray's tasks compute; elsewhere, and for 0
seconds, there is no limit. Code in a C extension that never returns to Python is stopped
when it does.

`paused()` stops the clock while something every later document shares is loaded (a model's
weights, a tokenizer, torch itself): a load cut short would leave a half-imported module
behind, and the time is not the document's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CPU, WALL = "cpu", "wall"
_TIMERS = {CPU: ("ITIMER_PROF", "SIGPROF"), WALL: ("ITIMER_REAL", "SIGALRM")}
_armed: tuple[int, int] | None = None  # (timer, signal) of the deadline in force in this process


class TimeLimitReached(BaseException):
    """Raised in the stage's code when its time is up. A BaseException, so that no `except
    Exception` inside a stage can take it for a page's problem and carry on."""


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class deadline:  # noqa: N801 - a context manager, named like contextlib's
    def __init__(self, seconds: float, clock: str = WALL):
        self.seconds = seconds
        self.timer, self.signal = (getattr(signal, name, None) for name in _TIMERS[clock])
        self.armed = False

    def __enter__(self) -> deadline:
        global _armed
        if self.seconds > 0 and _armed is None and self.timer is not None and _usable():
            self.previous = signal.signal(self.signal, _expire)
            signal.setitimer(self.timer, self.seconds)
            _armed, self.armed = (self.timer, self.signal), True
        return self

    def __exit__(self, *exc) -> bool:
        global _armed
        if self.armed:
            signal.setitimer(self.timer, 0)
            signal.signal(self.signal, self.previous)
            _armed, self.armed = None, False
        return False


def _expire(signum, frame) -> None:
    raise TimeLimitReached()


@contextmanager
def paused() -> Iterator[None]:
    """The clock of the deadline in force, if any, stopped for the code inside."""
    armed = _armed
    if armed is None or not _usable():
        yield
        return
    remaining, _ = signal.setitimer(armed[0], 0)
    try:
        yield
    finally:
        if remaining > 0 and _armed == armed:
            signal.setitimer(armed[0], remaining)
