"""One run at a time per OUT folder: an advisory lock on OUT/.newsum/lock.

The lock is an flock(2) on the file, so the kernel releases it when the holder dies, even
by SIGKILL: a lock left behind by a dead process is simply taken over. The file holds the
holder's pid and start time, for the message a second run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from pipeline.errors import LockHeld
from pipeline.state import STATE_DIR, now


class RunLock:
    def __init__(self, out_dir: str | os.PathLike):
        self.path = Path(out_dir) / STATE_DIR / "lock"
        self.fd: int | None = None
        self.previous_holder: dict | None = None  # a dead run's lock that was taken over

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self, wait_seconds: float = 0.0) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = self._holder()
                    who = f"pid {holder.get('pid', '?')}, started {holder.get('started_at', '?')}"
                    waited = f" after waiting {wait_seconds:g} s" if wait_seconds else ""
                    raise LockHeld(f"{self.path.parent.parent}: another newsum run ({who}) is using this "
                                   f"output folder{waited}; wait for it or use --wait SECONDS") from None
                time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
        stale = self._holder()
        if stale.get("pid") and stale.get("pid") != os.getpid():
            self.previous_holder = stale  # its process is gone: the kernel released its flock
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started_at": now()}).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
