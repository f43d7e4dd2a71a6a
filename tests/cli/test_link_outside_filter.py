"""Outlook contacts already in the folder whose master contact is outside the filter: linked and kept
by default (shown as "kept" in `bcsync status`), left alone when the profile says so
(``link_outside_filter``), over the real exchangelib client against the loopback server."""

from __future__ import annotations

import json

import pytest

from bcsync_tui.core.profiles import load_profile, save_profile

from .test_sync_ews import EMAIL, FOLDER, PASSWORD, server  # noqa: F401 - server is a fixture


@pytest.fixture
def ann(cli, server):
    assert cli("setup", "--email", EMAIL, "--server", server.url, "--password-stdin", stdin=PASSWORD + "\n").code == 0
    assert cli("contacts", "add", "--first-name", "Åse", "--surname", "Dahl", "--email", "ase@example.no",
               "--city", "Oslo").code == 0
    assert cli("contacts", "add", "--first-name", "Per", "--surname", "Lie", "--email", "per@example.no",
               "--city", "Bergen").code == 0
    assert cli("filter", "set", "City", "Oslo").code == 0
    outlook = server.outlook(EMAIL)
    outlook.ensure_folder(FOLDER)
    # Ann already keeps Per (outside her filter) in her Outlook folder, with her own notes on him
    outlook.create_contact(FOLDER, given_name="Per", surname="Lie", display_name="Per Lie", email1="per@example.no",
                           job_title="Skipper")
    return cli


def _per(server) -> dict:
    (item,) = server.outlook(EMAIL).find_contacts(FOLDER, email="per@example.no")
    return item


def test_by_default_an_existing_item_outside_the_filter_is_linked_and_kept(ann, server):
    r = ann("sync", "--json", "-q")
    assert r.code == 0, r.both
    status = json.loads(ann("status", "--json").out)["profiles"][0]["contacts"]
    assert status == {"master": 2, "selected": 1, "linked": 2, "kept": 1}
    assert "1 of the linked kept: in your Outlook folder, outside the filter" in ann("status").out


def test_a_profile_can_leave_such_items_alone(ann, server):
    with ann.store() as store:
        profile = load_profile(store, "ann")
        profile.link_outside_filter = False
        save_profile(store, profile)
    before = _per(server)
    r = ann("sync", "--json", "-q")
    assert r.code == 0, r.both
    (run,) = json.loads(r.out)["runs"]
    skipped = [s for s in run["skipped"] if s["name"] == "Per Lie"]
    assert len(skipped) == 1 and "outside the filter" in skipped[0]["reason"]
    status = json.loads(ann("status", "--json").out)["profiles"][0]["contacts"]
    assert status["linked"] == 1 and status["kept"] == 0
    assert _per(server) == before  # not stamped, not changed
    # and nothing is imported from it: the master still has one Per
    listing = json.loads(ann("contacts", "list", "--json").out)["contacts"]
    assert [c["email"] for c in listing].count("per@example.no") == 1
    # a second sync stays quiet about it (skipped again, still untouched)
    assert ann("sync", "-q").code == 0
    assert _per(server) == before


def test_the_run_record_counts_the_contacts_kept_outside_the_filter(ann, server):
    # Ann also creates a new contact in Outlook, outside her filter (Trondheim): it is imported and kept
    server.outlook(EMAIL).create_contact(FOLDER, given_name="Kari", surname="Nordmann", display_name="Kari Nordmann",
                                         email1="kari@example.no", business_city="Trondheim")
    r = ann("sync", "--json", "-q")
    assert r.code == 0, r.both
    (run,) = json.loads(r.out)["runs"]
    assert run["counts"]["master_created"] == 1 and run["counts"]["kept"] == 2
    status = json.loads(ann("status", "--json").out)["profiles"][0]["contacts"]
    assert status["kept"] == run["counts"]["kept"]
    shown = ann("log", "--run", run["id"][:8]).out
    assert "kept: 2 in your Outlook folder, outside the filter" in shown
    # Kari moves into the filter in Outlook: the next run keeps only Per
    (kari,) = server.outlook(EMAIL).find_contacts(FOLDER, email="kari@example.no")
    server.outlook(EMAIL).edit_contact(kari["id"], business_city="Oslo")
    r = ann("sync", "--json", "-q")
    assert r.code == 0, r.both
    (run,) = json.loads(r.out)["runs"]
    assert run["counts"]["kept"] == 1
    assert "kept: 1 in your Outlook folder, outside the filter" in ann("log", "--run", run["id"][:8]).out
    # a sync with nothing to do (it skips planning) still says how many are kept
    r = ann("sync", "--json", "-q")
    (run,) = json.loads(r.out)["runs"]
    assert r.code == 0 and run["counts"]["kept"] == 1 and run["counts"]["outlook_updated"] == 0
