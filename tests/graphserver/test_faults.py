"""Throttling, the per-mailbox concurrency limit, server errors, lost answers and hostile input."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest
import requests

from bcsync_tui.graphserver import LoopbackGraph

from .conftest import ANN, Graph, assert_graph_error, device_sign_in


def test_throttle_with_retry_after(ann):
    ann.graph.faults.throttle(count=1, backoff_ms=2500)
    r = ann.get("/contactFolders")
    assert_graph_error(r, 429, "TooManyRequests")
    assert r.headers["Retry-After"] == "3"
    assert ann.get("/contactFolders").status_code == 200


def test_every_nth_request_is_throttled(ann):
    ann.graph.faults.throttle_every(3, retry_after_ms=1000)
    statuses = [ann.get("/contactFolders").status_code for _ in range(6)]
    assert statuses.count(429) == 2 and statuses.count(200) == 4
    ann.graph.faults.clear()
    assert {ann.get("/contactFolders").status_code for _ in range(3)} == {200}


def test_service_unavailable_and_internal_errors(ann):
    ann.graph.faults.throttle(count=1, backoff_ms=1000, http_status=503)
    assert_graph_error(ann.get("/contactFolders"), 503, "ServiceUnavailable")
    ann.graph.faults.http_500(count=1, operation="createContactFolder")
    assert_graph_error(ann.post("/contactFolders", {"displayName": "X"}), 500, "InternalServerError")
    assert ann.get("/contactFolders").json()["value"] == []  # not executed


def test_more_than_four_concurrent_requests_per_mailbox(ann):
    g = ann.graph
    g.faults.pause()
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(Graph(g, ann.session.headers["Authorization"][7:])
                                                              .get("/me").status_code)) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while g.in_flight(ANN) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert g.in_flight(ANN) == 4
    r = ann.get("/me")
    assert_graph_error(r, 429, "ApplicationThrottled")
    assert "MailboxConcurrency" in r.json()["error"]["message"] and r.headers["Retry-After"]
    g.faults.resume()
    for t in threads:
        t.join(30)
    assert results == [200, 200, 200, 200]
    assert ann.get("/me").status_code == 200


def test_dropped_connection_is_not_executed(ann):
    ann.graph.faults.drop_connection(count=1, operation="createContactFolder")
    with pytest.raises(requests.ConnectionError):
        ann.post("/contactFolders", {"displayName": "Lost"})
    assert ann.get("/contactFolders").json()["value"] == []


@pytest.mark.parametrize("mode", ["drop", "500"])
def test_ghost_write_is_stored_but_the_answer_is_lost(ann, mode):
    fid = ann.folder()
    ann.graph.faults.ghost_write(count=1, mode=mode)
    if mode == "drop":
        with pytest.raises(requests.ConnectionError):
            ann.post(f"/contactFolders/{fid}/contacts", {"displayName": "Ghost"})
    else:
        assert_graph_error(ann.post(f"/contactFolders/{fid}/contacts", {"displayName": "Ghost"}), 500)
    assert [c["displayName"] for c in ann.get(f"/contactFolders/{fid}/contacts").json()["value"]] == ["Ghost"]


def test_slow_answers_still_execute(ann):
    ann.graph.faults.slow(0.2, count=1, operation="createContactFolder")
    assert ann.post("/contactFolders", {"displayName": "Slow"}).status_code == 201
    assert ("slow", "createContactFolder") in ann.graph.faults.applied


def test_hostile_bodies_and_urls_get_graph_errors(ann):
    fid = ann.folder()
    url = f"/contactFolders/{fid}/contacts"
    bad_json = ann.request("POST", url, data=b'{"displayName": ', headers={"Content-Type": "application/json"})
    assert "JSON" in assert_graph_error(bad_json, 400, "BadRequest")["message"]
    deep = ann.request("POST", url, data=b"[" * 100_000 + b"]" * 100_000, headers={"Content-Type": "application/json"})
    assert_graph_error(deep, 400)
    assert_graph_error(ann.request("POST", url, data=b"\xff\xfe{}", headers={"Content-Type": "application/json"}), 400)
    assert_graph_error(ann.post(url, [{"displayName": "x"}]), 400)
    assert_graph_error(ann.request("POST", url, data=b'{"displayName": "x"}', headers={"Content-Type": "text/plain"}),
                       400)
    assert_graph_error(ann.get(url, params={"$filter": "displayName eq"}), 400)
    assert_graph_error(ann.get(url, params={"$filter": "(" * 5000 + "displayName eq 'x'" + ")" * 5000}), 400)
    assert_graph_error(ann.get(url, params={"$frobnicate": "1"}), 400)
    assert_graph_error(ann.get(url + "?$top=1&$top=2"), 400)
    assert_graph_error(ann.get(url, params={"$top": "-1"}), 400)
    assert_graph_error(ann.get("/contactFolders/%00%0d%0a/contacts"), 400)
    assert_graph_error(ann.get("/calendars"), 400)
    assert_graph_error(ann.request("PUT", url, json={}), 405)
    assert ann.graph.outlook().count("Business Central") == 0
    assert ann.get("/me").status_code == 200


def test_size_cap_and_bad_content_length():
    with LoopbackGraph(users=[ANN], tls=True, max_request_bytes=2048) as small:
        client = Graph(small, device_sign_in(small)["access_token"])
        r = client.post("/contactFolders", {"displayName": "x" * 4096})
        assert_graph_error(r, 413)
        ctx = ssl.create_default_context(cafile=small.ca_file)
        with socket.create_connection(("127.0.0.1", small.port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"POST /v1.0/me/contactFolders HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            head = answer.decode("latin-1")
        assert head.startswith("HTTP/1.1 400") and '"error"' in head
        assert client.get("/me").status_code == 200


def test_batches_count_towards_the_mailbox_concurrency_limit(ann):
    g = ann.graph
    g.concurrency_limit = 1
    g.faults.pause()
    token = ann.session.headers["Authorization"][7:]
    batch = {"requests": [{"id": "1", "method": "GET", "url": "/me/contactFolders"}]}
    results: list[int] = []
    t = threading.Thread(target=lambda: results.append(Graph(g, token).post("/$batch", batch).status_code))
    t.start()
    deadline = time.monotonic() + 30
    while g.in_flight(ANN) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert_graph_error(ann.post("/$batch", batch), 429, "ApplicationThrottled")
    g.faults.resume()
    t.join(30)
    assert results == [200]


def test_latency_delays_graph_requests_but_not_sign_in():
    with LoopbackGraph(users=[ANN], tls=True, latency_ms=20) as g:
        client = Graph(g, device_sign_in(g)["access_token"])
        assert client.get("/me").status_code == 200
        slowed = {op for kind, op in g.faults.applied if kind == "slow"}
        assert slowed == {"getUser"}
