"""The installed ``bcsync`` as cron or systemd runs it: a real process, no terminal, stdin empty or closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import BCSYNC, run_bcsync

PASSWORD = "pipe-Secret-42"


def test_quick_commands_import_neither_textual_nor_exchangelib(home):
    assert run_bcsync("setup", "--profile", "ann", "--email", "ann@example.com", home=home).returncode == 0
    code = (
        "import sys\n"
        "from bcsync_tui.cli import main\n"
        f"for args in (['status'], ['log'], ['contacts', 'list'], ['filter', 'show'], ['profiles'], ['backups']):\n"
        f"    main(['--home', {str(home)!r}, '--profile', 'ann', *args])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'exchangelib', 'requests', 'keyring'})\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


def test_status_from_its_status_file_reads_no_store_and_loads_no_storage(home):
    """Once a command has left status.json current, `bcsync status` answers from it alone: neither the
    store's storage (TinyDB, the snapshot format) nor anything heavier is imported."""
    assert run_bcsync("setup", "--profile", "ann", "--email", "ann@example.com", home=home).returncode == 0
    assert run_bcsync("contacts", "add", "--name", "Ann Lee", "--email", "ann@example.com", home=home).returncode == 0
    assert run_bcsync("--profile", "ann", "status", home=home).returncode == 0  # (brings status.json up to date)
    code = (
        "import sys\n"
        "from bcsync_tui.cli import main\n"
        f"code = main(['--home', {str(home)!r}, '--profile', 'ann', 'status'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tinydb', 'orjson')\n"
        "                or m in ('bcsync_tui.core.storage', 'bcsync_tui.core.store', 'bcsync_tui.core.store_format'))\n"
        "print('LOADED=' + ','.join(loaded), code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "1 in the master" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "LOADED= 0"


def test_setup_with_password_on_a_pipe_and_closed_stdin_elsewhere(home):
    proc = run_bcsync("--profile", "ann", "setup", "--email", "ann@example.com", "--server", "auto",
                      "--password-stdin", home=home, input=(PASSWORD + "\n").encode())
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD.encode() not in proc.stdout + proc.stderr
    for args in (["status", "--json"], ["setup", "--show"], ["log"], ["contacts", "list", "--json"]):
        proc = run_bcsync("--profile", "ann", *args, home=home, close_stdin=True)
        assert proc.returncode == 0, (args, proc.stderr)
        assert PASSWORD.encode() not in proc.stdout + proc.stderr
    proc = run_bcsync("--profile", "ann", "setup", "--password-stdin", home=home, close_stdin=True)
    assert proc.returncode == 3 and b"standard input" in proc.stderr


def test_exit_codes_and_messages_without_a_terminal(home, tmp_path):
    proc = run_bcsync("status", "--profile", "nobody", home=home)
    assert proc.returncode == 3 and proc.stderr.startswith(b"bcsync: ") and b"Traceback" not in proc.stderr
    proc = run_bcsync(home=home)  # no command: the TUI, which needs a terminal
    assert proc.returncode == 3 and b"no terminal" in proc.stderr
    proc = run_bcsync("contacts", "delete", "CT000001", home=home, close_stdin=True)
    assert proc.returncode == 3
    proc = run_bcsync("sync", "--bogus-option", home=home)
    assert proc.returncode == 3 and b"usage:" in proc.stderr
    bad = tmp_path / "bad.vcf"
    bad.write_bytes(b"BEGIN:VCARD\r\nFN:Cut off")
    proc = run_bcsync("contacts", "import", str(bad), home=home)
    assert proc.returncode == 3 and str(bad).encode() in proc.stderr and b"truncated" in proc.stderr


def test_import_from_stdin_and_export_to_stdout(home):
    proc = run_bcsync("contacts", "import", "-", "--format", "csv", home=home,
                      input="E-Mail;First Name\r\nzoe@example.com;Zoë\r\n".encode())
    assert proc.returncode == 0, proc.stderr
    proc = run_bcsync("contacts", "export", "-", "--format", "vcard", "--vcard-version", "4.0", home=home)
    assert proc.returncode == 0 and b"FN:Zo\xc3\xab\r\n" in proc.stdout and b"VERSION:4.0" in proc.stdout


def test_python_dash_m_and_version(home):
    proc = subprocess.run([sys.executable, "-m", "bcsync_tui", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("bcsync ")
    proc = subprocess.run([BCSYNC, "--home", str(home), "profiles", "--json"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["schema"] == 1 and data["profiles"] == []


def test_home_from_environment(tmp_path):
    env_home = tmp_path / "env-home"
    proc = subprocess.run([BCSYNC, "contacts", "add", "--name", "Env", "--email", "env@example.com"],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60,
                          env={**os.environ, "BCSYNC_HOME": str(env_home), "BCSYNC_NO_KEYRING": "1"})
    assert proc.returncode == 0, proc.stderr
    assert (env_home / "store.json").exists() or (env_home / "store.json.wal").exists()
