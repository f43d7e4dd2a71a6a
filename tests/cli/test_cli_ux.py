"""The first hour at the command line (issue 15 part 4): JSON on stdout even on errors, exact
--max-age wording, one filter-error wording, captions in the conflict log, an honest failed dry run,
`profiles remove` and `schedule install --dry-run`."""

from __future__ import annotations

import io
import json
import socket
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bcsync_tui.cli import main
from bcsync_tui.cli.sync_cmds import exact_duration
from bcsync_tui.core.secrets import SecretStore
from bcsync_tui.core.sync.engine import new_run

from .test_sync_ews import EMAIL, FOLDER, PASSWORD, server  # noqa: F401 - server is a fixture


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/EWS/Exchange.asmx"


@pytest.fixture
def ann(cli):
    assert cli("setup", "--email", EMAIL, "--server", _closed_port_url(), "--password-stdin", stdin="pw\n").code == 0
    assert cli("contacts", "add", "--first-name", "Ann", "--email", EMAIL, "--city", "Oslo").code == 0
    return cli


def _record_run(cli, ago: timedelta) -> dict:
    run = new_run("ann", "incremental", False)
    end = datetime.now(UTC) - ago
    run.update(started_at=(end - timedelta(seconds=2)).isoformat(), ended_at=end.isoformat(), status="ok",
               exit_code=0)
    with cli.store() as store, store.transaction():
        store.runs.insert(run)
    return run


# --- --json: JSON on stdout, whatever happens ------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("status", "--json", "--profile", "nobody"),        # unknown profile (CliError)
    ("status", "--json", "--max-age", "soon"),          # bad option value
    ("status", "--json", "--no-such-option"),           # usage error, before any command runs
    ("log", "--json", "--run", "nope"),                 # unknown run (NotFoundError)
    ("filter", "set", "City", "Oslo|(Ber", "--json"),   # bad filter (FilterError)
    ("contacts", "list", "--json", "--filter", "Nope=1"),
])
def test_every_json_command_prints_json_on_errors(ann, args):
    r = ann(*args)
    assert r.code == 3, r.both
    data = json.loads(r.out)
    assert data["exit_code"] == 3 and data["error"] and isinstance(data["details"], list)
    assert data["error"] in r.err  # people still read the message on stderr


def test_a_damaged_store_gives_json_too(ann):
    ann.store_file.write_bytes(b"{not json")
    ann.store_file.with_name(ann.store_file.name + ".wal").unlink(missing_ok=True)
    r = ann("status", "--json")
    assert r.code == 3
    assert json.loads(r.out)["exit_code"] == 3


def test_a_sync_that_cannot_connect_prints_its_run_as_json(ann):
    r = ann("sync", "--json", "-q")
    data = json.loads(r.out)
    assert r.code == 3 and data["exit_code"] == 3 and data["runs"][0]["status"] == "failed"


# --- status --max-age ------------------------------------------------------------------------------

def test_exact_duration():
    assert exact_duration(59) == "59 s"
    assert exact_duration(60) == "1 min"
    assert exact_duration(85) == "1 min 25 s"
    assert exact_duration(7200 + 30) == "2 h 30 s"
    assert exact_duration(86400 * 3 + 3600) == "3 d 1 h"
    assert exact_duration(0) == "0 s"


def test_max_age_is_worded_with_real_precision(ann):
    _record_run(ann, ago=timedelta(seconds=95))
    r = ann("status", "--max-age", "1m")
    assert r.code == 1
    said = next(line for line in r.out.splitlines() if "Health" in line)
    # never "1m ago (more than 1m)": the age to the second, and the limit
    assert "the last sync was 1 min 3" in said and "longer than the 1 min --max-age allows" in said
    assert ann("status", "--max-age", "2m").code == 0


# --- one wording for filter errors and conflicts ----------------------------------------------------

def test_filter_errors_name_the_column_like_the_tui(ann):
    from bcsync_tui.core.filters import validate_expression
    from bcsync_tui.tui.widgets.filter_form import caret_text, filter_error_message

    r = ann("filter", "set", "City", "Oslo|(Ber")
    assert r.code == 3
    error = validate_expression("city", "Oslo|(Ber")
    assert error is not None
    first = r.err.splitlines()[0]
    assert first == f"bcsync: {filter_error_message(error)}"
    assert f"(column {error.position + 1})" in first and "position" not in first
    assert f"(column {error.position + 1})" in caret_text(error).plain
    assert f"(column {error.column})" in str(error) and "position" not in str(error)  # every other message too


def test_a_failed_dry_run_does_not_say_nothing_to_do(ann):
    r = ann("sync", "--dry-run", "-q")
    assert r.code == 3
    assert "nothing to do" not in r.out.lower()
    assert "No plan: the dry run stopped before it could plan" in r.out


