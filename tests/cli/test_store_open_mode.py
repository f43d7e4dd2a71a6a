"""Which CLI commands open the store with compact records (storage.py): a sync, for its peak
memory at 50,000 contacts; every other command lives a moment and opens it quicker."""

from __future__ import annotations

import argparse

import pytest

from bcsync_tui.cli.main import Context
from bcsync_tui.core.paths import Paths


@pytest.mark.parametrize("command, compact", [("sync", True), ("status", False), ("contacts", False),
                                              ("log", False)])
def test_only_a_sync_opens_the_store_compact(tmp_path, command, compact):
    paths = Paths.resolve(str(tmp_path / "home"))
    ctx = Context(argparse.Namespace(command=command), paths, "ann")
    try:
        assert ctx.store().storage.compact_records is compact
    finally:
        ctx.close()
