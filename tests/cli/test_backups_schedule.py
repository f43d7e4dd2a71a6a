"""``bcsync backups``, ``bcsync restore``, a damaged store, and ``bcsync schedule``."""

from __future__ import annotations

import json
import os

import pytest

from bcsync_tui.core import schedule as sched
from bcsync_tui.core.lock import FileLock


def _contacts(cli) -> list[str]:
    return [c["name"] for c in json.loads(cli("contacts", "list", "--json").out)["contacts"]]


def _import(cli, tmp_path, *names: str) -> None:
    f = tmp_path / "in.csv"
    f.write_text("Name;E-Mail\n" + "".join(f"{n};{n.lower()}@x.com\n" for n in names))
    assert cli("contacts", "import", str(f)).code == 0


def test_backups_list_and_restore(cli, tmp_path):
    assert "No backups yet" in cli("backups").out
    _import(cli, tmp_path, "Ann")
    assert "1 backup in" in cli("backups").out
    _import(cli, tmp_path, "Bob")
    listed = json.loads(cli("backups", "--json").out)
    assert listed["schema"] == 1 and len(listed["backups"]) == 2
    newest, oldest = listed["backups"]
    assert set(newest) == {"name", "path", "created_at", "reason", "size"}
    assert newest["reason"] == "import" and newest["size"] > 0 and newest["name"] > oldest["name"]
    r = cli("backups")
    assert r.code == 0 and newest["name"] in r.out and "2 backups in" in r.out
    assert _contacts(cli) == ["Ann", "Bob"]
    # the second import's backup holds the store before Bob arrived
    r = cli("restore", newest["name"])
    assert r.code == 3 and "--yes" in r.err and _contacts(cli) == ["Ann", "Bob"]
    r = cli("restore", newest["name"], "--yes")
    assert r.code == 0 and "Restored" in r.out
    assert _contacts(cli) == ["Ann"]
    after = json.loads(cli("backups", "--json").out)["backups"]
    assert after[0]["reason"] == "before-restore"
    # ...which can itself be restored: back to Ann and Bob
    assert cli("restore", after[0]["name"][:30], "--yes").code == 0
    assert _contacts(cli) == ["Ann", "Bob"]


def test_restore_errors(cli, tmp_path):
    _import(cli, tmp_path, "Ann")
    assert cli("restore", "store-nope", "--yes").code == 3
    assert cli("restore", "store-", "--yes").code == 0  # one backup: a unique prefix is enough
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = cli("restore", str(bad), "--yes")
    assert r.code == 3 and "cannot be read" in r.err
    lock = FileLock(cli.store_file.with_name("sync.lock"))
    lock.acquire()
    try:
        name = json.loads(cli("backups", "--json").out)["backups"][0]["name"]
        assert cli("restore", name, "--yes").code == 4
    finally:
        lock.release()


