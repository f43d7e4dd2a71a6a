"""Fault injection as exchangelib sees it: throttling, 500s, lost answers, slow answers, per-item errors."""

from __future__ import annotations

import time

import pytest
from exchangelib import Contact, FaultTolerance
from exchangelib.errors import (ErrorInternalServerError, ErrorItemSave, ErrorServerBusy, ErrorTimeoutExpired,
                                TransportError)
from exchangelib.indexed_properties import EmailAddress
from exchangelib.protocol import BaseProtocol, close_connections

from .conftest import FOLDER, connect, find_or_create


def contacts(folder, n, prefix="c"):
    return [Contact(folder=folder, display_name=f"{prefix}{i}",
                    email_addresses=[EmailAddress(label="EmailAddress1", email=f"{prefix}{i}@x.example")])
            for i in range(n)]


def test_throttling_is_survived_with_fault_tolerance(server):
    account = connect(server, retry_policy=FaultTolerance(max_wait=10))
    folder = find_or_create(account)
    server.stats.reset()
    server.faults.throttle(count=2, backoff_ms=200, operation="CreateItem")
    start = time.monotonic()
    results = account.bulk_create(folder=folder, items=contacts(folder, 10))
    assert not [r for r in results if isinstance(r, Exception)] and len(results) == 10
    assert time.monotonic() - start >= 0.35
    assert server.stats["CreateItem"] == 3 and server.outlook().count(FOLDER) == 10
    assert server.faults.applied == [("throttle", "CreateItem")] * 2


def test_throttling_fails_fast_with_back_off(server, account, folder):
    server.faults.throttle(count=1, backoff_ms=1500)
    with pytest.raises(ErrorServerBusy) as e:
        account.bulk_create(folder=folder, items=contacts(folder, 1))
    assert e.value.back_off == 1.5
    assert server.outlook().count(FOLDER) == 0
    assert server.faults.pending() == []


def test_http_503_with_retry_after(server):
    account = connect(server, retry_policy=FaultTolerance(max_wait=10))
    folder = find_or_create(account)
    server.faults.throttle(count=1, backoff_ms=300, http_503=True)
    assert len(account.bulk_create(folder=folder, items=contacts(folder, 2))) == 2
    assert server.stats.by_status[503] == 1


def test_http_500(server, account, folder):
    server.faults.http_500()
    with pytest.raises(ErrorInternalServerError):
        list(folder.all())
    server.faults.http_500(html=True)
    with pytest.raises(ErrorServerBusy):  # exchangelib: transient, but fail-fast gives up
        list(folder.all())
    close_connections()  # protocols are cached per endpoint and credentials, retry policy included
    tolerant = connect(server, retry_policy=FaultTolerance(max_wait=10))
    server.faults.http_500(html=True, operation="FindItem")
    assert list(find_or_create(tolerant).all()) == []


def test_ghost_write_stores_then_loses_the_answer(server, account, folder):
    server.faults.ghost_write(count=1, operation="CreateItem", mode="drop")
    with pytest.raises((ErrorTimeoutExpired, TransportError)):
        account.bulk_create(folder=folder, items=contacts(folder, 3))
    assert server.outlook().count(FOLDER) == 3  # written although the client never heard back
    server.faults.ghost_write(count=1, operation="UpdateItem", mode="500")
    item = folder.all().order_by("display_name")[0]
    item.display_name = "changed"
    with pytest.raises(ErrorInternalServerError):
        item.save(update_fields=["display_name"])
    assert [c["display_name"] for c in server.outlook().contacts(FOLDER)].count("changed") == 1


def test_slow_answer_times_out_but_the_write_happens(server, account, folder, monkeypatch):
    monkeypatch.setattr(BaseProtocol, "TIMEOUT", 0.5)
    server.faults.slow(1.0, operation="CreateItem")
    with pytest.raises(ErrorTimeoutExpired):
        account.bulk_create(folder=folder, items=contacts(folder, 1))
    deadline = time.monotonic() + 5
    while server.outlook().count(FOLDER) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.outlook().count(FOLDER) == 1


def test_drop_connection_executes_nothing(server, account, folder):
    server.faults.drop_connection(operation="CreateItem")
    with pytest.raises((ErrorTimeoutExpired, TransportError)):
        account.bulk_create(folder=folder, items=contacts(folder, 2))
    assert server.outlook().count(FOLDER) == 0
    assert len(account.bulk_create(folder=folder, items=contacts(folder, 2))) == 2


def test_per_item_errors_keep_request_order(server, account, folder):
    server.faults.item_errors(email="C3@X.EXAMPLE", code="ErrorItemSave", operation="CreateItem")
    results = account.bulk_create(folder=folder, items=contacts(folder, 6))
    ok = "BulkCreateResult"
    assert [type(r).__name__ for r in results] == [ok, ok, ok, "ErrorItemSave", ok, ok]
    assert server.outlook().count(FOLDER) == 5
    server.faults.clear()

    items = list(folder.all().only("display_name", "email_addresses").order_by("display_name"))
    server.faults.item_errors({1: "ErrorItemSave", (lambda c: c.get("display_name") == "c4"): "ErrorItemSave"},
                              operation="UpdateItem", count=1)
    for it in items:
        it.display_name += "!"
    res = account.bulk_update([(it, ["display_name"]) for it in items])
    assert [isinstance(r, ErrorItemSave) for r in res] == [False, True, False, True, False]
    assert sorted(c["display_name"] for c in server.outlook().contacts(FOLDER)) == ["c0!", "c1", "c2!", "c4", "c5!"]
    assert server.faults.pending() == []


def test_per_item_server_busy_resends_the_whole_chunk(server):
    """exchangelib retries the whole request after a per-item ErrorServerBusy: creates are duplicated
    (EXCHANGELIB.md). The server reproduces it, so the sync must de-duplicate by stamp."""
    account = connect(server, retry_policy=FaultTolerance(max_wait=10))
    folder = find_or_create(account)
    server.faults.item_errors({1: "ErrorServerBusy"}, operation="CreateItem", count=1, backoff_ms=100)
    results = account.bulk_create(folder=folder, items=contacts(folder, 3))
    assert len(results) == 4  # one from the first attempt, three from the retry
    assert server.outlook().count(FOLDER) == 5


def test_item_error_with_server_busy_back_off_fails_fast(server, account, folder):
    server.faults.item_errors({0: "ErrorServerBusy"}, operation="GetItem", backoff_ms=700)
    server.outlook().create_contact(FOLDER, display_name="x")
    with pytest.raises(ErrorServerBusy):
        list(folder.all())
