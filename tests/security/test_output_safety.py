"""No control code from outside reaches the terminal: contact fields and server fault strings are
printed with their control characters escaped, by every command that shows them."""

from __future__ import annotations

import json
import re

from .conftest import EMAIL, PASSWORD, set_up_profile

HOSTILE = "Eve\x1b[31m Red\x1b]0;owned\x07\x08\x08X\x9b2J\u202eevil\rOver"
# XML 1.0 cannot carry C0 controls (the server's own XML drops ESC), but C1 controls (U+009B is CSI on
# many terminals) and bidi overrides travel in a SOAP fault as they are.
FAULT = "refused \x1b]0;owned\x07 \x9b2J \u202ecleared"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _assert_safe(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, (found, text[:500])


def test_contact_fields_are_escaped_in_list_show_and_json(cli):
    store = cli.store()
    contact = store.add_contact({"name": HOSTILE, "email": "eve@example.com", "city": "Oslo\x1b[2J", "type": "Person"})
    store.close()
    for args in (["contacts", "list"], ["contacts", "show", contact["no"]], ["contacts", "list", "--json"],
                 ["contacts", "show", contact["no"], "--json"]):
        r = cli(*args)
        assert r.code == 0, (args, r.both)
        _assert_safe(r.out + r.err)
    shown = cli("contacts", "show", contact["no"]).out
    assert "Eve\\x1b[31m Red\\x1b]0;owned\\x07\\x08\\x08X\\x9b2J\\u202eevil / Over" in shown  # visible, not acted on
    data = json.loads(cli("contacts", "show", contact["no"], "--json").out)
    assert data["contact"]["name"] == contact["name"] and data["contact"]["city"] == "Oslo\x1b[2J"  # exact values


def test_a_fault_string_from_the_server_is_escaped_in_sync_status_and_log(cli, server):
    set_up_profile(cli, server, "Per")
    server.faults.item_errors({0: "ErrorItemSave"}, operation="CreateItem", message=FAULT)
    r = cli("sync")
    assert r.code == 1 and "owned" in r.out, r.both
    _assert_safe(r.out + r.err)
    run_id = json.loads(cli("log", "--json").out)["runs"][0]["id"]
    for args in (["status"], ["log"], ["log", "--run", run_id], ["log", "--run", run_id, "--json"], ["status", "--json"]):
        r = cli(*args)
        assert r.code in (0, 1), (args, r.both)
        _assert_safe(r.out + r.err)
    assert "\\x9b2J \\u202ecleared" in cli("log", "--run", run_id).out  # it did arrive, and is shown escaped


def test_a_server_message_in_a_failed_validation_is_escaped(cli, server):
    assert cli("setup", "--email", EMAIL, "--server", server.url + "?\x1b[2J", "--password-stdin",
               stdin=PASSWORD + "\n").code in (0, 3)
    r = cli("setup", "--validate")
    _assert_safe(r.out + r.err)
