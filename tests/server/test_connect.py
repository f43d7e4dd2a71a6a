"""Connecting: explicit version, version guessing, authentication, impersonation, delegation."""

from __future__ import annotations

import time

import pytest
from exchangelib import IMPERSONATION, Build
from exchangelib.errors import (ErrorAccessDenied, ErrorImpersonateUserDenied, ErrorNameResolutionNoResults,
                                ErrorNonExistentMailbox, UnauthorizedError)

from bcsync_tui.ewsserver import EXCHANGE_2016_BUILD, LoopbackExchange

from .conftest import ANN, ANN_PW, BOB, BOB_PW, connect, raw_post, soap


def test_explicit_version_sends_nothing_until_used(server):
    account = connect(server)
    assert server.stats.total == 0
    contacts = account.contacts
    assert contacts.name == "Contacts"
    assert server.stats.by_operation == {"GetFolder": 2}  # root, then contacts


def test_version_guessing_reads_server_version_info(server):
    account = connect(server, guess=True)
    assert account.version.build == Build(15, 2, 1118, 7)
    assert account.version.api_version == "Exchange2016"
    assert "2019" in account.version.fullname
    assert server.stats["ConvertId"] == 1
    assert account.contacts.name == "Contacts"


def test_exchange_2016_build_is_reported():
    with LoopbackExchange(users={ANN: ANN_PW}, build=EXCHANGE_2016_BUILD) as s:
        account = connect(s, guess=True)
        assert account.version.build == Build(*EXCHANGE_2016_BUILD)
        assert "2016" in account.version.fullname


def test_every_answer_carries_server_version_info(server):
    status, _, body = raw_post(server, soap('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>'
                                            '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/>'
                                            '</m:FolderIds></m:GetFolder>'))
    assert status == 200
    assert body.startswith(b"<?xml")
    assert b'ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1118"' in body
    assert b'Version="V2017_07_11"' in body


def test_auth_type_guessing_finds_basic(server):
    account = connect(server, auth_type=None)
    assert account.contacts.name == "Contacts"


def test_wrong_password_fails_fast(server):
    start = time.monotonic()
    with pytest.raises(UnauthorizedError):
        connect(server, password="wrong", guess=True).contacts  # noqa: B018
    with pytest.raises(UnauthorizedError):
        connect(server, password="wrong").contacts  # noqa: B018
    assert time.monotonic() - start < 3
    assert server.stats.unauthorized >= 1


def test_401_keeps_the_connection_open(server):
    import http.client
    import urllib.parse
    u = urllib.parse.urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    try:
        status, headers, _ = raw_post(server, soap("<m:ConvertId/>"), password="nope", conn=conn)
        assert status == 401
        assert headers.get("www-authenticate", "").lower().startswith("basic")
        assert headers.get("connection", "").lower() != "close"
        status, _, _ = raw_post(server, soap('<m:ResolveNames ReturnFullContactData="false">'
                                             '<m:UnresolvedEntry>ann</m:UnresolvedEntry></m:ResolveNames>'),
                                conn=conn)  # same connection
        assert status == 200
    finally:
        conn.close()


def test_password_with_colon_and_domain_style_login(server):
    assert connect(server, BOB, BOB_PW).contacts.name == "Contacts"
    from exchangelib import BASIC, DELEGATE, UTC, Account, Configuration, Credentials, Version
    from .conftest import BUILD
    cfg = Configuration(service_endpoint=server.url, credentials=Credentials("EXAMPLE\\ann", ANN_PW),
                        auth_type=BASIC, version=Version(BUILD))
    acc = Account(ANN, config=cfg, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
    assert acc.contacts.name == "Contacts"


def test_impersonation_is_denied_for_ordinary_users(server):
    account = connect(server, access_type=IMPERSONATION)
    with pytest.raises(ErrorImpersonateUserDenied):
        account.root  # noqa: B018


def test_impersonation_allowed_for_configured_user():
    with LoopbackExchange(users={ANN: ANN_PW, BOB: BOB_PW}, impersonators=(ANN,)) as s:
        s.outlook(BOB).create_contact("contacts", display_name="Bob's friend", email1="friend@example.com")
        from exchangelib import BASIC, UTC, Account, Configuration, Credentials, Version
        from .conftest import BUILD
        cfg = Configuration(service_endpoint=s.url, credentials=Credentials(ANN, ANN_PW), auth_type=BASIC,
                            version=Version(BUILD))
        bob = Account(BOB, config=cfg, autodiscover=False, access_type=IMPERSONATION, default_timezone=UTC)
        assert [c.display_name for c in bob.contacts.all()] == ["Bob's friend"]


def test_other_mailbox_needs_delegation(server):
    server.outlook(BOB).create_contact("contacts", display_name="Only Bob's", email1="x@example.com")
    ann_on_bob = connect(server, ANN, ANN_PW)
    from exchangelib import BASIC, DELEGATE, UTC, Account, Configuration, Credentials, Version
    from .conftest import BUILD
    cfg = Configuration(service_endpoint=server.url, credentials=Credentials(ANN, ANN_PW), auth_type=BASIC,
                        version=Version(BUILD))
    target = Account(BOB, config=cfg, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
    with pytest.raises(ErrorAccessDenied):
        list(target.contacts.all())
    server.grant_delegate(BOB, ANN)
    target = Account(BOB, config=cfg, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
    assert [c.display_name for c in target.contacts.all()] == ["Only Bob's"]
    assert ann_on_bob.contacts.all().count() == 0
    nobody = Account("nobody@example.com", config=cfg, autodiscover=False, access_type=DELEGATE,
                     default_timezone=UTC)
    with pytest.raises((ErrorNonExistentMailbox, ErrorAccessDenied)):
        list(nobody.contacts.all())


def test_resolve_names(server, account):
    server.outlook(ANN).create_contact("contacts", display_name="Zoë Müller", email1="zoe@example.com")
    found = account.protocol.resolve_names(["ann"])
    assert [m.email_address for m in found] == [ANN]
    found = account.protocol.resolve_names(["SMTP:zoe@example.com"], return_full_contact_data=True)
    assert found[0][0].email_address == "zoe@example.com"
    assert found[0][1].display_name == "Zoë Müller"
    missing = account.protocol.resolve_names(["no-such-person"])
    assert len(missing) == 1 and isinstance(missing[0], ErrorNameResolutionNoResults)
