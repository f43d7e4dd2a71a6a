"""``bcsync setup --transport graph`` and syncs of Graph profiles from the command line: a person's device
code sign-in (in the installed command, approved by the test once the code is printed), Ctrl-C, an
administrator's client credentials, and the errors people meet (bad secret, wrong tenant)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys

import pytest

from bcsync_tui.core.profiles import load_profile
from bcsync_tui.graphserver import LoopbackGraph
from tests.cli.conftest import BCSYNC, run_bcsync

EMAIL = "ann@example.com"
APP, APP_SECRET = "5b0c1b8e-0000-4000-8000-00000000a11e", "app-Secret-42"


@pytest.fixture
def g():
    with LoopbackGraph(users=[EMAIL, "bob@example.com"], clients={APP: APP_SECRET}, tls=True) as server:
        yield server


def _graph_args(g, tenant: str = "organizations") -> list[str]:
    return ["--transport", "graph", "--graph-url", g.graph_url, "--authority", g.authority(tenant),
            "--ca-file", g.ca_file]


def _start_setup(g, home, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "BCSYNC_NO_KEYRING": "1"}
    return subprocess.Popen([BCSYNC, "--home", str(home), "--profile", "ann", "setup", "--email", EMAIL,
                             *_graph_args(g), "--client-id", g.public_client_id, *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _read_code(proc: subprocess.Popen) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"enter the code (\S+)", line)
        if found:
            assert next(proc.stdout).startswith("Waiting for the sign-in")
            return found.group(1)
    raise AssertionError(f"no device code printed: {proc.stderr.read() if proc.stderr else ''}")


def test_a_person_signs_in_with_a_device_code_then_syncs_and_status_stays_light(g, home):
    proc = _start_setup(g, home, "--validate")
    code = _read_code(proc)
    assert g.approve_device_code(code, user=EMAIL) == 1
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Signed in as ann@example.com" in out and "Connected successfully to Exchange Online" in out
    secrets_file = home / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "ann:graph_token_cache" in json.loads(secrets_file.read_text())
    store_bytes = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("store"))
    assert b"refresh_token" not in store_bytes and b"access_token" not in store_bytes

    assert run_bcsync("--profile", "ann", "contacts", "add", "--first-name", "Ann", "--surname", "Lee", "--email",
                      "ann.lee@example.com", home=home).returncode == 0
    sync = run_bcsync("--profile", "ann", "sync", "--json", home=home)
    assert sync.returncode == 0, sync.stderr
    assert json.loads(sync.stdout)["runs"][0]["counts"]["outlook_created"] == 1
    assert len(g.outlook(EMAIL).contacts("Business Central")) == 1

    show = run_bcsync("--profile", "ann", "setup", "--show", home=home)
    assert b"Microsoft Graph (Exchange Online)" in show.stdout and b"signed in" in show.stdout
    code = ("import sys\nfrom bcsync_tui.cli import main\n"
            f"main(['--home', {str(home)!r}, '--profile', 'ann', 'status'])\n"
            "print('HEAVY=' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'msal' "
            "or m.startswith('bcsync_tui.core.sync.graph'))))\n")
    status = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BCSYNC_NO_KEYRING": "1"})
    assert status.returncode == 0, status.stderr
    assert "Microsoft Graph" in status.stdout
    assert status.stdout.strip().splitlines()[-1] == "HEAVY="


def test_ctrl_c_during_the_device_code_wait_cancels_and_saves_nothing(g, home):
    proc = _start_setup(g, home)
    _read_code(proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "sign-in cancelled; nothing was saved" in err and "Traceback" not in err
    profiles = run_bcsync("profiles", "--json", home=home)
    assert json.loads(profiles.stdout)["profiles"] == []


def test_an_administrator_syncs_several_mailboxes_with_client_credentials(cli, g):
    for user in ("ann", "bob"):
        r = cli("setup", "--email", f"{user}@example.com", *_graph_args(g, "example.com"), "--client-id", APP,
                "--client-secret-stdin", "--validate", stdin=APP_SECRET + "\n", profile=user)
        assert r.code == 0, r.err
        assert "Connected successfully to Exchange Online" in r.out and "Client secret stored" in r.out
    assert cli("contacts", "add", "--first-name", "Cy", "--surname", "Lee", "--email", "cy@example.com").code == 0
    r = cli("sync", "--all-profiles", "--json", profile=None)
    assert r.code == 0, r.err
    runs = json.loads(r.out)["runs"]
    assert sorted(run["profile"] for run in runs) == ["ann", "bob"]
    assert all(run["counts"]["outlook_created"] == 1 for run in runs)
    for user in ("ann@example.com", "bob@example.com"):  # /users/{upn}, each into its own mailbox
        assert [c["email1"] for c in g.outlook(user).contacts("Business Central")] == ["cy@example.com"]
    assert APP_SECRET not in cli.store_bytes().decode(errors="replace")


def test_a_wrong_client_secret_is_named_and_not_saved(cli, g):
    r = cli("setup", "--email", EMAIL, *_graph_args(g, "example.com"), "--client-id", APP, "--client-secret-stdin",
            "--validate", stdin="not-the-secret\n")
    assert r.code == 3
    assert "client secret is wrong" in r.err and "was not saved" in r.err
    assert not cli.paths.secrets_file.exists() or "ann:password" not in cli.paths.secrets_file.read_text()


def test_a_wrong_tenant_is_named(cli, g):
    r = cli("setup", "--email", EMAIL, *_graph_args(g, "no-such-tenant.example"), "--client-id", APP,
            "--client-secret-stdin", "--validate", stdin=APP_SECRET + "\n")
    assert r.code == 3 and "tenant" in r.err and "was not found" in r.err


def test_public_client_flows_disabled_is_named(cli, g):
    g.auto_approve = EMAIL
    r = cli("setup", "--email", EMAIL, *_graph_args(g), "--client-id", APP)
    assert r.code == 3 and "AADSTS7000218" not in r.err
    assert "does not allow public client flows" in r.err and "Nothing was saved" in r.err
    with cli.store() as store:
        assert store.profiles.raw() == {}


def test_graph_only_options_need_the_graph_transport(cli):
    r = cli("setup", "--email", EMAIL, "--server", "auto", "--client-secret-stdin", stdin="x\n")
    assert r.code == 3 and "--transport graph" in r.err


def test_a_setting_change_keeps_the_sign_in(cli, g):
    g.auto_approve = EMAIL
    assert cli("setup", "--email", EMAIL, *_graph_args(g), "--client-id", g.public_client_id).code == 0
    r = cli("setup", "--folder", "BC Kontakter")
    assert r.code == 0 and "enter the code" not in r.out
    with cli.store() as store:
        p = load_profile(store, "ann")
        assert (p.transport, p.folder_name, p.graph_auth) == ("graph", "BC Kontakter", "device_code")


def test_a_mailbox_that_does_not_exist_is_named(cli, g):
    r = cli("setup", "--email", "nobody@example.com", *_graph_args(g, "example.com"), "--client-id", APP,
            "--client-secret-stdin", "--validate", stdin=APP_SECRET + "\n")
    assert r.code == 3 and "No Exchange Online mailbox was found for nobody@example.com" in r.err


def test_a_sync_without_a_sign_in_says_to_sign_in(cli, g):
    g.auto_approve = EMAIL
    assert cli("setup", "--email", EMAIL, *_graph_args(g), "--client-id", g.public_client_id).code == 0
    cli.paths.secrets_file.unlink()  # the token cache is gone (another machine, a cleared keyring)
    r = cli("sync")
    assert r.code == 3 and "Not signed in to Microsoft 365 as ann@example.com" in r.both
    assert "bcsync setup --transport graph" in r.both
