"""Cross-process locks on a store: advisory ``flock`` with the holder's PID written in the file."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .paths import FileProblem, ensure_private_dir


class LockedError(RuntimeError):
    """Another process holds the lock."""

    def __init__(self, path: Path, pid: int | None, what: str):
        self.path, self.pid = path, pid
        holder = f"PID {pid}" if pid else "another process"
        super().__init__(f"The {what} is in use by {holder} ({path}). Wait for it to finish and try again.")


class LockFileError(FileProblem):
    """The lock file cannot be used (a directory at its path, no permission)."""

    def __init__(self, path: Path, problem: str, todo: str):
        super().__init__(path, f"(a lock file) {problem}", f"{todo}, then try again.")


class FileLock:
    """``guard_dir``: also hold an exclusive ``flock`` on the lock file's directory. A directory
    that holds files cannot be removed, so no ``rm`` of the lock file while we hold it lets another
    writer in (the inode check alone only covers a removal before we locked). Only one lock per
    directory can use it: the store lock (short transactions); the sync lock relies on the check."""

    def __init__(self, path: Path, what: str = "contact store", guard_dir: bool = False):
        self.path = path
        self.what = what
        self.guard_dir = guard_dir
        self._fd: int | None = None
        self._dir_fd: int | None = None
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
        """Take the lock, waiting up to ``timeout`` seconds (0 = do not wait). Re-entrant.

        ``flock`` locks whatever file was open: if the lock file was removed (or replaced) meanwhile,
        another process can create a new one at the path and lock that too. So after locking, check
        that the locked file is still the one at the path, and start again if not."""
        if self._fd is not None:
            self._depth += 1
            return
        deadline = time.monotonic() + timeout
        if self.guard_dir:
            self._dir_fd = self._flock_dir(deadline)
        try:
            fd = self._lock_file(deadline)
        except BaseException:
            self._release_dir()
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # the PID only helps a waiting process name the holder (a full disk must not stop us)
        self._fd, self._depth = fd, 1

    def _flock_dir(self, deadline: float) -> int:
        ensure_private_dir(self.path.parent)
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        delay = 0.005
        while True:
            try:
                fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return dir_fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(dir_fd)
                    raise LockedError(self.path, self._wait_for_holder_pid(), self.what) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _release_dir(self) -> None:
        dir_fd, self._dir_fd = self._dir_fd, None
        if dir_fd is not None:
            os.close(dir_fd)  # closing the last descriptor releases its flock

    def _lock_file(self, deadline: float) -> int:
        delay = 0.005
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise LockedError(self.path, self._wait_for_holder_pid(), self.what) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            except BaseException:
                os.close(fd)
                raise
            if self._is_at_path(fd):
                return fd
            os.close(fd)  # we locked a file that is no longer the lock file: take the one there now

    def _open(self) -> int:
        try:
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError:  # the store's directory is made by its first write
                ensure_private_dir(self.path.parent)
                return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except IsADirectoryError:
            raise LockFileError(self.path, "is a directory, not a lock file", "Remove or rename that "
                                "directory") from None
        except PermissionError:
            raise LockFileError(self.path, "cannot be opened for writing (permission denied, or it is read-only "
                                "or immutable)", "Make it writable by you (chmod u+rw; `chattr -i`), or remove "
                                "it") from None
        except FileProblem:
            raise
        except OSError as exc:
            raise LockFileError(self.path, f"cannot be opened ({exc.strerror or exc})",
                                "Check the file and the disk it is on") from None

    def _is_at_path(self, fd: int) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (st.st_ino, st.st_dev) == (held.st_ino, held.st_dev)

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
            self._release_dir()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
