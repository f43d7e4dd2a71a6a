"""`bcsync exchange-server` takes a mailbox password from a file or the environment, so that it need
not sit on the command line (visible in `ps` to every user)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.cli.conftest import BCSYNC, run_bcsync

SECRET = "Never-on-argv-42"


def _serve(tmp_path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([BCSYNC, "--home", str(tmp_path / "srv"), "exchange-server", "--port", "0", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("source", ["file", "env"])
def test_the_password_comes_from_a_file_or_the_environment(tmp_path, source):
    pw_file = tmp_path / "pw"
    pw_file.write_text(SECRET + "\n")
    args, env = (["--password-file", str(pw_file)], None) if source == "file" else ([], {"BCSYNC_EXCHANGE_PASSWORD": SECRET})
    proc, url = _serve(tmp_path, "--user", "zed@example.com", *args, env=env)
    try:
        assert url.endswith("/EWS/Exchange.asmx"), proc.stderr.read() if not url else url
        with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
            assert SECRET.encode() not in fh.read()
        home = tmp_path / "client"
        r = run_bcsync("--profile", "zed", "setup", "--email", "zed@example.com", "--server", url, "--password-stdin",
                       "--validate", home=home, input=SECRET.encode() + b"\n")
        assert r.returncode == 0 and b"Connected successfully" in r.stdout, r.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def test_a_user_without_a_password_anywhere_is_refused(tmp_path):
    r = run_bcsync("exchange-server", "--user", "zed@example.com", home=tmp_path,
                   env={"BCSYNC_EXCHANGE_PASSWORD": ""})
    assert r.returncode == 3 and b"BCSYNC_EXCHANGE_PASSWORD" in r.stderr and b"--password-file" in r.stderr


def test_help_says_where_the_password_may_come_from(tmp_path):
    out = run_bcsync("exchange-server", "--help", home=tmp_path).stdout.decode()
    assert "--password-file" in out and "BCSYNC_EXCHANGE_PASSWORD" in out
