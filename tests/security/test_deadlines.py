"""Validation always asks the server, and no server can hang `bcsync`: every HTTP request has a whole-
request deadline (a per-read timeout never fires on a server sending one byte a second), and SIGTERM
stops a sync at its next safe point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from bcsync_tui.core.lock import FileLock
from bcsync_tui.core.net import DEADLINE_ENV
from tests.cli.conftest import BCSYNC

from .conftest import EMAIL, PASSWORD, set_up_profile
from .hostile_http import HostileServer


@pytest.fixture
def synced(cli, server):
    """A profile that has synced once: its folder id and the server version are stored."""
    set_up_profile(cli, server, "Per")
    r = cli("sync")
    assert r.code == 0, r.both
    return cli


def _point_at(cli, url: str) -> None:
    assert cli("setup", "--server", url).code == 0


def test_validate_after_a_sync_still_asks_the_server(synced, server):
    before = server.stats.total
    assert synced("setup", "--validate").code == 0
    assert server.stats.total > before  # it really asked
    server.set_password(EMAIL, "rotated")
    r = synced("setup", "--validate")
    assert r.code == 3 and "rejected the user name or password" in r.err and "Connected" not in r.out


def test_validate_after_a_sync_with_a_dead_url(synced):
    dead = HostileServer("frozen")
    url = dead.url
    dead.__exit__()  # nothing listens there any more
    _point_at(synced, url)
    r = synced("setup", "--validate")
    assert r.code == 3 and "Cannot reach" in r.err and "Connected" not in r.out


def test_validate_after_a_sync_with_a_frozen_server(synced):
    with HostileServer("frozen") as frozen:
        _point_at(synced, frozen.url)
        r = synced("setup", "--validate", "--timeout", "2")
    assert r.code == 3 and "did not" in r.err and "Connected" not in r.out and frozen.connections >= 1


def test_validate_against_a_trickling_server_ends_at_its_deadline(synced):
    with HostileServer("trickle", byte_every=0.2) as trickle:
        _point_at(synced, trickle.url)
        start = time.monotonic()
        r = synced("setup", "--validate", "--timeout", "2")
        took = time.monotonic() - start
    assert r.code == 3, r.both
    assert "did not finish answering within 2 s" in r.err and "Connected" not in r.out
    assert took < 60  # 100,000 bytes at 5 a second would be 5.5 hours


def test_sync_against_a_trickling_server_ends_at_its_deadline_and_frees_the_lock(synced, monkeypatch):
    monkeypatch.setenv(DEADLINE_ENV, "2")
    with HostileServer("trickle", byte_every=0.2) as trickle:
        _point_at(synced, trickle.url)
        r = synced("sync")
    assert r.code == 3, r.both
    assert "did not finish answering within 2 s" in r.out and "Traceback" not in r.both
    last = json.loads(synced("log", "--json").out)["runs"][0]
    assert last["status"] == "failed" and "did not finish answering" in last["message"]
    lock = FileLock(synced.store_file.with_name("sync.lock"))
    lock.acquire(timeout=0)  # free
    lock.release()


def _signal_during_a_slow_read(server, proc: subprocess.Popen, request: bytes | None = None,
                               sig: int = signal.SIGTERM) -> tuple[bytes, bytes]:
    """A signal to a sync process while the server takes its time over the sync's read."""
    try:
        if request is not None:
            proc.stdin.write(request)
            proc.stdin.flush()
        for _ in range(600):  # until the sync is in the middle of its (slow) read
            if any(kind == "slow" for kind, _op in server.faults.applied):
                break
            time.sleep(0.05)
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        proc.kill()
        server.faults.clear()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_a_running_sync_at_a_safe_point(cli, server, home, sig):
    set_up_profile(cli, server, "Ada", "Bo", "Cy")
    server.faults.slow(4.0, count=None, operation="SyncFolderItems")
    env = {**os.environ, "BCSYNC_NO_KEYRING": "1"}
    proc = subprocess.Popen([BCSYNC, "--home", str(home), "--profile", "ann", "sync"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = _signal_during_a_slow_read(server, proc, sig=sig)
    assert proc.returncode == 1, (out, err)
    assert b"stopping at the next safe point" in err and b"Traceback" not in err
    last = json.loads(cli("log", "--json").out)["runs"][0]
    assert last["status"] == "cancelled"
    assert server.stats.count("CreateItem") == 0  # stopped before writing
    lock = FileLock(cli.store_file.with_name("sync.lock"))
    lock.acquire(timeout=0)
    lock.release()


def test_sigterm_stops_the_tuis_sync_child_at_a_safe_point(cli, server, home):
    """The TUI runs its sync in a child process; a SIGTERM there (logout, systemd) cancels too."""
    import sys

    set_up_profile(cli, server, "Kari")
    server.faults.slow(4.0, count=None, operation="SyncFolderItems")
    request = {"store": str(cli.store_file), "backup_dir": None, "secrets_file": str(cli.paths.secrets_file),
               "profile": "ann", "mode": "incremental", "dry_run": False, "force": False}
    proc = subprocess.Popen([sys.executable, "-m", "bcsync_tui.core.sync.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = _signal_during_a_slow_read(server, proc, json.dumps(request).encode() + b"\n")
    result = [json.loads(line) for line in out.splitlines() if b'"result"' in line]
    assert result and result[0]["result"]["status"] == "cancelled", (out, err)
    assert server.stats.count("CreateItem") == 0


def test_a_sync_past_its_run_deadline_stops_at_a_safe_point(cli, server):
    from bcsync_tui.core.sync.ews import EwsTransport
    from bcsync_tui.core.sync.runner import sync_blocking

    set_up_profile(cli, server, "Ola")
    server.faults.slow(1.5, count=None)  # every request takes longer than the whole run may
    store = cli.store()
    try:
        run = sync_blocking(store, "ann", transport_factory=lambda p: EwsTransport(p, PASSWORD, run_deadline=1.0))
    finally:
        store.close()
        server.faults.clear()
    assert run.status.value == "partial" and "time limit" in run.message
    assert server.stats.count("CreateItem") == 0
    assert cli("sync").code == 0  # the next run continues
