"""secrets.json holds every profile's password: a damaged one is never written over, and a keyring
that does not keep a password is not reported as holding it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import run_bcsync

PLUGINS = Path(__file__).with_name("keyring_plugins")


@pytest.mark.parametrize("content", [b"{not json", b'["ann:password", "pw"]', b'{"bob:password": 7}', b"\xff\xfe"])
def test_a_secrets_file_that_does_not_parse_is_refused_and_left_alone(cli, content):
    secrets = cli.paths.secrets_file
    secrets.parent.mkdir(parents=True, exist_ok=True)
    secrets.write_bytes(content)
    r = cli("setup", "--email", "ann@example.com", "--server", "https://ex.example.com/EWS/Exchange.asmx",
            "--password-stdin", stdin="new-pw\n")
    assert r.code == 3, r.both
    assert str(secrets) in r.err and "does not write over it" in r.err and "Traceback" not in r.err
    assert secrets.read_bytes() == content


def test_a_keyring_that_keeps_nothing_is_reported_truthfully(tmp_path):
    home = tmp_path / "home"
    env = {"PYTHON_KEYRING_BACKEND": "forgetful_keyring.ForgetfulKeyring", "BCSYNC_NO_KEYRING": "",
           "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    r = run_bcsync("--profile", "ann", "setup", "--email", "ann@example.com", "--server",
                   "https://ex.example.com/EWS/Exchange.asmx", "--password-stdin", home=home,
                   input=b"pw-kept\n", env=env)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "OS keyring" in out and "did not keep it" in out and str(home / "secrets.json") in out
    assert json.loads((home / "secrets.json").read_text()) == {"ann:password": "pw-kept"}


def test_a_sync_with_a_damaged_secrets_file_fails_clearly(cli):
    r = cli("setup", "--email", "ann@example.com", "--server", "http://127.0.0.1:9/EWS/Exchange.asmx",
            "--password-stdin", stdin="pw\n")
    assert r.code == 0, r.both
    cli.paths.secrets_file.write_bytes(b"{broken")
    r = cli("sync")
    assert r.code == 3 and str(cli.paths.secrets_file) in r.out and "unexpected" not in r.both, r.both
    assert cli.paths.secrets_file.read_bytes() == b"{broken"
