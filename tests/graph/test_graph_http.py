"""The Graph client's HTTP session and tokens, against the loopback Graph server through MSAL and
requests: what the environment may not change (a ~/.netrc with credentials for the host), how
often the sign-in service is asked, and the one SSL context every connection shares."""

from __future__ import annotations

import pytest

from tests.engine.backends import World
from tests.engine.graph_backend import graph_profile
from tests.engine.invariants import check_all


@pytest.mark.parametrize("where", ["NETRC", "HOME"])
def test_a_netrc_with_credentials_for_the_host_does_not_replace_the_bearer_token(world, tmp_path, monkeypatch,
                                                                                 where):
    netrc = tmp_path / "netrc-home" / ".netrc"
    netrc.parent.mkdir()
    netrc.write_text("machine 127.0.0.1 login someone password not-a-graph-token\n"
                     "default login anyone password nothing\n")
    netrc.chmod(0o600)
    if where == "NETRC":
        monkeypatch.setenv("NETRC", str(netrc))
    else:
        monkeypatch.delenv("NETRC", raising=False)
        monkeypatch.setenv("HOME", str(netrc.parent))
    for i in range(25):
        world.person(f"N{i:02d}", "Netrc")
    run = world.sync()
    assert run.status.value == "ok", run.message
    assert run.counts.outlook_created == 25
    check_all(world)


def _signed_in_transport(world: World, **profile: object):
    """A GraphTransport for the world's profile, signed in with a device code (the backend's way)."""
    transport = world.backend.factory(world.profile())
    for key, value in profile.items():
        setattr(transport.profile, key, value)
    return transport


def _folder_reads(transport, n: int):
    from bcsync_tui.core.sync.graph_http import Sub

    return [Sub("GET", f"{transport.base}/contactFolders?$select=id")] * n


def test_one_token_serves_every_request_until_the_server_refuses_it_then_one_refresh(world):
    transport = _signed_in_transport(world)
    try:
        transport.connect()
        asked = transport.auth.requests
        answers = transport.http.batches(_folder_reads(transport, 90))  # 5 batches, in flight together
        assert [a.status for a in answers] == [200] * 90
        assert transport.auth.requests == asked  # the token in memory, not MSAL, for each request
        first = transport.auth.token()
        world.backend.server.expire_tokens()  # the server now answers 401 InvalidAuthenticationToken
        answers = transport.http.batches(_folder_reads(transport, 90))
        assert [a.status for a in answers] == [200] * 90
        assert transport.auth.requests == asked + 1  # refreshed once, for all threads
        assert transport.auth.token() != first
    finally:
        transport.close()


def test_a_token_about_to_expire_is_refreshed_before_it_is_used(world):
    transport = _signed_in_transport(world)
    try:
        transport.connect()
        world.backend.server.tokens.token_lifetime = 30  # shorter than the margin kept before expiry
        first = transport.auth.token(force_refresh=True)
        asked = transport.auth.requests
        second = transport.auth.token()
        assert second != first and transport.auth.requests == asked + 1
        world.backend.server.tokens.token_lifetime = 3600
        third = transport.auth.token()
        assert transport.auth.token() == third and transport.auth.requests == asked + 2
    finally:
        transport.close()


def test_a_server_whose_certificate_no_trusted_ca_signed_is_refused_with_a_clear_message(world):
    from bcsync_tui.core.sync.graph import validate_graph

    world.sync()  # signs in (trusting the server's CA)
    profile = graph_profile(world.profile(), world.backend.server)
    profile.ca_file = ""
    ok, message = validate_graph(profile, world.backend.secrets, None)
    assert not ok and "TLS certificate of 127.0.0.1 could not be verified" in message


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_ca_bundle_the_environment_names_is_trusted(world, monkeypatch, variable):
    from bcsync_tui.core.sync.graph import validate_graph

    world.sync()
    profile = graph_profile(world.profile(), world.backend.server)
    profile.ca_file = ""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests reads REQUESTS_CA_BUNDLE first
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, world.backend.server.ca_file)
    ok, message = validate_graph(profile, world.backend.secrets, None)
    assert ok, message
    monkeypatch.setenv(variable, str(world.home / "no-such-bundle.pem"))
    ok, message = validate_graph(profile, world.backend.secrets, None)
    assert not ok and "cannot read the CA certificates" in message and variable in message



def test_an_application_token_the_server_refuses_is_replaced_not_taken_again_from_msals_cache(world):
    from bcsync_tui.core.sync.graph import GraphTransport

    g = world.backend.server
    app_id, secret = "0b5e7c1a-0000-4000-8000-00000000a991", "app-secret"
    g.add_client(app_id, secret)
    profile = graph_profile(world.profile(), g)
    profile.graph_auth, profile.oauth_client_id, profile.oauth_tenant_id = "client_credentials", app_id, "example.com"
    profile.graph_authority = g.authority("example.com")
    transport = GraphTransport(profile, None, client_secret=secret, timeout=10, max_retry_seconds=20)
    try:
        transport.connect()
        first = transport.auth.token()
        g.expire_tokens()
        answers = transport.http.batches(_folder_reads(transport, 60))
        assert [a.status for a in answers] == [200] * 60
        assert transport.auth.token() != first
    finally:
        transport.close()


def test_requests_in_flight_reuse_their_connections(world):
    """Every request through the one session's pool: as many TLS connections as requests in flight
    (and the sign-in's), not one per request."""
    transport = _signed_in_transport(world)
    try:
        transport.connect()
        answers = transport.http.batches(_folder_reads(transport, 20 * 12))  # 12 batches, 4 in flight
        assert [a.status for a in answers] == [200] * 240
        manager = transport.http.session.get_adapter(transport.http.root).poolmanager
        pools = [manager.pools[key] for key in manager.pools.keys()]
        assert sum(p.num_requests for p in pools) >= 12
        assert sum(p.num_connections for p in pools) <= transport.http.in_flight + 1
    finally:
        transport.close()
