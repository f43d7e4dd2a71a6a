"""Fixtures for the loopback EWS server tests: a fresh server per test and real exchangelib accounts."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest
from exchangelib import (BASIC, DELEGATE, UTC, Account, Build, Configuration, Contact, Credentials, ExtendedProperty,
                         Version)
from exchangelib.folders import Contacts
from exchangelib.protocol import BaseProtocol, close_connections

from bcsync_tui.ewsserver import LoopbackExchange

ANN, ANN_PW = "ann@example.com", "Ann-s3cret"
BOB, BOB_PW = "bob@example.com", "B0b-pass:word"
BUILD = Build(15, 2, 1118, 7)
FOLDER = "Business Central"


class Stamp(ExtendedProperty):
    """Like the sync engine's stamp, under its own name so both can be registered at once."""

    property_set_id = "0b7d7a52-3c55-4d44-9a7e-5a1c2f8e9d10"
    property_name = "bcsync-test-stamp"
    property_type = "String"


@pytest.fixture(autouse=True)
def _exchangelib_timeouts(monkeypatch):
    monkeypatch.setattr(BaseProtocol, "TIMEOUT", 10)
    monkeypatch.setattr(BaseProtocol, "RETRY_WAIT", 0.2)  # exchangelib's back-off without a server hint (10 s)
    yield
    close_connections()


@pytest.fixture
def server():
    with LoopbackExchange(users={ANN: ANN_PW, BOB: BOB_PW}) as s:
        yield s


@pytest.fixture
def stamp():
    """Register the test stamp on Contact for one test."""
    Contact.register("test_stamp", Stamp)
    try:
        yield "test_stamp"
    finally:
        Contact.deregister("test_stamp")


def connect(server: LoopbackExchange, user: str = ANN, password: str = ANN_PW, *, guess: bool = False,
            retry_policy=None, auth_type=BASIC, access_type=DELEGATE) -> Account:
    kwargs = {"retry_policy": retry_policy} if retry_policy is not None else {}
    config = Configuration(service_endpoint=server.url, credentials=Credentials(user, password),
                           auth_type=auth_type, version=None if guess else Version(BUILD), **kwargs)
    return Account(user, config=config, autodiscover=False, access_type=access_type, default_timezone=UTC)


@pytest.fixture
def account(server) -> Account:
    return connect(server)


def find_or_create(account: Account, name: str = FOLDER) -> Contacts:
    from exchangelib.errors import ErrorFolderNotFound
    try:
        return account.contacts // name
    except ErrorFolderNotFound:
        return Contacts(parent=account.contacts, name=name).save()


@pytest.fixture
def folder(account) -> Contacts:
    return find_or_create(account)


def raw_post(server: LoopbackExchange, body: bytes | str, *, user: str = ANN, password: str = ANN_PW,
             headers: dict | None = None, conn: http.client.HTTPConnection | None = None):
    """POST raw bytes to the endpoint; returns (status, headers, body)."""
    import base64
    u = urllib.parse.urlparse(server.url)
    c = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = {"Content-Type": "text/xml; charset=utf-8"}
    if user is not None:
        h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    h.update(headers or {})
    c.request("POST", u.path, body=body.encode() if isinstance(body, str) else body, headers=h)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def soap(body: str, version: str = "Exchange2016") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
            'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
            f'<s:Header><t:RequestServerVersion Version="{version}"/></s:Header>'
            f'<s:Body>{body}</s:Body></s:Envelope>')
