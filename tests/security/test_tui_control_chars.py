"""The TUI in a real terminal (tmux) shows a contact whose fields carry terminal control sequences
as harmless text: the window title is not set, the screen not cleared, no colour switched on."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest

from bcsync_tui.core.store import Store
from tests.cli.conftest import BCSYNC

HOSTILE_NAME = "Eve\x1b]0;owned\x07\x1b[2J\x9b2J Red"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to run the TUI in a real terminal")
def test_the_tui_renders_control_sequences_as_text(tmp_path):
    home = tmp_path / "home"
    with Store(home / "store.json") as store:
        store.add_contact({"name": HOSTILE_NAME, "email": "eve@example.com", "city": "Oslo\x1b[31m", "type": "Person"})
    session = f"bcsync-{uuid.uuid4().hex[:8]}"
    env = "BCSYNC_NO_KEYRING=1 TERM=xterm-256color"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    f"env {env} {BCSYNC} --home {home} --profile ann"], check=True, timeout=30,
                   env={**os.environ, "TMUX": ""})
    try:
        screen = ""
        for _ in range(150):  # until the contact list is drawn
            screen = _tmux("capture-pane", "-p", "-t", session)
            if "eve@example.com" in screen:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        screen = _tmux("capture-pane", "-p", "-t", session)
        title = _tmux("display-message", "-p", "-t", session, "#{pane_title}")
        coloured = _tmux("capture-pane", "-e", "-p", "-t", session)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=30)
    assert "eve@example.com" in screen, screen
    assert "owned" not in title  # OSC 0 did not retitle the window...
    assert "]0;owned" in screen  # ...it is shown as text
    assert "No." in screen and "E-Mail" in screen  # ESC [2J did not clear the screen
    row = next(line for line in coloured.splitlines() if "eve@example.com" in line)
    assert "\x1b[31m" not in row  # "Oslo ESC[31m": no red switched on
