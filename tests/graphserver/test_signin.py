"""Sign-in through MSAL itself (client credentials, device code, refresh) and the bearer checks of Graph."""

from __future__ import annotations

import msal
import pytest
import requests

from bcsync_tui.graphserver.auth import user_object_id

from .conftest import ANN, APP, BOB, GRAPH_SCOPE, Graph, app_token, assert_graph_error, device_sign_in, public_app


def test_client_credentials_token_through_msal(graph):
    result = app_token(graph)
    assert result["token_type"] == "Bearer" and result["access_token"]
    r = Graph(graph, result["access_token"]).get(f"/users/{ANN}/contactFolders")
    assert r.status_code == 200 and r.json()["value"] == []


@pytest.mark.parametrize("tenant", ["organizations", "common"])
def test_multi_tenant_authorities_for_people(graph, tenant):
    app = msal.PublicClientApplication(graph.public_client_id, authority=graph.authority(tenant),
                                       instance_discovery=False, verify=graph.ca_file)
    assert app.authority.device_authorization_endpoint == graph.authority(tenant) + "/oauth2/v2.0/devicecode"


@pytest.mark.parametrize("tenant", ["example.com", "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"])
def test_tenant_authorities_for_applications(graph, tenant):
    cca = msal.ConfidentialClientApplication(APP, client_credential="app-s3cret~value",
                                             authority=graph.authority(tenant), instance_discovery=False,
                                             verify=graph.ca_file)
    assert "access_token" in cca.acquire_token_for_client(GRAPH_SCOPE)


def test_unknown_tenant_is_refused_at_discovery(graph):
    with pytest.raises(ValueError, match="authority configuration"):
        msal.PublicClientApplication(graph.public_client_id, authority=graph.authority("nowhere.test"),
                                     instance_discovery=False, verify=graph.ca_file)


def test_wrong_secret_and_unknown_client(graph):
    wrong = app_token(graph, secret="not-it")
    assert wrong["error"] == "invalid_client" and "AADSTS7000215" in wrong["error_description"]
    unknown = app_token(graph, client="00000000-0000-0000-0000-000000000000")
    assert unknown["error"] == "unauthorized_client" and "AADSTS700016" in unknown["error_description"]


def test_client_credentials_need_a_default_scope(graph):
    cca = msal.ConfidentialClientApplication(APP, client_credential="app-s3cret~value",
                                             authority=graph.authority(graph.tenant_id), instance_discovery=False,
                                             verify=graph.ca_file)
    result = cca.acquire_token_for_client(["Contacts.ReadWrite"])
    assert result["error"] == "invalid_scope"


def test_device_code_pending_until_approved_then_an_account(graph):
    app = public_app(graph)
    result = device_sign_in(graph, BOB, app, after_polls=1)
    assert result["access_token"] and result["refresh_token"]
    assert result["id_token_claims"]["preferred_username"] == BOB
    [account] = app.get_accounts()
    assert account["username"] == BOB
    me = Graph(graph, result["access_token"]).get("/me").json()
    assert me["userPrincipalName"] == BOB and me["id"] == user_object_id(BOB)
    assert graph.stats.count("token") >= 2  # polled while pending


def test_device_code_declined(graph):
    result = device_sign_in(graph, approve=False)
    assert result["error"] == "authorization_declined"


def test_device_code_needs_a_public_client(graph):
    """A confidential-only registration gets AADSTS7000218, as when "allow public client flows" is off."""
    app = public_app(graph, APP)
    result = device_sign_in(graph, ANN, app)
    assert result["error"] == "invalid_client" and "AADSTS7000218" in result["error_description"]


def test_device_code_expires(graph):
    graph.tokens.device_lifetime = 1
    app = public_app(graph)
    flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: False)
    assert result["error"] == "expired_token"


def test_auto_approve_for_the_demo(graph):
    graph.auto_approve = True
    app = public_app(graph)
    flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
    assert app.acquire_token_by_device_flow(flow)["id_token_claims"]["preferred_username"] == ANN


def test_expired_access_token_then_refresh(graph):
    app = public_app(graph)
    first = device_sign_in(graph, ANN, app)
    client = Graph(graph, first["access_token"])
    assert client.get("/me").status_code == 200
    graph.expire_tokens()
    err = assert_graph_error(client.get("/me"), 401, "InvalidAuthenticationToken")
    assert "expired" in err["message"]
    fresh = app.acquire_token_silent(["Contacts.ReadWrite"], account=app.get_accounts()[0], force_refresh=True)
    assert fresh and fresh["access_token"] != first["access_token"]
    assert Graph(graph, fresh["access_token"]).get("/me").status_code == 200


def test_revoked_refresh_token(graph):
    app = public_app(graph)
    device_sign_in(graph, ANN, app)
    graph.expire_tokens(refresh=True)
    result = app.acquire_token_silent_with_error(["Contacts.ReadWrite"], account=app.get_accounts()[0],
                                                 force_refresh=True)
    assert result is None or result.get("error") == "invalid_grant"


def test_missing_or_bad_bearer_token(graph):
    r = requests.get(graph.graph_url + "/me/contactFolders", verify=graph.ca_file, timeout=10)
    assert_graph_error(r, 401, "InvalidAuthenticationToken")
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    r = Graph(graph, "not-a-token").get("/me/contactFolders")
    assert_graph_error(r, 401, "InvalidAuthenticationToken")


def test_delegated_tokens_act_on_me_and_application_tokens_on_users(graph, ann, app_client):
    assert ann.get(f"/users/{ANN}/contactFolders").status_code == 200  # oneself, by upn
    assert_graph_error(ann.get(f"/users/{BOB}/contactFolders"), 403, "ErrorAccessDenied")
    assert_graph_error(app_client.get("/me/contactFolders"), 400, "BadRequest")
    assert app_client.get(f"/users/{user_object_id(BOB)}/contactFolders").status_code == 200
    assert_graph_error(app_client.get("/users/nobody@example.com/contactFolders"), 404, "ErrorInvalidUser")


def test_the_device_login_page_approves_a_code(graph):
    app = public_app(graph)
    flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
    assert flow["verification_uri"] == graph.root + "/devicelogin"
    page = requests.get(flow["verification_uri"], verify=graph.ca_file, timeout=10)
    assert page.status_code == 200 and "<form" in page.text and BOB in page.text
    wrong = requests.post(flow["verification_uri"], data={"user_code": "NOPE", "user": BOB}, verify=graph.ca_file,
                          timeout=10)
    assert wrong.status_code == 400 and "not recognised" in wrong.text
    done = requests.post(flow["verification_uri"], data={"user_code": flow["user_code"].lower(), "user": BOB},
                         verify=graph.ca_file, timeout=10)
    assert done.status_code == 200 and "signed in" in done.text
    assert app.acquire_token_by_device_flow(flow)["id_token_claims"]["preferred_username"] == BOB
