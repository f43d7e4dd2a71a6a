from __future__ import annotations

import pytest

from .backends import EwsBackend, MemoryBackend, World
from .graph_backend import GraphBackend

BACKENDS = ["memory", "ews", "graph"]
_CLASSES = {"memory": MemoryBackend, "ews": EwsBackend, "graph": GraphBackend}


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch):
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")


@pytest.fixture(params=BACKENDS)
def world(request, tmp_path):
    backend = _CLASSES[request.param](tmp_path)
    w = World(tmp_path, backend)
    yield w
    backend.close()
    w.store.close()


@pytest.fixture
def ews(tmp_path):
    """A world on the loopback EWS server only (tests of what only the server can do)."""
    w = World(tmp_path, EwsBackend(tmp_path))
    yield w
    w.backend.close()
    w.store.close()
