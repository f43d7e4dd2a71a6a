"""The async wrapper the TUI and the CLI share: progress, cancel, and connection checks."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading

import pytest

from bcsync_tui.core.profiles import Profile
from bcsync_tui.core.sync import events as ev
from bcsync_tui.core.sync.runner import Coalescer, run_sync, validate_connection

from .backends import MemoryBackend, World
from .invariants import check_all


@pytest.fixture
def mem(tmp_path):
    with World(tmp_path, MemoryBackend(tmp_path)) as w:
        yield w


async def test_run_sync_reports_progress_and_cancels_at_a_safe_point(mem):
    for i in range(600):
        mem.person(f"P{i:03d}", "Test")
    cancel = threading.Event()
    seen = []

    def on_progress(p: ev.Progress):
        seen.append(p)
        if p.phase == "creating in Outlook":
            cancel.set()  # Esc in the TUI: the batch under way finishes, then the run stops

    run = await run_sync(mem.store, "ann", cancel=cancel, on_progress=on_progress,
                         transport_factory=mem.backend.factory)
    assert run.status.value == "cancelled" and "cancelled" in run.message
    created = run.counts.outlook_created
    assert created == 250  # one batch
    assert len(mem.backend.items()) == created == len(mem.links())  # consistent: every item linked
    # journaled a batch at a time: nothing left journaled for the batches that never went out (the
    # next run needs no reconcile of the whole folder)
    assert not mem.store.journal.raw()
    assert {p.phase for p in seen} >= {"connecting", "reading Outlook", "planning", "creating in Outlook"}
    run = await run_sync(mem.store, "ann", transport_factory=mem.backend.factory)
    assert run.status.value == "ok" and run.counts.outlook_created == 600 - created
    check_all(mem)


def test_coalescer_keeps_the_newest_and_lets_phase_changes_through():
    delivered = []
    c = Coalescer(delivered.append, interval=10)
    for i in range(1000):
        c(ev.Progress("creating in Outlook", i, 1000))
    c(ev.Progress("confirming"))
    assert len(delivered) == 2 and delivered[-1].phase == "confirming"
    c(ev.Progress("confirming", message="throttled, resuming in 3 s", throttle_wait=3))
    assert delivered[-1].throttle_wait == 3


def _self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_failure_is_reported_and_insecure_is_an_explicit_per_profile_choice(tmp_path):
    cert, key = _self_signed(tmp_path)

    class Html(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Html)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_port}/EWS/Exchange.asmx"
    try:
        ok, message = validate_connection(Profile(name="x", email="x@example.com", server_url=url), "pw", timeout=3)
        assert not ok and "TLS certificate" in message, message
        insecure = Profile(name="x", email="x@example.com", server_url=url, verify_tls=False)
        ok, message = validate_connection(insecure, "pw", timeout=3)
        assert not ok and "TLS" not in message  # past TLS: now it is "not an EWS endpoint"
        ok, message = validate_connection(Profile(name="x", email="x@example.com", server_url=url), "pw", timeout=3)
        assert "TLS certificate" in message  # the opt-out did not leak to another profile
    finally:
        httpd.shutdown()
