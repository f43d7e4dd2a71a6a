"""``bcsync sync`` over the in-memory mailbox: summaries, JSON, exit codes 0-4, dry run, --all-profiles.

The engine's transport factory is swapped for the in-memory one; everything above it (the CLI,
the runner, the engine, the store) is the real thing. Syncs against the loopback EWS server through
exchangelib are in test_sync_ews.py.
"""

from __future__ import annotations

import json

import pytest

from bcsync_tui.core.sync import runner
from bcsync_tui.core.sync.memory import MemoryMailbox, MemoryTransport

RUN_KEYS = {"id", "profile", "mode", "dry_run", "started_at", "ended_at", "status", "exit_code", "message", "counts",
            "skipped", "errors", "plan", "throttle_waits", "throttle_seconds", "token_resets", "requests"}
COUNT_KEYS = {"outlook_created", "outlook_updated", "outlook_deleted", "outlook_recreated", "master_created",
              "master_updated", "unlinked", "relinked", "conflicts", "skipped", "errors", "kept"}


@pytest.fixture
def mailbox(monkeypatch) -> MemoryMailbox:
    mb = MemoryMailbox()
    monkeypatch.setattr(runner, "ews_factory", lambda secrets, timeout=30.0: lambda profile: MemoryTransport(mb))
    return mb


@pytest.fixture
def ann(cli, mailbox):
    assert cli("setup", "--email", "ann@example.com", "--server", "https://mail.example.com/EWS/Exchange.asmx",
               "--password-stdin", stdin="pw").code == 0
    for i in range(6):
        assert cli("contacts", "add", "--first-name", f"Person{i}", "--surname", "Test",
                   "--email", f"p{i}@example.com").code == 0
    assert cli("contacts", "add", "--first-name", "NoMail").code == 0
    return cli


def _folder_items(mb: MemoryMailbox) -> list:
    fid = mb.folder_by_name("Business Central")
    return mb.in_folder(fid) if fid else []


def test_first_sync_summary_and_progress_on_stderr(ann, mailbox):
    r = ann("sync")
    assert r.code == 0, r.err
    assert r.out.startswith("ann: ok — incremental sync")
    assert "Outlook: 6 created, 0 updated, 0 deleted, 0 recreated" in r.out
    assert "Skipped:" not in r.out  # master contacts without e-mail are not "skipped" items of Outlook
    assert "ann: " in r.err and all(line.startswith("ann: ") for line in r.err.splitlines())  # plain progress lines
    assert len(_folder_items(mailbox)) == 6
    status = json.loads(ann("status", "--json").out)
    assert status["healthy"] and status["profiles"][0]["contacts"]["linked"] == 6
    r = ann("sync", "--quiet")
    assert r.code == 0 and r.err == "" and "Outlook: 0 created, 0 updated" in r.out


def test_sync_json_shape(ann):
    r = ann("sync", "--full", "--json", "--quiet")
    data = json.loads(r.out)
    assert r.code == 0 and data["schema"] == 1 and data["exit_code"] == 0
    (run,) = data["runs"]
    assert RUN_KEYS <= set(run) and set(run["counts"]) == COUNT_KEYS
    assert run["mode"] == "full" and run["status"] == "ok" and run["counts"]["outlook_created"] == 6
    assert "pw" not in json.dumps(data).replace("pwd", "")


def test_dry_run_prints_the_plan_and_writes_nothing(ann, mailbox):
    before = ann.store_bytes()
    r = ann("sync", "--dry-run")
    assert r.code == 0 and "dry run: nothing was written" in r.out
    assert "Plan (6 actions)" in r.out and "Person0 Test" in r.out
    assert ann.store_bytes() == before and mailbox.writes == 0 and not _folder_items(mailbox)
    data = json.loads(ann("sync", "--dry-run", "--json", "-q").out)
    assert [p["action"] for p in data["runs"][0]["plan"]] == ["create"] * 6
    assert json.loads(ann("log", "--json").out)["runs"] == []  # dry runs are not history


def test_items_that_fail_give_exit_1(ann, mailbox):
    mailbox.item_faults["p3@example.com"] = "ErrorInvalidPropertySet"
    r = ann("sync")
    assert r.code == 1 and "Errors: 1" in r.out and "ErrorInvalidPropertySet" in r.out
    assert ann("status").code == 1
    mailbox.item_faults.clear()
    assert ann("sync").code == 0 and ann("status").code == 0


def test_guard_abort_gives_exit_2_and_force_overrides(ann, mailbox):
    assert ann("sync").code == 0
    for item in list(_folder_items(mailbox)):
        mailbox.user_delete(item.item_id)
    r = ann("sync")
    assert r.code == 2 and "ABORTED" in r.out and "--force" in r.out
    assert not _folder_items(mailbox)
    r = ann("sync", "--force")
    assert r.code == 0 and "6 recreated" in r.out and len(_folder_items(mailbox)) == 6


def test_locked_store_gives_exit_4(ann):
    with ann.store() as store:
        lock = store.sync_lock()
        lock.acquire()
        try:
            r = ann("sync")
            assert r.code == 4 and "in use by PID" in r.err
            r = ann("sync", "--json")
            data = json.loads(r.out)
            assert r.code == 4 and data["runs"][0]["status"] == "locked" and data["exit_code"] == 4
        finally:
            lock.release()
    assert ann("sync").code == 0


def test_all_profiles_syncs_enabled_ones_and_exits_with_the_worst(ann, mailbox):
    assert ann("setup", "--email", "bob@example.com", "--folder", "Bob's", profile="bob").code == 0
    assert ann("setup", "--email", "cy@example.com", "--disable", profile="cy").code == 0
    assert ann("filter", "set", "E-Mail", "p1*", profile="bob").code == 0
    r = ann("sync", "--all-profiles", "--json", "-q")
    data = json.loads(r.out)
    assert r.code == 0 and [run["profile"] for run in data["runs"]] == ["ann", "bob"]
    assert [run["counts"]["outlook_created"] for run in data["runs"]] == [6, 1]
    mailbox.item_faults["p1@example.com"] = "ErrorQuotaExceeded"
    ann("contacts", "edit", "CT000002", "--city", "Oslo")
    r = ann("sync", "--all-profiles")
    assert r.code == 1 and r.out.count("ERRORS") == 0 and "PARTIAL" in r.out


def test_sync_configuration_errors_exit_3(cli, mailbox):
    assert cli("sync").code == 3  # no profile at all
    assert cli("sync", "--all-profiles").code == 3
    assert cli("filter", "set", "City", "Oslo").code == 0  # a profile without a mailbox
    r = cli("sync")
    assert r.code == 3 and "no mailbox" in r.err


def test_an_unexpected_error_in_one_profile_does_not_stop_the_others(ann, mailbox, monkeypatch):
    assert ann("setup", "--email", "bob@example.com", "--folder", "Bob", profile="bob").code == 0

    def factory(secrets, timeout=30.0):
        def make(profile):
            if profile.name == "ann":
                raise RuntimeError("adapter bug")
            return MemoryTransport(mailbox)
        return make

    monkeypatch.setattr(runner, "ews_factory", factory)
    r = ann("sync", "--all-profiles", "--json", "-q")
    data = json.loads(r.out)
    assert r.code == 70 and [run["status"] for run in data["runs"]] == ["error", "ok"]
    assert "RuntimeError: adapter bug" in data["runs"][0]["message"]
    assert data["runs"][1]["counts"]["outlook_created"] == 6
