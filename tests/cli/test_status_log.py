"""``bcsync status`` (health for monitoring) and ``bcsync log`` over recorded runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bcsync_tui.core import model
from bcsync_tui.core.sync.engine import new_run

STATUS_KEYS = {"profile", "enabled", "email", "server_url", "transport", "folder_name", "filter", "filter_description",
               "contacts", "last_run", "last_success_at", "age_seconds", "max_age_seconds", "healthy", "problems"}
RUN_SUMMARY_KEYS = {"id", "profile", "mode", "dry_run", "started_at", "ended_at", "status", "exit_code", "message",
                    "counts", "first_errors"}


def _record_run(cli, *, ago: timedelta, status: str = "ok", exit_code: int = 0, profile: str = "ann",
                message: str = "", errors: int = 0, **counts: int) -> dict:
    run = new_run(profile, "incremental", False)
    end = datetime.now(UTC) - ago
    run.update(started_at=(end - timedelta(seconds=3)).isoformat(), ended_at=end.isoformat(), status=status,
               exit_code=exit_code, message=message)
    run["counts"].update(counts, errors=errors)
    run["errors"] = [{"ref": f"CT{i:06d}", "name": f"Person {i}", "message": "ErrorInvalidPropertySet"}
                     for i in range(errors)]
    with cli.store() as store, store.transaction():
        store.runs.insert(run)
    return run


@pytest.fixture
def ann(cli):
    assert cli("setup", "--email", "ann@example.com", "--server", "https://mail.example.com/EWS/Exchange.asmx").code == 0
    assert cli("contacts", "add", "--first-name", "Ann", "--email", "ann@example.com", "--city", "Oslo").code == 0
    assert cli("contacts", "add", "--first-name", "Bob", "--email", "bob@example.com", "--city", "Bergen").code == 0
    assert cli("filter", "set", "City", "Oslo").code == 0
    return cli


def test_status_without_profile_is_a_configuration_error(cli):
    r = cli("status")
    assert r.code == 3 and "bcsync setup" in r.err


def test_status_never_synced(ann):
    r = ann("status")
    assert r.code == 0
    assert "Last sync: never" in r.out and "Filter:" in r.out and "City: Oslo" in r.out
    assert "2 in the master, 1 go to Outlook, 0 linked" in r.out
    r = ann("status", "--max-age", "2h")
    assert r.code == 1 and "never synced" in r.out


def test_status_json_shape_and_max_age(ann):
    run = _record_run(ann, ago=timedelta(minutes=30), outlook_created=5, master_created=1)
    r = ann("status", "--json")
    data = json.loads(r.out)
    assert r.code == 0 and data["schema"] == 1 and data["healthy"] is True and data["exit_code"] == 0
    assert set(data) == {"schema", "healthy", "exit_code", "profiles", "schedule"}
    (report,) = data["profiles"]
    assert set(report) == STATUS_KEYS and set(report["last_run"]) == RUN_SUMMARY_KEYS
    assert report["last_run"]["id"] == run["id"] and report["last_run"]["counts"]["outlook_created"] == 5
    assert report["contacts"] == {"master": 2, "selected": 1, "linked": 0, "kept": 0}
    assert 1700 < report["age_seconds"] < 1900
    assert ann("status", "--max-age", "1h").code == 0
    r = ann("status", "--max-age", "20m")
    assert r.code == 1 and "longer than the 20 min --max-age allows" in r.out
    data = json.loads(ann("status", "--max-age", "20m", "--json").out)
    assert data["healthy"] is False and data["profiles"][0]["max_age_seconds"] == 1200
    assert ann("status", "--max-age", "soon").code == 3


@pytest.mark.parametrize("status, code, said", [("failed", 3, "the last sync failed"),
                                               ("aborted", 2, "the last sync was stopped by a safety guard"),
                                               ("partial", 1, "the last sync finished with errors")])
def test_status_is_unhealthy_after_a_bad_run(ann, status, code, said):
    _record_run(ann, ago=timedelta(hours=3), status="ok")
    _record_run(ann, ago=timedelta(minutes=5), status=status, exit_code=code, message="The password was refused.",
                errors=7 if status == "partial" else 0)
    r = ann("status")
    assert r.code == 1 and said in r.out
    if status == "partial":
        assert r.out.count("error: CT") == 5  # the first errors only
    data = json.loads(ann("status", "--json").out)["profiles"][0]
    assert data["last_run"]["status"] == status and data["last_success_at"] is not None


def test_status_all_profiles(ann):
    assert ann("setup", "--email", "bob@example.com", profile="bob").code == 0
    _record_run(ann, ago=timedelta(minutes=1), profile="bob")
    r = ann("status", "--all-profiles", "--json")
    data = json.loads(r.out)
    assert [p["profile"] for p in data["profiles"]] == ["ann", "bob"] and r.code == 0
    assert ann("status", "--all-profiles", "--max-age", "1h").code == 1  # ann never synced


def test_log_table_details_and_json(ann):
    older = _record_run(ann, ago=timedelta(hours=2), outlook_created=3)
    newer = _record_run(ann, ago=timedelta(minutes=2), status="partial", exit_code=1, errors=2, outlook_updated=4)
    _record_run(ann, ago=timedelta(minutes=1), profile="bob")
    r = ann("log")
    lines = r.out.splitlines()
    assert r.code == 0 and newer["id"][:8] in lines[2] and older["id"][:8] in lines[3] and len(lines) == 4
    assert "0/4/0/0" in lines[2] and "partial" in lines[2]
    assert len(ann("log", "--all-profiles").out.splitlines()) == 5
    data = json.loads(ann("log", "--json").out)
    assert [x["id"] for x in data["runs"]] == [newer["id"], older["id"]]
    assert set(data["runs"][0]) == RUN_SUMMARY_KEYS
    r = ann("log", "--run", newer["id"][:8])
    assert r.code == 0 and "Errors: 2" in r.out and "CT000001 Person 1: ErrorInvalidPropertySet" in r.out
    full = json.loads(ann("log", "--run", newer["id"], "--json").out)["run"]
    assert full["id"] == newer["id"] and len(full["errors"]) == 2
    assert ann("log", "--run", "nope").code == 3


def test_log_conflicts(ann):
    run = _record_run(ann, ago=timedelta(minutes=1), conflicts=1)
    with ann.store() as store, store.transaction():
        store.conflicts.insert({"id": model.new_uuid(), "run_id": run["id"], "profile": "ann", "contact_uuid": "u",
                                "contact_no": "CT000001", "contact_name": "Ann", "field": "city",
                                "master_value": "Oslo", "outlook_value": "Bergen", "at": model.utc_now(),
                                "reapplied": False})
    r = ann("log", "--conflicts")
    assert r.code == 0 and "CT000001 Ann" in r.out and "Bergen" in r.out
    data = json.loads(ann("log", "--conflicts", "--run", run["id"][:8], "--json").out)
    assert [c["outlook_value"] for c in data["conflicts"]] == ["Bergen"]
    assert "No conflicts" in ann("log", "--conflicts", profile="bob").out