def test_damaged_store_exits_3_untouched_and_can_be_restored(cli, tmp_path):
    _import(cli, tmp_path, "Ann")
    name = json.loads(cli("backups", "--json").out)["backups"][0]["name"]
    cli.store_file.write_bytes(b'{"format": "something else"')
    wal = cli.store_file.with_name("store.json.wal")
    wal.unlink(missing_ok=True)
    damaged = cli.store_file.read_bytes()
    for args in (["status"], ["contacts", "list"], ["sync"], ["filter", "show"]):
        r = cli(*args)
        assert r.code == 3, args
        assert str(cli.store_file) in r.err and "Traceback" not in r.err and len(r.err.splitlines()) == 1
        assert cli.store_file.read_bytes() == damaged
    assert cli("backups").code == 0  # listing works without loading the store
    r = cli("restore", name, "--yes")
    assert r.code == 0, r.err
    assert _contacts(cli) == []  # the import's backup was taken before Ann arrived
    kept = [p for p in cli.paths.backup_dir.iterdir() if p.name.startswith("damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged


def test_recovery_commands_never_open_the_store_even_without_profile(cli, tmp_path):
    """The damaged-store message sends the user to `bcsync backups`: that must work as they type it."""
    _import(cli, tmp_path, "Ann")
    name = json.loads(cli("backups", "--json").out)["backups"][0]["name"]
    cli.store_file.write_bytes(b'{"format": "bcsync-store", "seq": 1, "tables": {"contacts": [1]')
    damaged = cli.store_file.read_bytes()
    r = cli("backups", profile=None)
    assert r.code == 0 and name in r.out, r.err
    assert cli.store_file.read_bytes() == damaged
    r = cli("restore", name, "--yes", profile=None)
    assert r.code == 0, r.err
    assert _contacts(cli) == []


# --- schedule ------------------------------------------------------------------------------------

@pytest.fixture
def systemd_here(monkeypatch):
    """systemd runs, but `systemctl --user` is not usable (as over SSH without a user session)."""
    monkeypatch.setattr(sched, "systemd_booted", lambda: True)
    monkeypatch.setattr(sched, "systemctl_works", lambda: False)


@pytest.fixture
def no_crontab(monkeypatch):
    monkeypatch.setattr(sched, "_crontab", lambda: None)


def test_schedule_install_writes_systemd_user_units(cli, tmp_path, home, systemd_here, no_crontab):
    assert "No scheduled sync" in cli("schedule").out
    r = cli("schedule", "install", "--every", "15m")
    assert r.code == 0
    unit_dir = tmp_path / "xdg-config" / "systemd" / "user"
    service = (unit_dir / "bcsync-sync.service").read_text()
    timer = (unit_dir / "bcsync-sync.timer").read_text()
    exec_start = next(ln for ln in service.splitlines() if ln.startswith("ExecStart="))
    assert exec_start.endswith(f"--home {home} sync --all-profiles")
    assert os.path.isabs(exec_start.split("=", 1)[1].split()[0])
    assert "OnUnitActiveSec=15min" in timer and "WantedBy=timers.target" in timer
    assert "systemctl --user daemon-reload" in r.out and "systemctl --user enable --now bcsync-sync.timer" in r.out
    assert "no enabled profile is set up" in r.err
    shown = json.loads(cli("schedule", "show", "--json").out)["schedule"]
    assert shown["method"] == "systemd" and shown["installed"] and shown["every"] == "15m"
    assert "every 15m" in cli("schedule").out
    assert cli("setup", "--email", "a@x.com").code == 0
    assert json.loads(cli("status", "--json").out)["schedule"]["every_seconds"] == 900
    r = cli("schedule", "remove")
    assert r.code == 0 and "Removed" in r.out and not (unit_dir / "bcsync-sync.timer").exists()
    assert not (unit_dir / "bcsync-sync.service").exists()
    assert "No systemd timer" in cli("schedule", "remove", "--method", "systemd").out


def test_schedule_install_falls_back_to_a_crontab_line(cli, home, monkeypatch, no_crontab):
    monkeypatch.setattr(sched, "systemd_booted", lambda: False)
    r = cli("schedule", "install", "--every", "2h")
    assert r.code == 0 and "crontab -e" in r.out
    line = next(ln for ln in r.out.splitlines() if "sync --all-profiles" in ln)
    assert line.startswith("0 */2 * * * /") and f"--home {home} sync --all-profiles" in line
    assert "scheduled-sync.log" in line
    r = cli("schedule", "install", "--every", "45m", "--json")
    assert r.code == 3 and "cron cannot run every 45m" in r.err
    assert cli("schedule", "install", "--every", "whenever").code == 3
    data = json.loads(cli("schedule", "install", "--every", "30m", "--method", "cron", "--json").out)
    assert data["installed"]["cron_line"].startswith("*/30 * * * * ") and data["every_seconds"] == 1800


@pytest.mark.parametrize("method", ["systemd", "cron"])
def test_schedule_refuses_a_home_with_a_line_break(tmp_path, capsys, monkeypatch, systemd_here, no_crontab, method):
    """A newline in --home would add a line to the systemd unit (or split the cron line)."""
    from .conftest import Cli

    evil = Cli(tmp_path / "h\nExecStartPre=/bin/touch /tmp/owned", capsys, monkeypatch)
    monkeypatch.setattr(sched, "systemd_booted", lambda: method == "systemd")
    for args in (["schedule", "install", "--every", "1h"], ["schedule", "install", "--every", "1h", "--dry-run"]):
        r = evil(*args)
        assert r.code == 3 and "line break" in r.err and "Traceback" not in r.err, r.both
    assert not sched.unit_dir().exists() or not any(sched.unit_dir().iterdir())


def test_schedule_reads_an_installed_crontab_line(cli, monkeypatch):
    monkeypatch.setattr(sched, "systemd_booted", lambda: False)
    monkeypatch.setattr(sched, "_crontab", lambda: ["MAILTO=x", "*/30 * * * * /usr/bin/bcsync sync --all-profiles"])
    shown = json.loads(cli("schedule", "--json").out)["schedule"]
    assert shown["method"] == "cron" and shown["every_seconds"] == 1800 and shown["next_run"]
    r = cli("schedule", "remove")
    assert "delete this line" in r.out and "*/30 * * * * /usr/bin/bcsync sync --all-profiles" in r.out


def test_durations():
    assert [sched.parse_duration(t) for t in ("30m", "2h", "1d", "1h30m", "45s", "90")] == [
        1800, 7200, 86400, 5400, 45, 5400]
    for bad in ("", "soon", "3w"):
        with pytest.raises(sched.ScheduleError):
            sched.parse_duration(bad)
