"""Directories bcsync creates are 0700 (parents it has to create too), and a command that only reads
(a failing `status`) creates nothing."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.cli.conftest import BCSYNC


def _bcsync(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BCSYNC_HOME", "BCSYNC_PROFILE")}
    env.update(BCSYNC_NO_KEYRING="1", HOME=str(tmp_path / "user"), XDG_DATA_HOME=str(tmp_path / "user/share"),
               XDG_STATE_HOME=str(tmp_path / "user/state"), XDG_CONFIG_HOME=str(tmp_path / "user/config"))
    return subprocess.run([BCSYNC, "--profile", "ann", *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_a_failing_status_creates_no_directory(tmp_path):
    r = _bcsync(tmp_path, "status")
    assert r.returncode == 3 and "setup" in r.stderr
    assert not (tmp_path / "user").exists()


def test_directories_the_tool_creates_are_private(tmp_path):
    (tmp_path / "user").mkdir(mode=0o755)
    r = _bcsync(tmp_path, "contacts", "add", "--name", "Ann", "--email", "ann@example.com")
    assert r.returncode == 0, r.stderr
    r = _bcsync(tmp_path, "setup", "--email", "ann@example.com", "--server", "https://ex.example.com/EWS/Exchange.asmx")
    assert r.returncode == 0, r.stderr
    created = [p for p in (tmp_path / "user").rglob("*") if p.is_dir()]
    assert any(p.name == "bcsync" for p in created)
    loose = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in created if stat.S_IMODE(p.stat().st_mode) != 0o700}
    assert loose == {}
