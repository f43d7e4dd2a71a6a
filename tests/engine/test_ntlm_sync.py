"""A profile that logs in with NTLM (what on-premises Exchange offers) syncs and validates like a
Basic one: the loopback server speaks NTLM to exchangelib's own NTLM client."""

from __future__ import annotations

import pytest

from bcsync_tui.core.sync.runner import sync_blocking, validate_connection
from bcsync_tui.ewsserver import LoopbackExchange

from .backends import first_sync, profile_against

EMAIL, PASSWORD = "ann@example.com", "NTLM:pass w0rd"


@pytest.fixture
def ntlm(tmp_path):
    server = LoopbackExchange(users={EMAIL: PASSWORD}, auth=("ntlm",)).start()
    with profile_against(tmp_path, server, PASSWORD, auth_type="ntlm", username="EXAMPLE\\ann") as world:
        yield world


def test_a_sync_over_ntlm(ntlm):
    server, store, secrets, _ = ntlm
    first_sync(server, store, secrets, 30, "N")
    before = dict(server.stats.by_operation)
    again = sync_blocking(store, "ann", secrets=secrets)
    assert again.status.value == "ok"
    calls = {op: n - before.get(op, 0) for op, n in server.stats.by_operation.items() if n != before.get(op, 0)}
    # nothing to do: where the folder is and its changes (plus NTLM's handshake legs)
    assert calls == {"GetFolder": 1, "SyncFolderItems": 1}


def test_validate_connection_over_ntlm(ntlm):
    _, _, _, profile = ntlm
    ok, message = validate_connection(profile, PASSWORD, timeout=5)
    assert ok, message
    ok, message = validate_connection(profile, "not it", timeout=5)
    assert not ok and "password" in message.lower()
