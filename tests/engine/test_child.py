"""The sync in a child process (what the TUI runs): same run record, same errors, cancel, crashes."""

from __future__ import annotations

import threading

import pytest

from bcsync_tui.core.history import list_runs
from bcsync_tui.core.secrets import SecretStore
from bcsync_tui.core.sync import events as ev
from bcsync_tui.core.sync.child import ChildFailed, sync_in_child

from .backends import EwsBackend, World
from .invariants import check_all


@pytest.fixture
def ews(tmp_path):
    backend = EwsBackend(tmp_path)
    with World(tmp_path, backend) as w:
        w.set(server_url=backend.server.url, email=backend.EMAIL, username=backend.EMAIL)
        secrets = SecretStore(tmp_path / "secrets.json")
        secrets.set("ann", backend.PASSWORD)
        yield w, secrets


def child_sync(w: World, secrets: SecretStore, **kwargs):
    return sync_in_child(w.store.path, "ann", secrets_file=secrets.file, **kwargs)


def test_a_child_sync_returns_the_run_record_and_its_progress(ews):
    w, secrets = ews
    for i in range(30):
        w.person(f"P{i:02d}", "Child")
    seen: list[ev.Progress] = []
    run = child_sync(w, secrets, on_progress=seen.append)
    assert run.status.value == "ok" and run.counts.outlook_created == 30
    assert {"connecting", "creating in Outlook"} <= {p.phase for p in seen}
    assert all(isinstance(p, ev.Progress) for p in seen)
    assert list_runs(w.store, "ann")[0]["id"] == run.id  # the parent's store sees the child's writes
    check_all(w)
    dry = child_sync(w, secrets, dry_run=True)
    assert dry.dry_run and dry.status.value == "ok"


def test_failures_come_back_as_the_engine_reports_them(ews, tmp_path):
    w, secrets = ews
    w.person("Wrong", "Password")
    secrets.set("ann", "not-the-password")
    run = child_sync(w, secrets)  # a failed run is a record (shown in the summary), not an exception
    assert run.status.value == "failed" and run.exit_code == ev.EXIT_CONFIG and "password" in run.message
    assert "not-the-password" not in repr(run)
    secrets.set("ann", EwsBackend.PASSWORD)
    held = w.store.sync_lock()
    held.acquire()
    try:
        with pytest.raises(ev.StoreLocked):
            child_sync(w, secrets)
    finally:
        held.release()
    assert child_sync(w, secrets).status.value == "ok"


def test_cancel_reaches_the_child_and_it_stops_at_a_safe_point(ews):
    w, secrets = ews
    w.set(in_flight=1)  # batches of 250 (one request each): 600 contacts make three cancel points
    for i in range(600):
        w.person(f"C{i:03d}", "Cancel")
    cancel = threading.Event()

    def on_progress(p: ev.Progress) -> None:
        if p.phase == "creating in Outlook":
            cancel.set()

    run = child_sync(w, secrets, on_progress=on_progress, cancel=cancel)
    assert run.status.value == "cancelled"
    created = run.counts.outlook_created
    assert 0 < created < 600
    assert len(w.backend.items()) == created == len(w.links())  # consistent: every item written is linked
    assert child_sync(w, secrets).counts.outlook_created == 600 - created
    check_all(w)


def test_a_child_that_cannot_run_is_reported_not_hung(ews, tmp_path):
    w, secrets = ews
    (tmp_path / "not-a-store").mkdir()
    with pytest.raises(ev.SyncError) as info:
        sync_in_child(tmp_path / "not-a-store", "ann", secrets_file=secrets.file)
    assert "not-a-store" in str(info.value)


def test_a_child_that_dies_is_reported_with_its_last_words(ews, tmp_path, monkeypatch):
    w, secrets = ews
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Fatal Python error: out of memory' >&2\nexit 7\n")
    fake.chmod(0o700)
    monkeypatch.setattr("sys.executable", str(fake))
    with pytest.raises(ChildFailed, match="exit code 7.*out of memory"):
        child_sync(w, secrets)
