"""Files bcsync cannot use as they are: each is exit 3 with the file named and what to do, never
"internal error" (exit 70), and the user's data is untouched."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import BCSYNC

CSV = "Name;E-Mail\n" + "".join(f"Person {i};p{i}@example.com\n" for i in range(300))


def _add(cli, name: str, compact: bool = True) -> None:
    assert cli("contacts", "add", "--name", name, "--email", f"{name.lower()}@example.com").code == 0
    if compact:  # into the snapshot: the journal is then free to be replaced by a test
        store = cli.store()
        store.storage.compact()
        store.close()


def _names(cli) -> list[str]:
    return [c["name"] for c in json.loads(cli("contacts", "list", "--json").out)["contacts"]]


def _files(cli) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in cli.store_file.parent.iterdir() if p.is_file() and p.name.startswith("store")}


def _clear(r, *words: str) -> None:
    assert r.code == 3, r.both
    assert "Traceback" not in r.both and "unexpected error" not in r.both
    for word in words:
        assert word in r.err, (word, r.err)


# --- a directory, a file, in the wrong place -------------------------------------------------------

@pytest.mark.parametrize("name", ["store.json.wal", "store.json.lock"])
def test_a_directory_where_the_journal_or_lock_file_belongs(cli, name):
    _add(cli, "Ann")
    (cli.store_file.parent / name).unlink(missing_ok=True)
    (cli.store_file.parent / name).mkdir()
    before = cli.store_file.read_bytes()
    _clear(cli("contacts", "add", "--name", "Bob", "--email", "b@example.com"), name, "directory")
    assert cli.store_file.read_bytes() == before


def test_home_pointing_at_a_file(cli, home):
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a directory")
    for args in (["status"], ["contacts", "add", "--name", "Ann", "--email", "a@example.com"]):
        _clear(cli(*args), str(home), "--home")
    assert home.read_text() == "not a directory"


def test_backups_being_a_file(cli, tmp_path):
    _add(cli, "Ann")
    cli.paths.backup_dir.mkdir(exist_ok=True)
    os.rmdir(cli.paths.backup_dir) if not any(cli.paths.backup_dir.iterdir()) else None
    cli.paths.backup_dir.write_text("in the way")
    f = tmp_path / "in.csv"
    f.write_text(CSV)
    before = _files(cli)
    _clear(cli("contacts", "import", str(f)), str(cli.paths.backup_dir), "file is in the way")
    assert _files(cli) == before and _names(cli) == ["Ann"]


def test_a_deeply_nested_store(cli):
    cli.store_file.parent.mkdir(parents=True)
    cli.store_file.write_text("[" * 200_000 + "]" * 200_000)
    _clear(cli("status"), str(cli.store_file), "nested too deeply")


def test_a_record_key_that_is_not_a_number(cli):
    _add(cli, "Ann")
    raw = json.loads(cli.store_file.read_bytes())
    contacts = raw["tables"]["contacts"]
    contacts["x1"] = contacts.pop(next(iter(contacts)))
    cli.store_file.write_text(json.dumps({k: v for k, v in raw.items() if k != "checksum"}))
    before = cli.store_file.read_bytes()
    _clear(cli("contacts", "add", "--name", "Bob", "--email", "b@example.com"), str(cli.store_file),
           "record key is not a number")
    assert cli.store_file.read_bytes() == before


# --- permissions (root too: the subprocess runs without root's power to override file modes) ---------

def _without_dac_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: dropped from the bounding set before exec
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_plain_user(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BCSYNC_NO_KEYRING": "1"}
    preexec = _without_dac_override if os.geteuid() == 0 else None
    return subprocess.run([BCSYNC, "--home", str(home), "--profile", "ann", *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, preexec_fn=preexec, timeout=120)


@pytest.fixture
def plain_user_possible(tmp_path):
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0)
    try:
        blocked = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}).read()"], capture_output=True,
                                 preexec_fn=_without_dac_override if os.geteuid() == 0 else None).returncode != 0
    except (OSError, subprocess.SubprocessError):
        blocked = False
    finally:
        probe.chmod(0o600)
    if not blocked:
        pytest.skip("cannot take away the power to override file permissions here (no CAP_SETPCAP)")


@pytest.mark.parametrize("name", ["store.json.wal", "store.json.lock"])
def test_a_read_only_journal_or_lock_file(cli, home, plain_user_possible, name):
    _add(cli, "Ann")
    target = cli.store_file.parent / name
    target.touch()
    target.chmod(0o400)
    before = _files(cli)
    r = _as_plain_user(home, "contacts", "add", "--name", "Bob", "--email", "b@example.com")
    assert r.returncode == 3 and name in r.stderr and "permission" in r.stderr, r.stderr
    assert "unexpected error" not in r.stderr
    target.chmod(0o600)
    assert _files(cli) == before and _names(cli) == ["Ann"]


def test_a_read_only_backups_directory(cli, home, tmp_path, plain_user_possible):
    _add(cli, "Ann")
    cli.paths.backup_dir.mkdir(exist_ok=True)
    cli.paths.backup_dir.chmod(0o500)
    f = tmp_path / "in.csv"
    f.write_text(CSV)
    before = _files(cli)
    try:
        r = _as_plain_user(home, "contacts", "import", str(f))
    finally:
        cli.paths.backup_dir.chmod(0o700)
    assert r.returncode == 3 and "backups" in r.stderr and "permission" in r.stderr, r.stderr
    assert _files(cli) == before and _names(cli) == ["Ann"]


def test_an_unreadable_store_says_permission(cli, home, plain_user_possible):
    _add(cli, "Ann")
    cli.store_file.chmod(0)
    try:
        r = _as_plain_user(home, "status")
    finally:
        cli.store_file.chmod(0o600)
    assert r.returncode == 3 and "permission denied" in r.stderr and str(cli.store_file) in r.stderr, r.stderr
    assert "restore" not in r.stderr.lower()  # not damaged: nothing to restore


# --- a full disk ----------------------------------------------------------------------------------

@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KB tmpfs (root only), so that a write really meets ENOSPC."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and permission to mount a small tmpfs to fill a disk for real")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_on_add_and_import(tiny_disk, capsys, monkeypatch, tmp_path):
    from tests.cli.conftest import Cli

    cli = Cli(tiny_disk / "home", capsys, monkeypatch)
    _add(cli, "Ann")
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill the disk to the last byte
        for size in (4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    before = _files(cli)
    f = tmp_path / "in.csv"
    f.write_text(CSV)
    _clear(cli("contacts", "import", str(f)), "disk is full")
    _clear(cli("contacts", "add", "--name", "Bob", "--email", "b@example.com"), "disk is full", "store.json")
    assert _files(cli) == before
    filler.unlink()
    assert _names(cli) == ["Ann"]
    _add(cli, "Bob")
    assert _names(cli) == ["Ann", "Bob"]
