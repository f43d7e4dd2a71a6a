from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch):
    """Unit tests never touch the developer's real OS keyring: secrets go to the 0600 file."""
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")
