"""The TUI's sync child (core/sync/child.py) yields the CPU to the UI: it runs at a lower priority."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bcsync_tui.core.sync.child import CHILD_NICENESS


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities here")
def test_the_sync_child_lowers_its_cpu_priority_below_the_ui():
    script = ("import os; from bcsync_tui.core.sync.child import lower_priority; "
              "before = os.nice(0); lower_priority(); print(before, os.nice(0))")
    before, after = map(int, subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                            text=True).stdout.split())
    assert CHILD_NICENESS > 0
    assert after == min(19, before + CHILD_NICENESS)
    assert os.nice(0) == before  # this process (the UI) keeps its own
