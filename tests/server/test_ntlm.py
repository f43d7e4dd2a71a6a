"""NTLM, as on-premises Exchange offers it: a three-leg handshake per connection, through
exchangelib's own NTLM client (requests_ntlm over pyspnego)."""

from __future__ import annotations

import http.client
import time
import urllib.parse

import pytest
from exchangelib import DELEGATE, NTLM, UTC, Account, Configuration, Credentials
from exchangelib.errors import UnauthorizedError

from bcsync_tui.ewsserver import LoopbackExchange

from .conftest import ANN, ANN_PW, BOB, BOB_PW, connect, raw_post


@pytest.fixture
def ntlm_server():
    with LoopbackExchange(users={ANN: ANN_PW, BOB: BOB_PW}, auth=("ntlm",)) as s:
        yield s


@pytest.mark.parametrize("user", [ANN, "EXAMPLE\\ann"])
def test_ntlm_logs_in_by_e_mail_or_domain_account(ntlm_server, user):
    config = Configuration(service_endpoint=ntlm_server.url, credentials=Credentials(user, ANN_PW), auth_type=NTLM)
    account = Account(ANN, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
    assert account.contacts.name == "Contacts"
    assert ntlm_server.stats.by_status.get(401) == 2  # challenge-less 401, then the NTLM challenge


def test_an_authenticated_connection_needs_no_new_handshake(ntlm_server):
    account = connect(ntlm_server, auth_type=NTLM)
    account.contacts.refresh()
    before = ntlm_server.stats.by_status.get(401, 0)
    for _ in range(3):
        account.contacts.refresh()
    assert ntlm_server.stats.by_status.get(401, 0) == before


def test_wrong_ntlm_password_fails_fast(ntlm_server):
    start = time.monotonic()
    with pytest.raises(UnauthorizedError):
        connect(ntlm_server, password="wrong", auth_type=NTLM, guess=True).contacts  # noqa: B018
    assert time.monotonic() - start < 5


def test_users_are_kept_apart(ntlm_server):
    bob = connect(ntlm_server, user=BOB, password=BOB_PW, auth_type=NTLM)
    ann = connect(ntlm_server, auth_type=NTLM)
    assert bob.contacts.id != ann.contacts.id  # each session acts as its own mailbox


def test_basic_is_refused_when_only_ntlm_is_offered(ntlm_server):
    status, headers, _ = raw_post(ntlm_server, b"<x/>")
    assert status == 401
    assert headers.get("www-authenticate") == "NTLM"


def test_both_offered_lists_ntlm_first_like_iis():
    with LoopbackExchange(users={ANN: ANN_PW}, auth=("basic", "ntlm")) as s:
        u = urllib.parse.urlparse(s.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("POST", u.path, body=b"<x/>")
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 401
        assert r.headers.get_all("WWW-Authenticate") == ["NTLM", 'Basic realm="127.0.0.1"']
        assert connect(s).contacts.name == "Contacts"  # Basic still works
        assert connect(s, auth_type=NTLM).contacts.name == "Contacts"


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="basic"):
        LoopbackExchange(users={ANN: ANN_PW}, auth=("kerberos",))
