"""A profile with TLS verification off (--insecure) gets urllib3's warning once per run, not per request."""

from __future__ import annotations

from urllib.parse import urlparse

from bcsync_tui.ewsserver import LoopbackExchange
from tests.cli.conftest import run_bcsync

from .tls_proxy import TlsProxy

EMAIL, PASSWORD = "ann@example.com", "Loopback-pw-7"


def test_insecure_warns_once_per_run(tmp_path):
    home = tmp_path / "home"
    with LoopbackExchange(users={EMAIL: PASSWORD}) as server, TlsProxy(urlparse(server.url).port, tmp_path) as tls:
        r = run_bcsync("--profile", "ann", "setup", "--email", EMAIL, "--server", tls.url, "--insecure",
                       "--password-stdin", home=home, input=PASSWORD.encode() + b"\n")
        assert r.returncode == 0, r.stderr
        for i in range(3):
            assert run_bcsync("--profile", "ann", "contacts", "add", "--name", f"P {i}", "--email", f"p{i}@example.no",
                              home=home).returncode == 0
        r = run_bcsync("--profile", "ann", "sync", "--full", home=home)
        err = r.stderr.decode()
        assert r.returncode == 0, err
        assert server.stats.total >= 4  # several requests over TLS...
        assert err.count("Unverified HTTPS request") == 1, err  # ...one warning
