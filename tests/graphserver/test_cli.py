"""``bcsync graph-server`` and ``bcsync exchange-server --graph`` as processes, used through MSAL and requests."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import msal
import requests

from .conftest import ANN


def start(home, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    return subprocess.Popen([sys.executable, "-m", "bcsync_tui", "--home", str(home), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    finally:
        proc.stdout.close()
        proc.stderr.close()


def test_graph_server_prints_its_root_and_ca_then_serves_msal(tmp_path):
    proc = start(tmp_path, "graph-server", "--port", "0", "--user", ANN, "--client", "app:s3cret", "--tls")
    try:
        root, ca = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert root.startswith("https://127.0.0.1:")
        assert stat.S_IMODE(os.stat(ca).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(ca)).st_mode) == 0o700
        cca = msal.ConfidentialClientApplication("app", client_credential="s3cret", authority=root + "/example.com",
                                                 instance_discovery=False, verify=ca)
        token = cca.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
        r = requests.get(f"{root}/v1.0/users/{ANN}/contactFolders", headers={"Authorization": f"Bearer {token}"},
                         verify=ca, timeout=30)
        assert r.status_code == 200 and r.json()["value"] == []
    finally:
        assert stop(proc) == 0
    assert not os.path.exists(ca)


def test_exchange_server_serves_graph_on_the_same_mailboxes(tmp_path):
    proc = start(tmp_path, "exchange-server", "--port", "0", "--user", f"{ANN}:pw", "--demo", "--graph")
    try:
        ews, root, ca = (proc.stdout.readline().strip() for _ in range(3))
        assert ews.endswith("/EWS/Exchange.asmx") and root.startswith("https://")
        app = msal.PublicClientApplication("9c1e0f4a-6b2d-4c3e-8f7a-b5c5d0e1a2f3", authority=root + "/organizations",
                                           instance_discovery=False, verify=ca)
        flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
        token = app.acquire_token_by_device_flow(flow)["access_token"]  # approved at once
        folders = requests.get(f"{root}/v1.0/me/contactFolders", headers={"Authorization": f"Bearer {token}"},
                               verify=ca, timeout=30).json()["value"]
        assert "Business Central" in [f["displayName"] for f in folders]
    finally:
        assert stop(proc) == 0


def test_configuration_errors_exit_3(tmp_path):
    broken = tmp_path / "mailboxes.json"
    broken.write_text('{"format": "bcsync-loopback-exchange", "version": 1, "secret": "00", "mailboxes": [{}]}')
    for args in (["graph-server"], ["graph-server", "--user", ANN, "--client", "no-secret"],
                 ["graph-server", "--user", ANN, "--port", "70000"],
                 ["graph-server", "--user", ANN, "--data", str(broken)]):
        proc = subprocess.run([sys.executable, "-m", "bcsync_tui", "--home", str(tmp_path), *args],
                              capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr and proc.stderr.strip()
