"""Persistence across restarts, and the command line."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

from exchangelib import Contact

from bcsync_tui.ewsserver import LoopbackExchange

from .conftest import ANN, ANN_PW, FOLDER, connect, find_or_create


def test_mailboxes_survive_a_restart(tmp_path, stamp):
    data = tmp_path / "exchange.json"
    with LoopbackExchange(users={ANN: ANN_PW}, data_path=data) as s:
        account = connect(s)
        folder = find_or_create(account)
        items = [Contact(folder=folder, display_name=f"Ødegård {i}", body=f"note {i}", categories=["VIP"],
                         **{stamp: f"u{i}"}) for i in range(5)]
        ids = {r.id for r in account.bulk_create(folder=folder, items=items)}
        list(folder.sync_items())
        state = folder.item_sync_state
    assert data.exists() and stat.S_IMODE(os.stat(data).st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != data.name]  # no temp files left

    with LoopbackExchange(users={ANN: "new-password"}, data_path=data) as s:
        from exchangelib.protocol import close_connections
        close_connections()
        account = connect(s, password="new-password")
        folder = account.contacts // FOLDER
        got = {c.id: c for c in folder.all()}
        assert set(got) == ids
        c = next(iter(got.values()))
        assert c.body.startswith("note ") and c.categories == ["VIP"] and getattr(c, stamp).startswith("u")
        assert list(folder.sync_items(sync_state=state)) == []  # the old sync state is still valid
        s.outlook().edit_contact(c.id, job_title="after restart")
        assert [k for k, _ in folder.sync_items(sync_state=state)] == ["update"]


def test_corrupt_data_file_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    try:
        LoopbackExchange(users={ANN: ANN_PW}, data_path=bad)
    except ValueError as e:
        assert "not a loopback Exchange data file" in str(e)
    else:
        raise AssertionError("a foreign data file was accepted")


def _start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "bcsync_tui.ewsserver", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cli_prints_the_url_and_stops_on_sigterm(tmp_path):
    data = tmp_path / "cli.json"
    proc = _start_cli("--port", "0", "--user", f"{ANN}:{ANN_PW}", "--user", "bob@example.com:x:y", "--data",
                      str(data))
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/EWS/Exchange.asmx")

        class Endpoint:
            pass
        ep = Endpoint()
        ep.url = url
        account = connect(ep)
        folder = find_or_create(account)
        Contact(folder=folder, display_name="Via CLI").save()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with LoopbackExchange(users={ANN: ANN_PW}, data_path=data) as s:
        assert [c["display_name"] for c in s.outlook().contacts(FOLDER)] == ["Via CLI"]


def test_cli_configuration_errors():
    proc = _start_cli("--port", "0")
    assert proc.wait(timeout=10) == 3 and "--user" in proc.stderr.read()
    proc = _start_cli("--user", "no-colon")
    assert proc.wait(timeout=10) == 3
    with LoopbackExchange(users={ANN: ANN_PW}) as s:
        proc = _start_cli("--port", str(s.port), "--user", f"{ANN}:{ANN_PW}")
        assert proc.wait(timeout=10) == 3 and "cannot listen" in proc.stderr.read()


def test_cli_module_api():
    import argparse

    from bcsync_tui.ewsserver import cli
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--user", "a@b.example:pw", "--data", "x.json", "--host", "127.0.0.1"])
    assert (args.port, args.user, args.data, args.host) == (0, ["a@b.example:pw"], "x.json", "127.0.0.1")
    assert callable(cli.run)


def test_changes_are_saved_while_running(tmp_path):
    import json
    import time
    data = tmp_path / "live.json"
    with LoopbackExchange(users={ANN: ANN_PW}, data_path=data, save_interval=0.05) as s:
        s.outlook().create_contact("contacts", display_name="Saved soon")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if data.exists() and "Saved soon" in data.read_text(encoding="utf-8"):
                break
            time.sleep(0.05)
        saved = json.loads(data.read_text(encoding="utf-8"))
        assert saved["format"] == "bcsync-loopback-exchange" and ANN_PW not in data.read_text(encoding="utf-8")
