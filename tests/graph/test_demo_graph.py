"""`bcsync demo --graph`: the demo over the loopback Graph server, with the device code sign-in a new
Microsoft 365 user sees, approved by the demo itself."""

from __future__ import annotations

import re

from tests.cli.conftest import run_bcsync


def test_the_graph_demo_shows_a_device_code_signs_in_by_itself_and_syncs(tmp_path):
    home = tmp_path / "home"
    proc = run_bcsync("demo", "--graph", "--no-tui", home=home, timeout=180)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert re.search(r"open https://127\.0\.0\.1:\d+/devicelogin and enter the code \S+", out)
    assert "Signed in as demo@bcsync.example" in out
    assert re.search(r"demo sync ok: outlook created \d+", out)
    status = run_bcsync("--home", str(home / "demo"), "--profile", "demo", "status", home=home)
    assert b"on Exchange Online (Microsoft Graph)" in status.stdout
    again = run_bcsync("demo", "--no-tui", home=home, timeout=180)  # back over EWS: relinked, nothing created
    assert again.returncode == 0 and b"outlook created" not in again.stdout, again.stdout
