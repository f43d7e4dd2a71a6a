"""What `bcsync setup --transport graph` and `bcsync sync` say when Microsoft sign-in or Graph refuses: the
cause in words and what to do (exit 3, nothing saved), for certificate client credentials, an expired
client secret, missing consent (a person, an application) and a mailbox outside the application's scope."""

from __future__ import annotations

import json

import pytest

from bcsync_tui.graphserver import LoopbackGraph
from tests.graphserver.certs import make_certificate

from .test_graph_cli import APP, APP_SECRET, EMAIL, _graph_args

CERT_APP = "c3c3c3c3-0000-4000-8000-00000000ce27"
BOB = "bob@example.com"


@pytest.fixture
def g():
    with LoopbackGraph(users=[EMAIL, BOB], clients={APP: APP_SECRET}, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def certificate() -> tuple[str, str]:
    return make_certificate()


def _pem_file(tmp_path, key_pem: str, cert_pem: str, name: str = "app.pem") -> str:
    path = tmp_path / name
    path.write_text(key_pem + cert_pem)
    path.chmod(0o600)
    return str(path)


def _secret_setup(cli, g, email: str = EMAIL, profile: str = "ann", secret: str = APP_SECRET):
    return cli("setup", "--email", email, *_graph_args(g, "example.com"), "--client-id", APP,
               "--client-secret-stdin", "--validate", stdin=secret + "\n", profile=profile)


def test_an_administrator_signs_in_with_a_certificate_validates_and_syncs(cli, g, certificate, tmp_path):
    g.add_client(CERT_APP, certificate_pem=certificate[1])
    pem = _pem_file(tmp_path, *certificate)
    r = cli("setup", "--email", EMAIL, *_graph_args(g, "example.com"), "--client-id", CERT_APP,
            "--certificate", pem, "--validate")
    assert r.code == 0, r.err
    assert "Connected successfully to Exchange Online" in r.out
    assert cli("contacts", "add", "--first-name", "Cy", "--surname", "Lee", "--email", "cy@example.com").code == 0
    r = cli("sync", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["counts"]["outlook_created"] == 1
    assert [c["email1"] for c in g.outlook(EMAIL).contacts("Business Central")] == ["cy@example.com"]
    assert certificate[0].splitlines()[1] not in cli.store_bytes().decode(errors="replace")


def test_a_certificate_the_app_does_not_have_is_named(cli, g, certificate, tmp_path):
    g.add_client(CERT_APP, certificate_pem=certificate[1])
    pem = _pem_file(tmp_path, *make_certificate("not registered"))
    r = cli("setup", "--email", EMAIL, *_graph_args(g, "example.com"), "--client-id", CERT_APP,
            "--certificate", pem, "--validate")
    assert r.code == 3, r.err
    assert "certificate" in r.err and "not one registered" in r.err and "Traceback" not in r.both
    assert "AADSTS700027" not in r.err
    assert "nothing was saved" in r.err
    assert json.loads(cli("profiles", "--json").out)["profiles"] == []  # the new profile was not saved


def test_an_unreadable_certificate_file_is_named(cli, g, tmp_path):
    pem = tmp_path / "broken.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    r = cli("setup", "--email", EMAIL, *_graph_args(g, "example.com"), "--client-id", CERT_APP,
            "--certificate", str(pem), "--validate")
    assert r.code == 3 and f"cannot use the certificate {pem}" in r.err and "Traceback" not in r.both


def test_an_expired_client_secret_is_named_and_not_saved(cli, g):
    g.expire_client_secret(APP)
    r = _secret_setup(cli, g)
    assert r.code == 3
    assert "client secret has expired" in r.err and "Create a new one" in r.err and "was not saved" in r.err


def test_a_person_without_consent_is_told_to_ask_for_admin_consent(cli, g):
    g.require_consent(g.public_client_id)
    g.auto_approve = EMAIL
    r = cli("setup", "--email", EMAIL, *_graph_args(g), "--client-id", g.public_client_id)
    assert r.code == 3
    assert "consent is missing" in r.err and "administrator" in r.err and "admin consent" in r.err
    assert "Nothing was saved" in r.err and "AADSTS65001" not in r.err
    with cli.store() as store:
        assert store.profiles.raw() == {}


def test_consent_withdrawn_after_the_sign_in_is_named_at_sync(cli, g):
    g.auto_approve = EMAIL
    assert cli("setup", "--email", EMAIL, *_graph_args(g), "--client-id", g.public_client_id).code == 0
    g.require_consent(g.public_client_id)
    g.expire_tokens()  # the access token must be refreshed: the refresh is refused
    r = cli("sync")
    assert r.code == 3 and "Traceback" not in r.both
    assert "consent is missing" in r.both and "admin consent" in r.both


def test_an_application_without_consent_is_told_what_to_ask_the_admin(cli, g):
    g.require_consent(APP)
    r = _secret_setup(cli, g)
    assert r.code == 3
    assert "no permission on the mailbox ann@example.com" in r.err and "admin consent" in r.err
    assert "Ask your Microsoft 365 administrator" in r.err


def test_a_mailbox_outside_the_apps_scope_is_named_at_setup_and_at_sync(cli, g):
    g.deny_mailbox(BOB)
    r = _secret_setup(cli, g, BOB, "bob")
    assert r.code == 3
    assert "no permission on the mailbox bob@example.com" in r.err and "role assignment" in r.err
    assert _secret_setup(cli, g).code == 0  # the same app may still open ann's mailbox
    g.deny_mailbox(EMAIL)  # the admin narrows the scope after the setup
    assert cli("contacts", "add", "--first-name", "Cy", "--surname", "Lee", "--email", "cy@example.com").code == 0
    r = cli("sync")
    assert r.code == 3 and "Traceback" not in r.both
    assert "no permission on the mailbox ann@example.com" in r.both and "role assignment" in r.both
    assert "Ask your Microsoft 365 administrator" in r.both
    assert "Business Central" not in g.outlook(EMAIL).folders()  # nothing was written
