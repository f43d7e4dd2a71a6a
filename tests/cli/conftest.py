"""Fixtures for the ``bcsync`` command line: every test gets its own --home and XDG config dir, and the
real keyring, crontab and systemd are never touched."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bcsync_tui.cli import main
from bcsync_tui.core.paths import Paths
from bcsync_tui.core.store import Store

PROFILE = "ann"
BCSYNC = str(Path(sys.executable).with_name("bcsync"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in ("BCSYNC_HOME", "BCSYNC_PROFILE", "BCSYNC_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


class Cli:
    """Runs ``bcsync --home HOME --profile ann ARGS`` in-process and captures what it prints."""

    def __init__(self, home: Path, capsys, monkeypatch):
        self.home, self.capsys, self.monkeypatch = home, capsys, monkeypatch
        self.paths = Paths.resolve(home)

    def __call__(self, *args: str, stdin: str | None = None, profile: str | None = PROFILE) -> Result:
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        prefix = ["--home", str(self.home)] + (["--profile", profile] if profile else [])
        code = main([*prefix, *args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def store(self) -> Store:
        return Store.open(self.paths)

    @property
    def store_file(self) -> Path:
        return self.paths.store_file

    def store_bytes(self) -> bytes:
        """The store as it is on disk: snapshot plus journal."""
        wal = self.store_file.with_name(self.store_file.name + ".wal")
        return (self.store_file.read_bytes() if self.store_file.exists() else b"") + (
            wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home, capsys, monkeypatch) -> Cli:
    return Cli(home, capsys, monkeypatch)


def run_bcsync(*args: str, home: Path, input: bytes | None = None, close_stdin: bool = False,
               env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed console script as cron would run it: no terminal, stdin empty or closed."""
    full_env = {**os.environ, "BCSYNC_NO_KEYRING": "1", **(env or {})}
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    return subprocess.run([BCSYNC, "--home", str(home), *args], input=input, stdin=None if input is not None else stdin,
                          capture_output=True, env=full_env, timeout=timeout,
                          preexec_fn=(lambda: os.close(0)) if close_stdin else None)
