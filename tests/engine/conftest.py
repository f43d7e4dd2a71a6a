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
    with World(tmp_path, _CLASSES[request.param](tmp_path)) as w:
        yield w


@pytest.fixture
def ews(tmp_path):
    """A world on the loopback EWS server only (tests of what only the server can do)."""
    with World(tmp_path, EwsBackend(tmp_path)) as w:
        yield w
