"""Where bcsync keeps its files: platformdirs by default, one directory with ``--home``/``BCSYNC_HOME``.

Every directory the tool creates is 0700 and every file 0600: the store holds personal data and the
secrets file holds passwords.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "bcsync"
HOME_ENV = "BCSYNC_HOME"
PROFILE_ENV = "BCSYNC_PROFILE"


class FileProblem(RuntimeError):
    """A file or directory of ours cannot be used as it is: which one, what is wrong, what to do.
    Raised before anything is changed; the CLI prints it and exits 3."""

    def __init__(self, path: Path, problem: str, todo: str):
        self.path, self.problem, self.todo = path, problem, todo
        super().__init__(f"{path} {problem}. Nothing was changed. {todo}")


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
    """Create ``path`` (and parents) as 0700; tighten it if we created it earlier with a looser mode."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
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
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. disk full: do not leave a partial copy taking the space
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
