"""Fixtures for the loopback Graph server tests: a fresh https server per test, tokens from MSAL itself,
and a plain ``requests`` client that speaks Graph as the documentation describes it."""

from __future__ import annotations

import threading
import time
from typing import Any

import msal
import pytest
import requests

from bcsync_tui.graphserver import LoopbackGraph

ANN, BOB = "ann@example.com", "bob@example.com"
APP, APP_SECRET = "11111111-2222-3333-4444-555555555555", "app-s3cret~value"
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
STAMP_ID = "String {6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21} Name bcsync-contact-uuid"
FAX_ID = "String 0x3A24"


@pytest.fixture(autouse=True)
def _trust_only_the_test_ca(monkeypatch):
    """This machine points requests at the system bundle through REQUESTS_CA_BUNDLE, which overrides
    ``Session.verify`` (and so MSAL's ``verify=``); the tests trust only the server's own CA."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def graph():
    with LoopbackGraph(users=[ANN, BOB], clients={APP: APP_SECRET}, tls=True) as g:
        yield g


def app_token(g: LoopbackGraph, client: str = APP, secret: str = APP_SECRET) -> dict[str, Any]:
    cca = msal.ConfidentialClientApplication(client, client_credential=secret, authority=g.authority(g.tenant_id),
                                             instance_discovery=False, verify=g.ca_file)
    return cca.acquire_token_for_client(GRAPH_SCOPE)


def public_app(g: LoopbackGraph, client: str | None = None) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(client or g.public_client_id, authority=g.authority("organizations"),
                                        instance_discovery=False, verify=g.ca_file)


def device_sign_in(g: LoopbackGraph, user: str = ANN, app: msal.PublicClientApplication | None = None,
                   approve: bool = True, after_polls: int = 0) -> dict[str, Any]:
    """MSAL's device flow, polling in a thread while the test approves the code from the server's API
    (after the server answered ``after_polls`` polls with authorization_pending)."""
    app = app or public_app(g)
    flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
    assert "user_code" in flow, flow
    result: dict[str, Any] = {}
    polls = g.stats.count("token")
    poller = threading.Thread(target=lambda: result.update(app.acquire_token_by_device_flow(flow)))
    poller.start()
    deadline = time.monotonic() + 30
    while g.stats.count("token") < polls + after_polls and time.monotonic() < deadline:
        time.sleep(0.05)
    if approve:
        assert g.approve_device_code(flow["user_code"], user=user) == 1
    else:
        g.decline_device_code(flow["user_code"])
    poller.join(30)
    assert not poller.is_alive()
    return result


class Graph:
    """Plain HTTP against the server, as the Graph docs describe the calls."""

    def __init__(self, g: LoopbackGraph, token: str, base: str = "/me"):
        self.g = self.graph = g
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        if path.startswith("https://"):
            return path
        if path.startswith(("/$batch", "/users", "/me")):
            return self.g.graph_url + path
        return self.g.graph_url + self.base + path

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), verify=self.g.ca_file, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> requests.Response:
        return self.request("POST", path, json=body, **kw)

    def patch(self, path: str, body: Any, **kw) -> requests.Response:
        return self.request("PATCH", path, json=body, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def folder(self, name: str = "Business Central") -> str:
        r = self.post("/contactFolders", {"displayName": name})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def contact(self, folder: str, **fields) -> dict[str, Any]:
        r = self.post(f"/contactFolders/{folder}/contacts", fields)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def ann(graph) -> Graph:
    """Ann, signed in with the device code flow (delegated: /me)."""
    return Graph(graph, device_sign_in(graph)["access_token"])


@pytest.fixture
def app_client(graph) -> Graph:
    """The application (client credentials), acting on Ann's mailbox through /users/{upn}."""
    return Graph(graph, app_token(graph)["access_token"], base=f"/users/{ANN}")


def assert_graph_error(r: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"code", "message", "innerError"} and err["message"]
    assert {"date", "request-id", "client-request-id"} <= set(err["innerError"])
    if code is not None:
        assert err["code"] == code, err
    return err
