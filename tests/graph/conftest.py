"""The Graph tests run isolated as the CLI tests do (own --home and config dir, no keyring) and may use
the command line fixtures; ``world`` is a store and a mailbox on the loopback Graph server."""

from __future__ import annotations

import pytest

from tests.cli.conftest import _isolated_env, cli, home  # noqa: F401 - fixtures, shared with the CLI tests
from tests.engine.backends import World
from tests.engine.graph_backend import GraphBackend


@pytest.fixture
def world(tmp_path):
    with World(tmp_path, GraphBackend(tmp_path)) as w:
        yield w
