"""The engine's Hypothesis state machine on the Graph transport: MSAL and plain HTTP against the loopback
Graph server, with its own faults (throttling, lost answers, expired delta tokens)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import initialize

from tests.engine.backends import World
from tests.engine.graph_backend import GraphBackend
from tests.engine.test_state_machine import SyncMachine


class GraphSyncMachine(SyncMachine):
    @initialize()
    def setup(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="bcsync-sm-graph-"))
        self.world = World(self.tmp, GraphBackend(self.tmp))
        self.faulted = False


TestGraphSyncMachine = GraphSyncMachine.TestCase
TestGraphSyncMachine.settings = settings(max_examples=int(os.environ.get("BCSYNC_SM_GRAPH_EXAMPLES", "8")),
                                         stateful_step_count=20, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
