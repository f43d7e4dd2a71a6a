from __future__ import annotations

import pytest

from tests.cli.conftest import cli, home  # noqa: F401 - the command line fixtures, for the Graph CLI tests


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch, tmp_path):
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in ("BCSYNC_HOME", "BCSYNC_PROFILE", "BCSYNC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
