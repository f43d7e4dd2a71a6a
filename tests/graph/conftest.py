from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch, tmp_path):
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
