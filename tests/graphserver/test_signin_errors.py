"""Sign-in errors the loopback server gives as Entra does, seen through MSAL itself: certificate client
credentials (a client assertion verified: signature, thumbprint, audience, issuer/subject, expiry), an
expired client secret, missing consent and a mailbox outside an application's RBAC scope."""

from __future__ import annotations

import time

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from bcsync_tui.graphserver.assertion import JWT_BEARER

from .certs import make_certificate
from .conftest import ANN, APP, BOB, GRAPH_SCOPE, app_token

CERT_APP = "c3c3c3c3-0000-4000-8000-00000000ce27"


def _thumbprint(cert_pem: str) -> str:
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA1()).hex()


@pytest.fixture(scope="module")
def certificate() -> tuple[str, str]:
    return make_certificate()


def _cert_token(g, key_pem: str, cert_pem: str, client: str = CERT_APP) -> dict:
    cca = msal.ConfidentialClientApplication(
        client, client_credential={"private_key": key_pem, "thumbprint": _thumbprint(cert_pem)},
        authority=g.authority(g.tenant_id), instance_discovery=False, verify=g.ca_file)
    return cca.acquire_token_for_client(GRAPH_SCOPE)


def test_a_registered_certificate_signs_in_and_reads_mailboxes(graph, certificate):
    key_pem, cert_pem = certificate
    graph.add_client(CERT_APP, certificate_pem=cert_pem)
    result = _cert_token(graph, key_pem, cert_pem)
    assert "access_token" in result, result
    r = requests.get(f"{graph.graph_url}/users/{ANN}/contactFolders", verify=graph.ca_file,
                     headers={"Authorization": "Bearer " + result["access_token"]})
    assert r.status_code == 200, r.text


def test_another_key_or_no_registered_certificate_is_invalid_client_700027(graph, certificate):
    key_pem, cert_pem = certificate
    other_key, other_cert = make_certificate("someone else")
    graph.add_client(CERT_APP, certificate_pem=cert_pem)
    unknown_thumbprint = _cert_token(graph, other_key, other_cert)
    assert unknown_thumbprint["error"] == "invalid_client" and unknown_thumbprint["error_codes"] == [700027]
    assert "The key was not found" in unknown_thumbprint["error_description"]
    forged = _cert_token(graph, other_key, cert_pem)  # the registered thumbprint, signed with another key
    assert forged["error_codes"] == [700027] and "signature" in forged["error_description"]
    graph.add_client("d4d4d4d4-0000-4000-8000-000000000000", secret="s")
    no_cert = _cert_token(graph, key_pem, cert_pem, client="d4d4d4d4-0000-4000-8000-000000000000")
    assert no_cert["error_codes"] == [700027]


@pytest.mark.parametrize("change, code", [
    ({"aud": "https://login.example.net/common/oauth2/v2.0/token"}, 700027),
    ({"iss": "someone-else"}, 700027),
    ({"sub": "someone-else"}, 700027),
    ({"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200}, 700024),
])
def test_assertion_claims_are_checked(graph, certificate, change, code):
    key_pem, cert_pem = certificate
    graph.add_client(CERT_APP, certificate_pem=cert_pem)
    endpoint = f"{graph.root}/{graph.tenant_id}/oauth2/v2.0/token"
    now = int(time.time())
    claims = {"aud": endpoint, "iss": CERT_APP, "sub": CERT_APP, "jti": "x", "nbf": now, "exp": now + 600}
    x5t = jwt.utils.base64url_encode(bytes.fromhex(_thumbprint(cert_pem))).decode()
    good = jwt.encode(claims, key_pem, algorithm="RS256", headers={"x5t": x5t})
    form = {"grant_type": "client_credentials", "client_id": CERT_APP, "scope": GRAPH_SCOPE[0],
            "client_assertion_type": JWT_BEARER}
    assert requests.post(endpoint, data={**form, "client_assertion": good}, verify=graph.ca_file).status_code == 200
    bad = jwt.encode({**claims, **change}, key_pem, algorithm="RS256", headers={"x5t": x5t})
    r = requests.post(endpoint, data={**form, "client_assertion": bad}, verify=graph.ca_file)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client" and r.json()["error_codes"] == [code]
    assert r.json()["error_description"].startswith(f"AADSTS{code}: ")


def test_an_expired_client_secret_is_7000222(graph):
    assert "access_token" in app_token(graph)
    graph.expire_client_secret(APP)
    result = app_token(graph)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000222]
    assert "expired" in result["error_description"]


def test_a_person_without_consent_gets_65001_consent_required(graph):
    graph.require_consent(graph.public_client_id)
    graph.auto_approve = ANN
    pca = msal.PublicClientApplication(graph.public_client_id, authority=graph.authority(),
                                       instance_discovery=False, verify=graph.ca_file)
    flow = pca.initiate_device_flow(scopes=["https://graph.microsoft.com/Contacts.ReadWrite"])
    result = pca.acquire_token_by_device_flow(flow)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [65001]
    assert result["suberror"] == "consent_required" and pca.get_accounts() == []


def test_an_application_without_consent_or_outside_its_scope_gets_403(graph):
    graph.deny_mailbox(BOB)
    token = app_token(graph)["access_token"]

    def status(user: str) -> int:
        r = requests.get(f"{graph.graph_url}/users/{user}/contactFolders", verify=graph.ca_file,
                         headers={"Authorization": "Bearer " + token})
        if r.status_code == 403:
            assert r.json()["error"]["code"] == "ErrorAccessDenied"
        return r.status_code

    assert (status(ANN), status(BOB)) == (200, 403)
    graph.require_consent(APP)  # consent withdrawn: new tokens have no roles
    token = app_token(graph)["access_token"]
    assert status(ANN) == 403
