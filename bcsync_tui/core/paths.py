"""Where bcsync keeps its files: platformdirs by default, one directory with ``--home``/``BCSYNC_HOME``.

Every directory the tool creates is 0700 and every file 0600: the store holds personal data and the
secrets file holds passwords.
"""

from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "bcsync"
HOME_ENV = "BCSYNC_HOME"
PROFILE_ENV = "BCSYNC_PROFILE"


class FileProblem(OSError):
    """A file or directory of ours cannot be used as it is: which one, what is wrong, what to do.
    Raised with nothing changed; the CLI prints it and exits 3. An OSError, so code that tolerates
    a failed write (a compaction that can wait) still does."""

    def __init__(self, path: Path, problem: str, todo: str):
        self.path, self.problem, self.todo = path, problem, todo
        super().__init__(f"{path} {problem}. Nothing was changed. {todo}")

    def __str__(self) -> str:
        return str(self.args[0])


def file_problem(path: Path, exc: OSError) -> FileProblem:
    """An OSError met while writing ``path``, said in words with what to do about it."""
    if isinstance(exc, FileProblem):
        return exc
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return FileProblem(path, "cannot be written: the disk is full (or your disk quota is used up)",
                           "Free some space on that disk, then try again.")
    if code == errno.EROFS:
        return FileProblem(path, "cannot be written: it is on a read-only file system",
                           "Use a writable location (--home DIR), then try again.")
    if code in (errno.EACCES, errno.EPERM):
        return FileProblem(path, "cannot be written: permission denied (or it is read-only or immutable)",
                           "Make it writable by your user (chmod u+w; `lsattr`/`chattr -i` for an immutable "
                           "file), then try again.")
    if code == errno.EISDIR:
        return FileProblem(path, "is a directory where bcsync keeps a file", "Move that directory away, then try again.")
    if code in (errno.ENOTDIR, errno.EEXIST):
        return FileProblem(path, "cannot be created: a file is in the way where bcsync needs a directory",
                           "Move that file away (or point --home at a directory), then try again.")
    return FileProblem(path, f"cannot be written ({exc.strerror or exc})", "Check the disk and the file, then try again.")


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        home = home or os.environ.get(HOME_ENV) or None
        if home:
            root = Path(home).expanduser().absolute()
            return cls(root, root, root / "logs")
        import platformdirs

        return cls(
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @property
    def store_file(self) -> Path:
        return self.data_dir / "store.json"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def secrets_file(self) -> Path:
        return self.config_dir / "secrets.json"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "bcsync.log"

    def ensure(self) -> Paths:
        for d in (self.data_dir, self.config_dir, self.log_dir):
            ensure_private_dir(d)
        return self


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` as 0700, and each missing parent too (``mkdir(parents=True)`` would make those
    with the default 0755); tighten ``path`` if it exists with a looser mode. A file in the way is a
    FileProblem, not a traceback."""
    try:
        if not path.is_dir():
            missing = [path, *(p for p in path.parents if not p.exists())]
            for directory in reversed(missing):
                try:
                    directory.mkdir(mode=0o700)
                except FileExistsError:
                    if not directory.is_dir():
                        raise
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o700)
    except OSError as exc:
        raise file_problem(path, exc) from exc
    return path


def default_profile_name() -> str:
    env = os.environ.get(PROFILE_ENV)
    if env:
        return env
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "default"


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``: temp file (0600) + fsync + rename + fsync dir."""
    write_private_stream(path, [data])


def write_private_stream(path: Path, chunks: Iterable[bytes],
                         patch: Callable[[int], Iterable[tuple[int, bytes]]] | None = None) -> None:
    """``write_private_file`` of the concatenated ``chunks``, written as they come (never all in
    memory). ``patch``, given the CRC-32 of everything written, names bytes to write at offsets
    before the file is synced (a checksum field)."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise file_problem(path, exc) from exc
    try:
        try:
            crc = 0
            for chunk in chunks:
                crc = zlib.crc32(chunk, crc)
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            for offset, data in patch(crc) if patch is not None else ():
                os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # e.g. disk full: do not leave a partial copy taking the space
        if isinstance(exc, OSError):
            raise file_problem(path, exc) from exc
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
