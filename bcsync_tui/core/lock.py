"""Cross-process locks on a store: advisory ``flock`` with the holder's PID written in the file."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class LockedError(RuntimeError):
    """Another process holds the lock."""

    def __init__(self, path: Path, pid: int | None, what: str):
        self.path, self.pid = path, pid
        holder = f"PID {pid}" if pid else "another process"
        super().__init__(f"The {what} is in use by {holder} ({path}). Wait for it to finish and try again.")


class FileLock:
    def __init__(self, path: Path, what: str = "contact store"):
        self.path = path
        self.what = what
        self._fd: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder_pid(self) -> int | None:
        try:
            text = self.path.read_text().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    def _wait_for_holder_pid(self) -> int | None:
        """The holder writes its PID just after taking the lock: give it a moment to appear."""
        for _ in range(20):
            pid = self.holder_pid()
            if pid:
                return pid
            time.sleep(0.005)
        return None

    def acquire(self, timeout: float = 10.0) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (0 = do not wait). Re-entrant."""
        if self._fd is not None:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockedError(self.path, self._wait_for_holder_pid(), self.what) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd, self._depth = fd, 1

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
