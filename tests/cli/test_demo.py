"""`bcsync demo`: a second demo process reuses the running demo server, hints name the profile, and
`demo outlook` addresses contacts by a reference that does not move."""

from __future__ import annotations

import json
import re
import socket

import pytest

from bcsync_tui import demo
from bcsync_tui.core.profiles import load_profile
from bcsync_tui.core.store import Store


@pytest.fixture
def demo_home(home):
    return demo.demo_paths(str(home))


@pytest.fixture
def running_demo(demo_home):
    """The demo as `bcsync demo` (the TUI) runs it: its server started and recorded."""
    server = demo.start(demo_home)
    yield server
    server.stop()


def _profile_url(paths) -> str:
    with Store.open(paths) as store:
        return load_profile(store, demo.PROFILE).server_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_tui_reuses_the_running_demo_server(cli, demo_home, running_demo):
    record = (demo_home.data_dir / demo.SERVER_RECORD).read_bytes()
    r = cli("demo", "--no-tui", profile=None)
    assert r.code == 0, r.both
    assert "demo sync ok" in r.out
    # the profile still points at the running server, which still serves and is still recorded
    assert _profile_url(demo_home) == running_demo.url
    assert (demo_home.data_dir / demo.SERVER_RECORD).read_bytes() == record
    assert demo.running_server(demo_home) is not None
    listing = cli("demo", "outlook", "list", profile=None)
    assert listing.code == 0, listing.both
    assert "Name" in listing.out and "@" in listing.out


def test_a_stale_server_record_starts_a_new_server(cli, demo_home):
    dead_url = f"http://127.0.0.1:{_free_port()}/EWS/Exchange.asmx"
    (demo_home.data_dir / demo.SERVER_RECORD).write_text(json.dumps({"url": dead_url, "pid": 2**22 + 12345}))
    assert demo.running_server(demo_home) is None
    r = cli("demo", "--no-tui", profile=None)
    assert r.code == 0, r.both
    assert _profile_url(demo_home) != dead_url
    # the server this run started is gone with it, and so is its record
    assert not (demo_home.data_dir / demo.SERVER_RECORD).exists()


def test_reset_refuses_while_the_demo_runs(cli, demo_home, running_demo):
    r = cli("demo", "--reset", "--no-tui", profile=None)
    assert r.code == 3
    assert "close it before" in r.err
    assert demo.running_server(demo_home) is not None
    with Store.open(demo_home) as store:
        assert len(store.contacts_raw()) == 300


def test_hints_name_the_profile_and_work(cli, home, demo_home, running_demo):
    r = cli("demo", "--no-tui", profile=None)
    hint = re.search(r"`(bcsync --home \S+ --profile demo status)`", r.out)
    assert hint, r.out
    status = cli("--home", str(demo_home.data_dir), "--profile", "demo", "status", profile=None)
    assert status.code in (0, 1), status.both
    assert "Profile" in status.out and "demo" in status.out


def test_outlook_without_a_running_demo_says_how_to_start_it(cli, home, demo_home):
    r = cli("demo", "outlook", "list", profile=None)
    assert r.code == 3
    assert f"bcsync --home {home} demo" in r.err


def _rows(listing: str) -> dict[int, str]:
    """`#` → the rest of the row, from `demo outlook list`."""
    rows = {}
    for line in listing.splitlines()[1:]:
        number, _, rest = line.strip().partition("  ")
        rows[int(number)] = rest
    return rows


def test_outlook_refs_stay_put_across_deletes_and_syncs(cli, demo_home, running_demo):
    assert cli("demo", "--no-tui", profile=None).code == 0
    before = _rows(cli("demo", "outlook", "list", profile=None).out)
    name_of = {n: before[n].split("  ")[0].strip() for n in before}
    # three linked contacts (with a name and an e-mail)
    first, second, third = sorted(n for n, row in before.items() if "@" in row and name_of[n])[:3]

    deleted = cli("demo", "outlook", "delete", str(first), profile=None)
    assert deleted.code == 0, deleted.both
    assert f"deleted #{first} {name_of[first]}" in deleted.out

    edited = cli("demo", "outlook", "edit", f"#{second}", "city=Bergen", profile=None)
    assert edited.code == 0, edited.both
    assert f"edited #{second} {name_of[second]}" in edited.out and "City = 'Bergen'" in edited.out
    after = _rows(cli("demo", "outlook", "list", profile=None).out)
    assert first not in after
    assert after[second].startswith(before[second].split("  ")[0]) and "Bergen" in after[second]
    assert after[third] == before[third]

    # a sync recreates the deleted contact as a new item: it gets a new number, never the old one
    assert cli("demo", "--no-tui", profile=None).code == 0
    synced = _rows(cli("demo", "outlook", "list", profile=None).out)
    assert first not in synced
    assert synced[second] == after[second] and synced[third] == after[third]
    assert any(name_of[first] in row for n, row in synced.items() if n > max(before))

    gone = cli("demo", "outlook", "edit", str(first), "city=Oslo", profile=None)
    assert gone.code == 3 and f"no contact #{first}" in gone.err


def test_outlook_by_email_and_add_name_the_contact(cli, demo_home, running_demo):
    assert cli("demo", "--no-tui", profile=None).code == 0
    added = cli("demo", "outlook", "add", "first_name=Kari", "surname=Nordmann", "email=kari@example.com",
                profile=None)
    assert added.code == 0, added.both
    assert re.search(r"added #\d+ Kari Nordmann <kari@example.com>", added.out), added.out
    edited = cli("demo", "outlook", "edit", "KARI@example.com", "job_title=Skipper", profile=None)
    assert edited.code == 0, edited.both
    assert "Kari Nordmann <kari@example.com>" in edited.out
    assert "Skipper" in cli("demo", "outlook", "list", profile=None).out
    unknown = cli("demo", "outlook", "delete", "nobody@example.com", profile=None)
    assert unknown.code == 3 and "no contact in the folder has the e-mail nobody@example.com" in unknown.err
