from __future__ import annotations

import pytest

from .backends import EwsBackend, MemoryBackend, World

BACKENDS = ["memory", "ews"]


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch):
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")


@pytest.fixture(params=BACKENDS)
def world(request, tmp_path):
    backend = MemoryBackend(tmp_path) if request.param == "memory" else EwsBackend(tmp_path)
    w = World(tmp_path, backend)
    yield w
    backend.close()
    w.store.close()