# --- profiles remove -------------------------------------------------------------------------------

@pytest.fixture
def synced(cli, server):
    assert cli("setup", "--email", EMAIL, "--server", server.url, "--password-stdin", stdin=PASSWORD + "\n").code == 0
    assert cli("setup", "--email", "bob@example.com", "--server", server.url, profile="bob").code == 0
    for first in ("Åse", "Per", "Kari"):
        assert cli("contacts", "add", "--first-name", first, "--email", f"{first.lower()}@example.no").code == 0
    assert cli("sync", "-q").code == 0
    return cli


def _contacts(cli) -> list[dict]:
    with cli.store() as store:
        return sorted(store.all_contacts(), key=lambda c: c["uuid"])


def test_the_conflict_log_uses_captions(synced, server):
    outlook = server.outlook(EMAIL)
    (item,) = outlook.find_contacts(FOLDER, email="per@example.no")
    outlook.edit_contact(item["id"], job_title="Boss")
    per = next(c["no"] for c in _contacts(synced) if c["email"] == "per@example.no")
    assert synced("contacts", "edit", per, "--job-title", "CEO").code == 0
    assert synced("sync", "-q").code == 0  # both sides changed Job Title: the master wins, the conflict is logged
    r = synced("log", "--conflicts")
    assert r.code == 0 and "Job Title" in r.out and "job_title" not in r.out and "Boss" in r.out
    # JSON keeps the stable key
    assert json.loads(synced("log", "--conflicts", "--json").out)["conflicts"][0]["field"] == "job_title"


def test_profiles_remove_needs_yes_without_a_terminal(synced):
    before = synced.store_bytes()
    r = synced("profiles", "remove", "ann")
    assert r.code == 3 and "--yes" in r.err
    assert synced.store_bytes() == before


def test_profiles_remove_forgets_links_state_and_secrets_never_contacts(synced, server):
    contacts = _contacts(synced)
    in_outlook = len(server.outlook(EMAIL).contacts(FOLDER))
    assert in_outlook == 3
    r = synced("profiles", "remove", "ann", "--yes", "--json")
    assert r.code == 0, r.both
    removed = json.loads(r.out)["removed"]
    assert removed["profile"] == "ann" and removed["links"] == 3 and removed["runs"] == 1
    with synced.store() as store:
        assert not store.docs(store.links, profile="ann") and not store.docs(store.runs, profile="ann")
        assert [p["name"] for p in store.profiles.raw().values()] == ["bob"]
    assert SecretStore(synced.paths.secrets_file).get("ann") is None
    assert _contacts(synced) == contacts
    assert len(server.outlook(EMAIL).contacts(FOLDER)) == in_outlook  # Outlook untouched
    assert synced("profiles", "remove", "ann", "--yes").code == 3  # gone now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_profiles_remove_asks_on_a_terminal(synced, capsys, monkeypatch):
    prefix = ["--home", str(synced.home)]
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    assert main([*prefix, "profiles", "remove", "ann"]) == 3
    with synced.store() as store:
        assert store.docs(store.profiles, name="ann")
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    assert main([*prefix, "profiles", "remove", "ann"]) == 0
    assert "Remove profile 'ann', its 3 links" in capsys.readouterr().out
    with synced.store() as store:
        assert not store.docs(store.profiles, name="ann")


def test_profiles_remove_waits_for_no_sync(synced):
    with synced.store() as store:
        lock = store.sync_lock()
        lock.acquire(timeout=0)
        try:
            assert synced("profiles", "remove", "ann", "--yes").code == 4
        finally:
            lock.release()
        assert store.docs(store.profiles, name="ann")


def test_plain_profiles_still_lists(synced):
    r = synced("profiles")
    assert r.code == 0 and "ann" in r.out and "bob" in r.out


# --- schedule install --dry-run ----------------------------------------------------------------------

def test_schedule_install_dry_run_writes_nothing(cli, tmp_path):
    r = cli("schedule", "install", "--dry-run", "--method", "systemd", "--every", "2h")
    assert r.code == 0, r.both
    assert "Dry run: nothing written" in r.out and "[Timer]" in r.out and "sync --all-profiles" in r.out
    assert "systemctl --user enable --now bcsync-sync.timer" in r.out
    assert not (tmp_path / "xdg-config" / "systemd").exists()
    data = json.loads(cli("schedule", "install", "--dry-run", "--method", "cron", "--json").out)
    assert data["dry_run"] is True and data["method"] == "cron" and "sync --all-profiles" in data["cron_line"]
    assert cli("schedule", "install", "--dry-run", "--every", "10s").code == 3
