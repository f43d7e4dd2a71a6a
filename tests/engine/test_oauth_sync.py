"""A profile that uses OAuth2 (client credentials, the token endpoint it names) syncs and validates
like a Basic one; a wrong secret or an http:// token endpoint is refused with a clear message."""

from __future__ import annotations

import pytest

from bcsync_tui.core.sync.runner import validate_connection
from bcsync_tui.ewsserver import LoopbackExchange

from .backends import first_sync, profile_against

EMAIL, CLIENT, SECRET = "ann@example.com", "bcsync-app", "app-s3cret"


@pytest.fixture
def oauth(tmp_path, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the loopback token endpoint is plain HTTP
    server = LoopbackExchange(users={EMAIL: "unused"}, auth=("oauth2",), oauth_clients={CLIENT: SECRET}).start()
    with profile_against(tmp_path, server, SECRET, auth_type="oauth2", oauth_client_id=CLIENT,
                         oauth_token_url=server.token_url) as world:
        yield world


def test_a_sync_over_oauth2(oauth):
    server, store, secrets, _ = oauth
    run = first_sync(server, store, secrets, 20, "O")
    on_disk = "".join(f.read_text() for f in (store.path, store.storage.wal_path) if f.exists())
    assert on_disk and SECRET not in on_disk and SECRET not in repr(run)


def test_validate_connection_over_oauth2(oauth):
    _, _, _, profile = oauth
    ok, message = validate_connection(profile, SECRET, timeout=5)
    assert ok, message
    ok, message = validate_connection(profile, "wrong", timeout=5)
    assert not ok and "client secret" in message and "invalid_client" in message


def test_an_http_token_endpoint_is_refused_unless_explicitly_allowed(oauth, monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    _, _, _, profile = oauth
    ok, message = validate_connection(profile, SECRET, timeout=5)
    assert not ok and "https://" in message
