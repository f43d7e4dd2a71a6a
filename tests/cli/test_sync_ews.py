"""``bcsync setup --validate`` and ``bcsync sync`` against the loopback Exchange server, through the real
exchangelib client over HTTP — in-process and as cron would run the installed command."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from bcsync_tui.ewsserver import LoopbackExchange

from .conftest import BCSYNC, run_bcsync

EMAIL, PASSWORD = "ann@example.com", "Loopback-pw-7"
FOLDER = "Business Central"


@pytest.fixture
def server():
    with LoopbackExchange(users={EMAIL: PASSWORD}) as srv:
        yield srv


@pytest.fixture
def ann(cli, server):
    r = cli("setup", "--email", EMAIL, "--server", server.url, "--password-stdin", stdin=PASSWORD + "\n")
    assert r.code == 0, r.err
    for first, last, city in (("Åse", "Ødegård", "Oslo"), ("Per", "Hansen", "Bergen"), ("Kari", "Nordmann", "Oslo")):
        assert cli("contacts", "add", "--first-name", first, "--surname", last, "--city", city,
                   "--email", f"{first.lower()}@example.no".replace("å", "a")).code == 0
    return cli


def _emails(server) -> list[str]:
    user = server.outlook(EMAIL)
    if not any(path.rsplit("/", 1)[-1] == FOLDER for path in user.folders()):
        return []
    return sorted(c.get("email1", "") for c in user.contacts(FOLDER))


def test_validate_connection(ann, server):
    r = ann("setup", "--validate")
    assert r.code == 0 and r.out.startswith("Connected successfully to Exchange.")
    server.set_password(EMAIL, "changed")
    r = ann("setup", "--validate", "--json")
    data = json.loads(r.out)
    assert r.code == 3 and data["validation"]["ok"] is False and PASSWORD not in r.both


def test_sync_through_exchangelib(ann, server):
    r = ann("sync")
    assert r.code == 0, r.both
    assert "Outlook: 3 created" in r.out
    assert _emails(server) == ["ase@example.no", "kari@example.no", "per@example.no"]
    server.outlook(EMAIL).create_contact(FOLDER, given_name="Zoë", surname="Outlook", display_name="Zoë Outlook",
                                         email1="zoe@example.com")
    server.outlook(EMAIL).create_contact(FOLDER, display_name="No Mail")
    r = ann("sync", "--json", "-q")
    run = json.loads(r.out)["runs"][0]
    assert r.code == 0 and run["counts"]["master_created"] == 1 and run["counts"]["skipped"] == 1
    assert run["skipped"][0]["name"] == "No Mail"
    names = [c["name"] for c in json.loads(ann("contacts", "list", "--json").out)["contacts"]]
    assert "Zoë Outlook" in names
    status = json.loads(ann("status", "--json", "--max-age", "1h").out)
    assert status["healthy"] and status["profiles"][0]["contacts"]["linked"] == 4
    ann("contacts", "edit", "CT000002", "--city", "Stavanger")
    writes = [server.stats.count(op) for op in ("CreateItem", "UpdateItem", "DeleteItem")]
    r = ann("sync", "--dry-run", "--json", "-q")
    plan = json.loads(r.out)["runs"][0]["plan"]
    assert r.code == 0 and [(p["action"], p["side"], p["ref"]) for p in plan] == [("update", "outlook", "CT000002")]
    assert [server.stats.count(op) for op in ("CreateItem", "UpdateItem", "DeleteItem")] == writes
    assert PASSWORD not in r.both


def test_wrong_password_is_exit_3_and_status_reports_it(ann, server):
    server.set_password(EMAIL, "rotated")
    r = ann("sync")
    assert r.code == 3 and "FAILED" in r.out and PASSWORD not in r.both
    assert ann("status").code == 1


def test_a_sync_holding_the_lock_makes_the_other_exit_4(ann, server):
    with ann.store() as store:
        lock = store.sync_lock()
        lock.acquire()
        try:
            r = ann("sync")
            assert r.code == 4 and "Wait for it to finish" in r.err
        finally:
            lock.release()
    assert _emails(server) == []
    assert ann("sync").code == 0


def test_two_real_syncs_at_once_never_duplicate(ann, server, home):
    procs = [subprocess.Popen([BCSYNC, "--home", str(home), "--profile", "ann", "sync", "--quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    assert set(codes) <= {0, 4} and 0 in codes
    for p, code in zip(procs, codes, strict=True):
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        if code == 4:
            assert b"in use by" in err
    assert _emails(server) == ["ase@example.no", "kari@example.no", "per@example.no"]


def test_scheduled_style_run_with_no_terminal_and_closed_stdin(ann, server, home):
    assert ann("setup", "--email", "bob@example.com", "--server", server.url, "--disable", profile="bob").code == 0
    proc = run_bcsync("sync", "--all-profiles", home=home, close_stdin=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("ann: ok") and b"bob" not in proc.stdout
    assert b"\r" not in proc.stderr and proc.stderr.decode().splitlines()[0].startswith("ann: ")
    assert len(_emails(server)) == 3


def test_exchange_server_command(tmp_path):
    proc = subprocess.Popen([BCSYNC, "--home", str(tmp_path), "exchange-server", "--port", "0",
                             "--user", "zed@example.com:pw"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/EWS/Exchange.asmx")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0
    proc = run_bcsync("exchange-server", home=tmp_path)
    assert proc.returncode == 3 and b"--user" in proc.stderr


def test_exchange_server_offers_ntlm_on_request(tmp_path):
    proc = subprocess.Popen([BCSYNC, "--home", str(tmp_path), "exchange-server", "--port", "0", "--auth", "ntlm",
                             "--user", "zed@example.com:pw"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().split()[-1]
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(url, data=b"<x/>"), timeout=10)
        assert info.value.code == 401 and info.value.headers.get_all("WWW-Authenticate") == ["NTLM"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    bad = run_bcsync("exchange-server", "--auth", "kerberos", "--user", "zed@example.com:pw", home=tmp_path)
    assert bad.returncode == 3 and b"ntlm" in bad.stderr
