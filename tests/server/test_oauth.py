"""OAuth2 as Exchange Online did it for EWS: an application gets a token by the client-credentials
grant and acts on a mailbox only through ExchangeImpersonation; through exchangelib's own client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from exchangelib import DELEGATE, OAUTH2, UTC, Account, Configuration, Identity, OAuth2Credentials, Version
from exchangelib.errors import ErrorInvalidExchangeImpersonationHeaderData
from oauthlib.oauth2 import InvalidClientError

from bcsync_tui.core.sync.ews import TokenUrlOAuth2Credentials
from bcsync_tui.ewsserver import LoopbackExchange

from .conftest import ANN, ANN_PW, BOB, BOB_PW, BUILD

CLIENT, SECRET = "3f1c-app", "s3cret-value"


@pytest.fixture
def oauth_server(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the loopback server speaks plain HTTP
    with LoopbackExchange(users={ANN: ANN_PW, BOB: BOB_PW}, auth=("oauth2",), oauth_clients={CLIENT: SECRET}) as s:
        yield s


def account(server, mailbox: str, secret: str = SECRET, identity: bool = True) -> Account:
    creds = TokenUrlOAuth2Credentials(client_id=CLIENT, client_secret=secret, token_url=server.token_url,
                                      identity=Identity(primary_smtp_address=mailbox) if identity else None)
    config = Configuration(service_endpoint=server.url, credentials=creds, auth_type=OAUTH2,
                           version=None if identity else Version(BUILD))
    return Account(mailbox, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)


def post_form(url: str, form: bytes) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_an_application_token_reaches_each_impersonated_mailbox(oauth_server):
    ann, bob = account(oauth_server, ANN), account(oauth_server, BOB)
    assert ann.contacts.name == "Contacts"
    assert ann.contacts.id != bob.contacts.id
    assert oauth_server.stats.by_operation.get("GetFolder")


def test_the_token_endpoint_checks_the_client(oauth_server):
    status, answer = post_form(oauth_server.token_url,
                               f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}".encode())
    assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    status, answer = post_form(oauth_server.token_url,
                               f"grant_type=client_credentials&client_id={CLIENT}&client_secret=no".encode())
    assert status == 401 and answer["error"] == "invalid_client"
    status, answer = post_form(oauth_server.token_url, b"grant_type=password&username=a&password=b")
    assert status == 400 and answer["error"] == "unsupported_grant_type"


def test_a_wrong_secret_is_refused_at_the_token_endpoint(oauth_server):
    with pytest.raises(InvalidClientError):
        account(oauth_server, ANN, secret="wrong").contacts  # noqa: B018


def test_a_token_without_impersonation_is_refused(oauth_server):
    with pytest.raises(ErrorInvalidExchangeImpersonationHeaderData):
        account(oauth_server, ANN, identity=False).contacts  # noqa: B018


def test_made_up_bearer_tokens_are_refused(oauth_server):
    req = urllib.request.Request(oauth_server.url, data=b"<x/>", headers={"Authorization": "Bearer made-up"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 401 and info.value.headers.get_all("WWW-Authenticate") == ["Bearer"]


def test_the_default_token_url_is_microsofts():
    creds = TokenUrlOAuth2Credentials(client_id=CLIENT, client_secret=SECRET, tenant_id="contoso")
    assert creds.token_url == OAuth2Credentials(client_id=CLIENT, client_secret=SECRET, tenant_id="contoso").token_url
    assert creds.token_url.startswith("https://login.microsoftonline.com/contoso/")
