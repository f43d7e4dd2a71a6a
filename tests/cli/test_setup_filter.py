"""``bcsync setup``, ``bcsync filter`` and ``bcsync profiles``."""

from __future__ import annotations

import json
import socket
import stat

from bcsync_tui.core.profiles import load_profile

PASSWORD = "S3cret-pässword!"
SETUP = ["setup", "--email", "ann@example.com", "--server", "https://mail.example.com/EWS/Exchange.asmx",
         "--username", "EXAMPLE\\ann", "--auth", "ntlm", "--folder", "BC Contacts", "--password-stdin"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_setup_saves_profile_and_password_but_never_prints_it(cli):
    r = cli(*SETUP, "--interval", "30m", "--master-delete", "unlink", "--leave-filter", "unlink",
            "--max-deletes", "10", stdin=PASSWORD + "\n")
    assert r.code == 0, r.err
    assert "Created profile 'ann'" in r.out and "Password stored in" in r.out
    with cli.store() as store:
        p = load_profile(store, "ann")
        assert (p.email, p.server_url, p.auth_type, p.username, p.folder_name) == (
            "ann@example.com", "https://mail.example.com/EWS/Exchange.asmx", "ntlm", "EXAMPLE\\ann", "BC Contacts")
        assert (p.interval_minutes, p.master_delete_policy, p.leave_filter_policy, p.max_deletes) == (
            30, "unlink", "unlink", 10)
        assert p.verify_tls is True
    secrets = cli.paths.secrets_file
    assert json.loads(secrets.read_text()) == {"ann:password": PASSWORD}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert b"S3cret" not in cli.store_bytes()
    outputs = [r.both]
    for args in (["setup", "--show"], ["setup", "--show", "--json"], ["status"], ["status", "--json"],
                 ["profiles", "--json"], ["filter", "show", "--json"]):
        res = cli(*args)
        outputs.append(res.both)
    assert all("S3cret" not in o for o in outputs)
    shown = json.loads(cli("setup", "--show", "--json").out)
    assert shown["schema"] == 1 and shown["profile"]["password_set"] is True and shown["validation"] is None
    assert "password" not in {k for k in shown["profile"] if k != "password_set"}
    assert "Password:" in outputs[1] and "stored in" in outputs[1]


def test_setup_update_keeps_other_settings_and_insecure_is_explicit(cli):
    assert cli(*SETUP, stdin=PASSWORD).code == 0
    r = cli("setup", "--insecure", "--disable")
    assert r.code == 0 and "Updated profile" in r.out and "NOT verified" in r.out
    with cli.store() as store:
        p = load_profile(store, "ann")
        assert p.verify_tls is False and p.enabled is False and p.folder_name == "BC Contacts"
    assert cli("setup", "--verify-tls", "--enable", "--server", "auto").code == 0
    with cli.store() as store:
        p = load_profile(store, "ann")
        assert p.verify_tls is True and p.enabled is True and p.server_url == ""
    assert cli("setup", "--insecure", "--verify-tls").code == 3


def test_invalid_setup_saves_nothing(cli):
    r = cli("setup", "--email", "not-an-address", "--server", "ftp://x", "--password-stdin", stdin=PASSWORD)
    assert r.code == 3 and "email" in r.err and "server url" in r.err and "nothing was saved" in r.err
    assert PASSWORD not in r.both
    assert not cli.paths.secrets_file.exists()
    assert cli("setup", "--server", "auto").code == 3  # a new profile needs an e-mail
    assert cli("setup", "--email", "a@x.com", "--password-stdin", stdin="").code == 3  # empty password
    assert cli("setup", "--email", "a@x.com", "--interval", "soon").code == 3
    assert cli("setup", "--email", "a@x.com", "--auth", "oauth2").code == 3  # needs a client id
    bad_url = cli("setup", "--email", "a@x.com", "--auth", "oauth2", "--oauth-client-id", "app",
                  "--oauth-token-url", "adfs.example.com/token")
    assert bad_url.code == 3 and "token url" in bad_url.err.lower()
    assert cli("setup").code == 3
    with cli.store() as store:
        assert store.profiles.raw() == {}


def test_validate_reports_connection_failure_with_exit_3(cli):
    url = f"http://127.0.0.1:{_free_port()}/EWS/Exchange.asmx"
    assert cli("setup", "--email", "ann@example.com", "--server", url, "--password-stdin", stdin=PASSWORD).code == 0
    r = cli("setup", "--validate", "--timeout", "3")
    assert r.code == 3 and r.err.startswith("bcsync: ") and PASSWORD not in r.both
    r = cli("setup", "--validate", "--timeout", "3", "--json")
    data = json.loads(r.out)
    assert r.code == 3 and data["validation"]["ok"] is False and data["exit_code"] == 3
    assert cli("setup", "--validate", profile="nobody").code == 3


def test_filter_set_show_clear(cli):
    for args in (["--first-name", "Ann", "--email", "a@x.com", "--post-code", "0150"],
                 ["--first-name", "Bob", "--email", "b@x.com", "--post-code", "0190"],
                 ["--first-name", "Cy", "--post-code", "0160"],
                 ["--first-name", "Di", "--email", "d@x.com", "--post-code", "5003"]):
        assert cli("contacts", "add", *args).code == 0
    r = cli("filter", "set", "Post Code", "0150..0190")
    assert r.code == 0 and "Post Code: 0150..0190" in r.out
    assert "3 of 4 contacts match; 2 of them go to Outlook" in r.out
    r = cli("filter", "set", "territory_code", "N*", "--json")
    data = json.loads(r.out)
    assert data["filter"] == {"post_code": "0150..0190", "territory_code": "N*"} and data["matching"] == 0
    r = cli("filter", "show")
    assert "Territory Code: N*" in r.out
    r = cli("filter", "clear", "Territory Code")
    assert r.code == 0 and "Territory Code" not in r.out
    assert cli("filter", "clear", "Territory Code").code == 3  # no such condition any more
    assert json.loads(cli("filter", "--json").out)["description"] == "Post Code: 0150..0190"
    r = cli("filter", "clear")
    assert r.code == 0 and "No filter" in r.out
    with cli.store() as store:
        assert load_profile(store, "ann").filter == {}


def test_filter_errors_keep_the_old_filter(cli):
    assert cli("filter", "set", "City", "Oslo|Bergen").code == 0
    r = cli("filter", "set", "City", "(Oslo|Bergen")
    assert r.code == 3
    assert r.err.splitlines() == ["bcsync: bad filter for City: unclosed '(' (column 13)",
                                  "  City: (Oslo|Bergen", " " * len("  City: (Oslo|Bergen") + "^"]
    assert cli("filter", "set", "Colour", "red").code == 3
    with cli.store() as store:
        assert load_profile(store, "ann").filter == {"city": "Oslo|Bergen"}


def test_profiles_list(cli):
    assert cli("profiles").out.startswith("No profiles yet")
    assert cli(*SETUP, stdin=PASSWORD).code == 0
    assert cli("setup", "--email", "bob@example.com", stdin=PASSWORD, profile="bob").code == 0
    r = cli("profiles")
    assert r.code == 0 and "* ann" in r.out and "bob@example.com" in r.out and "never" in r.out
    data = json.loads(cli("profiles", "--json").out)
    assert [p["name"] for p in data["profiles"]] == ["ann", "bob"] and data["default_profile"] == "ann"


def test_a_new_password_that_fails_validation_is_not_saved_and_the_old_one_is_kept(cli):
    from bcsync_tui.ewsserver import LoopbackExchange

    good = "Loopback-pw-7"
    with LoopbackExchange(users={"ann@example.com": good}) as server:
        r = cli("setup", "--email", "ann@example.com", "--server", server.url, "--password-stdin", "--validate",
                stdin=good + "\n")
        assert r.code == 0 and "Connected successfully" in r.out, r.err
        r = cli("setup", "--password-stdin", "--folder", "Other", "--validate", stdin="a typo\n")
        assert r.code == 3
        assert "did not work and was not saved (the old one is kept)" in r.err
        assert json.loads(cli.paths.secrets_file.read_text()) == {"ann:password": good}
        with cli.store() as store:
            assert load_profile(store, "ann").folder_name == "Business Central"
        assert cli("setup", "--validate").code == 0  # the old password still works
