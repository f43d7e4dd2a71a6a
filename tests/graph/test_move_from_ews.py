"""A profile that synced over EWS moves to Graph: one mailbox served over both protocols. The setup carries
the links over to Graph's ids (translateExchangeIds), so the first Graph sync merges three-way as the
next EWS sync would have — nothing created, nothing deleted, no conflicts, an Outlook edit made in
between flows in."""

from __future__ import annotations

import json

import pytest

from bcsync_tui.core.profiles import load_profile
from bcsync_tui.ewsserver import LoopbackExchange
from bcsync_tui.graphserver import LoopbackGraph

EMAIL, PASSWORD = "ann@example.com", "Loopback-pw-7"


@pytest.fixture
def servers():
    with LoopbackExchange(users={EMAIL: PASSWORD}) as ews, LoopbackGraph(share=ews, tls=True) as g:
        yield ews, g


def _sync(cli) -> dict:
    r = cli("sync", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["runs"][0]


def test_moving_a_profile_from_ews_to_graph_keeps_every_link(cli, servers):
    ews, g = servers
    assert cli("setup", "--email", EMAIL, "--server", ews.url, "--password-stdin", stdin=PASSWORD + "\n").code == 0
    for i in range(30):
        assert cli("contacts", "add", "--first-name", f"P{i}", "--surname", "Move", "--email", f"p{i}@example.com",
                   "--fax", f"+47 {i}").code == 0
    first = _sync(cli)
    assert first["counts"]["outlook_created"] == 30
    outlook = g.outlook(EMAIL)
    outlook.create_contact("Business Central", {"given_name": "Olga", "surname": "Outlook", "email1": "olga@example.com",
                                                "display_name": "Olga Outlook"})
    assert _sync(cli)["counts"]["master_created"] == 1
    with cli.store() as store:
        ews_links = {lk.contact_uuid: lk.item_id for lk in store.links_of("ann").values()}
    edited = next(c for c in outlook.contacts("Business Central") if c.get("email1") == "p7@example.com")
    outlook.edit_contact(edited["id"], {"job_title": "Edited before the move"})

    g.auto_approve = EMAIL
    r = cli("setup", "--transport", "graph", "--graph-url", g.graph_url, "--authority", g.authority("organizations"),
            "--ca-file", g.ca_file, "--client-id", g.public_client_id)
    assert r.code == 0, r.err
    assert "enter the code" in r.out and "Signed in as" in r.out
    assert "31 links were carried over to Graph's ids" in r.out
    with cli.store() as store:
        carried = {lk.contact_uuid: lk.item_id for lk in store.links_of("ann").values()}

    moved = _sync(cli)
    counts = moved["counts"]
    assert moved["status"] == "ok", moved
    assert counts["outlook_created"] == counts["outlook_recreated"] == counts["outlook_deleted"] == 0
    assert counts["master_created"] == counts["conflicts"] == counts["unlinked"] == 0
    assert counts["master_updated"] == 1  # the Outlook edit made between the last EWS sync and the move
    with cli.store() as store:
        graph_links = {lk.contact_uuid: lk.item_id for lk in store.links_of("ann").values()}
        assert load_profile(store, "ann").transport == "graph"
    assert graph_links == carried and set(graph_links) == set(ews_links)  # the same contacts, under Graph ids
    assert not set(graph_links.values()) & set(ews_links.values())
    assert len(outlook.contacts("Business Central")) == 31

    quiet = _sync(cli)
    assert quiet["requests"] == 1 and sum(quiet["counts"].values()) == 0
    item = next(c for c in outlook.contacts("Business Central") if c.get("email1") == "p3@example.com")
    outlook.edit_contact(item["id"], {"business_fax": "+47 999"})
    assert _sync(cli)["counts"]["master_updated"] == 1
    with cli.store() as store:
        assert any(c.get("fax") == "+47 999" for c in store.contacts_raw())
        assert [c.get("job_title") for c in store.contacts_raw() if c.get("email") == "p7@example.com"] == [
            "Edited before the move"]
