"""Faults injected by the loopback EWS server, met by the real exchangelib client over HTTP:
throttling, lost answers, per-item errors, conflicts, wrong passwords, unreachable or wrong servers,
paging through thousands of items."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from bcsync_tui.core.sync import events as ev
from bcsync_tui.core.sync.ews import EwsTransport
from bcsync_tui.core.sync.transport import FoundBy

from .backends import EwsBackend
from .invariants import check_all


def factory_with(world, **options):
    def make(profile):
        profile.server_url = world.backend.server.url
        return EwsTransport(profile, options.pop("password", EwsBackend.PASSWORD) if "password" in options
                            else EwsBackend.PASSWORD, **{"timeout": 10, "max_retry_seconds": 20, **options})
    return make


@pytest.mark.parametrize("backoff_ms", [300, None])
def test_throttling_with_and_without_backoff_milliseconds(ews, backoff_ms):
    ews.person("Ann", "Lee")
    ews.backend.server.faults.throttle(count=1, backoff_ms=backoff_ms, operation="SyncFolderItems")
    messages = []
    run = ews.sync(on_progress=lambda p: messages.append(p.message))
    assert run.status.value == "ok" and run.throttle_waits == 1
    assert run.throttle_seconds == pytest.approx(0.3 if backoff_ms else 1.0)
    assert any(m.startswith("throttled, resuming in") for m in messages)
    check_all(ews)


def test_http_503_is_retried(ews):
    ews.person("Ann", "Lee")
    ews.backend.server.faults.throttle(count=1, operation="CreateItem", http_503=True)
    run = ews.sync()
    assert run.status.value == "ok" and run.throttle_waits == 1
    check_all(ews)


def test_throttling_past_the_runs_time_cap_stops_cleanly(ews):
    people = [ews.person(f"P{i}", "Test") for i in range(3)]
    ews.backend.server.faults.throttle(count=None, backoff_ms=2000, operation="CreateItem")
    run = ews.store and __import__("bcsync_tui.core.sync.runner", fromlist=["x"]).sync_blocking(
        ews.store, "ann", transport_factory=factory_with(ews, max_retry_seconds=1))
    assert run.status.value == "partial" and run.exit_code == ev.EXIT_ITEM_ERRORS
    assert "slow down" in run.message
    ews.backend.server.faults.clear()
    run = ews.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 3
    assert {i.stamp for i in ews.backend.items()} == {p["uuid"] for p in people}
    check_all(ews)


@pytest.mark.parametrize("mode", ["drop", "500"])
def test_server_stores_item_then_the_answer_is_lost(ews, mode):
    people = [ews.person(f"P{i}", "Test") for i in range(4)]
    ews.backend.server.faults.ghost_write(count=1, operation="CreateItem", mode=mode)
    run = ews.sync()
    assert run.exit_code == ev.EXIT_ITEM_ERRORS
    assert len(ews.backend.items()) == 4  # stored, but the client never heard
    run = ews.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 0
    assert sorted(i.stamp for i in ews.backend.items()) == sorted(p["uuid"] for p in people)
    check_all(ews)


def test_server_stores_item_then_times_out(ews):
    from bcsync_tui.core.sync.runner import sync_blocking

    a = ews.person("Ann", "Lee")
    ews.backend.server.faults.ghost_write(count=1, operation="CreateItem", mode="timeout", seconds=2.5)
    run = sync_blocking(ews.store, "ann", transport_factory=factory_with(ews, timeout=1))
    assert run.exit_code == ev.EXIT_ITEM_ERRORS and "did not confirm" in run.errors[0].reason
    time.sleep(2)  # let the server finish the slow answer
    run = ews.sync()
    assert run.counts.outlook_created == 0
    ews.item_of(a["uuid"])
    check_all(ews)


def test_batch_of_50_with_two_data_errors_and_one_busy_item(ews):
    """The data errors persist; the busy item succeeds when sent again. exchangelib aborts the whole
    call on a per-item ErrorServerBusy, so the transport finds the written items by stamp and sends
    only the others again: nothing is created twice."""
    people = [ews.person(f"P{i:02d}", "Test") for i in range(50)]
    faults = ews.backend.server.faults
    faults.item_errors({people[3]["email"]: "ErrorItemSave", people[17]["email"]: "ErrorCorruptData"},
                       operation="CreateItem")
    faults.item_errors({people[30]["email"]: "ErrorServerBusy"}, operation="CreateItem", count=1, backoff_ms=100)
    run = ews.sync()
    assert run.counts.outlook_created == 48 and run.counts.errors == 2, run.errors
    assert run.exit_code == ev.EXIT_ITEM_ERRORS and run.throttle_waits >= 1
    assert {e.ref for e in run.errors} == {people[i]["no"] for i in (3, 17)}
    assert len(ews.backend.items()) == 48
    faults.clear()
    run = ews.sync()
    assert run.counts.outlook_created == 2 and run.status.value == "ok"
    check_all(ews)


def test_conflict_error_on_update_when_user_edits_between_read_and_write(ews):
    a = ews.person("Ann", "Lee", city="Bergen")
    ews.sync()
    ews.store.update_contact(a["uuid"], {"job_title": "CFO"})
    edited = []

    def user_edits(progress):
        if progress.phase == "updating Outlook" and not edited:
            ews.backend.user_update(ews.item_of(a["uuid"]).item_id, phone="+47 999")
            edited.append(True)

    run = ews.sync(on_progress=user_edits)
    assert edited and run.status.value == "ok", run
    item = ews.item_of(a["uuid"])
    assert item.fields["job_title"] == "CFO" and item.fields["phone"] == "+47 999"
    assert ews.contact(a["uuid"])["phone"] == "+47 999"
    check_all(ews)


def test_wrong_password_fails_fast_with_a_clear_message(ews):
    from bcsync_tui.core.sync.runner import sync_blocking, validate_connection

    ews.person("Ann", "Lee")
    t0 = time.monotonic()
    run = sync_blocking(ews.store, "ann", transport_factory=factory_with(ews, password="wrong"))
    assert time.monotonic() - t0 < 10
    assert run.status.value == "failed" and run.exit_code == ev.EXIT_CONFIG
    assert "password" in run.message and "wrong" not in run.message
    profile = ews.profile()
    profile.server_url = ews.backend.server.url
    ok, message = validate_connection(profile, "wrong", timeout=5)
    assert not ok and "password" in message
    ok, message = validate_connection(profile, EwsBackend.PASSWORD, timeout=5)
    assert ok and message.startswith("Connected successfully to Exchange.")


def test_unreachable_server_is_a_connection_error(tmp_path):
    from bcsync_tui.core.profiles import Profile
    from bcsync_tui.core.sync.runner import validate_connection

    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    profile = Profile(name="x", email="x@example.com", server_url=f"http://127.0.0.1:{port}/EWS/Exchange.asmx")
    ok, message = validate_connection(profile, "pw", timeout=3)
    assert not ok and "Cannot reach" in message


def test_not_an_ews_endpoint(tmp_path):
    from bcsync_tui.core.profiles import Profile
    from bcsync_tui.core.sync.runner import validate_connection

    class Html(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = b"<html><body>Welcome to nginx</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        profile = Profile(name="x", email="x@example.com",
                          server_url=f"http://127.0.0.1:{httpd.server_port}/EWS/Exchange.asmx")
        ok, message = validate_connection(profile, "pw", timeout=3)
        assert not ok and "EWS" in message, message
    finally:
        httpd.shutdown()


@pytest.mark.slow
def test_5000_plus_items_with_paging(ews):
    n = 5_150
    ews.store.add_contacts([{"first_name": f"F{i}", "surname": "Paging", "email": f"p{i}@example.com"}
                            for i in range(n)])
    run = ews.sync()
    assert run.counts.outlook_created == n and run.status.value == "ok"
    run = ews.sync(mode="full")  # lists every item back through 512-item pages
    assert run.status.value == "ok" and sum(v for k, v in run.counts.to_doc().items() if k != "skipped") == 0
    assert ews.backend.server.stats.count("SyncFolderItems") >= n // 512
    assert len({i.stamp for i in ews.backend.items()}) == n


def test_folder_made_by_the_user_between_the_check_and_the_create_is_used_not_duplicated(ews):
    """The engine looks for the folder before the guards (no write) and creates it after; if the
    user makes it in between, CreateFolder says ErrorFolderExists and the adapter takes that one."""
    profile = ews.profile()
    transport = factory_with(ews)(profile)
    transport.connect()
    try:
        assert transport.ensure_folder("Business Central", None, create=False).found_by is FoundBy.MISSING
        outlook = ews.backend.outlook[EwsBackend.EMAIL]
        made = outlook.create_folder("Business Central")
        folder = transport.ensure_folder("Business Central", None, create=True)
        assert folder.found_by is FoundBy.NAME and folder.folder_id == made
        assert outlook.folders().count("Contacts/Business Central") == 1
        # And a folder that really is missing is created with one CreateFolder.
        assert transport.ensure_folder("Sales", None, create=False).found_by is FoundBy.MISSING
        created = transport.ensure_folder("Sales", None, create=True)
        assert created.created and created.folder_id == outlook.folder_id("Sales")
    finally:
        transport.close()
