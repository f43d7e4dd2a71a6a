"""``status.json``: what ``bcsync status`` shows, kept beside the store so that status need not load
the contacts, and never trusted once the store files changed under it."""

from __future__ import annotations

import json
import stat

import pytest

from bcsync_tui.cli.status_facts import facts_of
from bcsync_tui.core.status_file import read_facts, status_path, write_facts


@pytest.fixture
def ann(cli):
    assert cli("setup", "--email", "ann@example.com", "--server", "https://mail.example.com/EWS/Exchange.asmx").code == 0
    for first, city in (("Ann", "Oslo"), ("Bob", "Bergen"), ("Cleo", "Oslo")):
        assert cli("contacts", "add", "--first-name", first, "--email", f"{first.lower()}@example.com",
                   "--city", city).code == 0
    assert cli("filter", "set", "City", "Oslo").code == 0
    return cli


def counts(cli) -> dict:
    r = cli("status", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["profiles"][0]["contacts"]


def test_a_command_that_wrote_the_store_leaves_a_current_private_status_file(ann):
    path = status_path(ann.store_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    facts = read_facts(ann.store_file)
    assert facts is not None and facts.master == 3 and facts.names() == ["ann"]
    assert facts.profile("ann").selected == 2
    assert "state" not in facts.profile("ann").doc  # the engine's state is not status's business


def test_status_reads_the_status_file_when_it_is_current(ann):
    path = status_path(ann.store_file)
    doc = json.loads(path.read_bytes())
    doc["master"] = 4321  # the store files are as they were: status believes the file
    path.write_text(json.dumps(doc))
    assert counts(ann)["master"] == 4321


def test_a_write_after_the_status_file_makes_status_count_again(ann):
    assert counts(ann) == {"master": 3, "selected": 2, "linked": 0, "kept": 0}
    with ann.store() as store:  # another process's write, status.json left behind
        store.add_contacts([{"first_name": "Dag", "email": "dag@example.com", "city": "Oslo"}])
    assert read_facts(ann.store_file) is None
    assert counts(ann) == {"master": 4, "selected": 3, "linked": 0, "kept": 0}
    assert read_facts(ann.store_file).master == 4  # and the recount is kept for the next status


def test_a_compaction_or_a_restored_snapshot_is_a_change(ann):
    assert read_facts(ann.store_file) is not None
    with ann.store() as store:
        store.storage.compact()
    assert read_facts(ann.store_file) is None
    assert counts(ann)["master"] == 3


def test_facts_taken_before_another_commit_are_never_current(ann):
    with ann.store() as store:
        sig, facts = facts_of(store)
        store.add_contacts([{"first_name": "Eve", "email": "eve@example.com", "city": "Oslo"}])
    write_facts(ann.store_file, sig, facts)  # a slow writer, late
    assert read_facts(ann.store_file) is None
    assert counts(ann)["master"] == 4


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format":"bcsync-status","version":1}',
                                     b'{"format":"bcsync-status","version":1,"store":[null,null],"master":-1,'
                                     b'"profiles":[]}', b"[]", b'"x"'])
def test_a_damaged_or_foreign_status_file_only_costs_a_full_load(ann, content):
    status_path(ann.store_file).write_bytes(content)
    assert counts(ann) == {"master": 3, "selected": 2, "linked": 0, "kept": 0}
    assert read_facts(ann.store_file) is not None  # rewritten whole


def test_status_of_a_home_without_a_store_creates_nothing(cli, home):
    assert cli("status").code == 3
    assert not home.exists()


def test_the_profile_is_found_from_the_status_file_without_naming_it(ann):
    r = ann("status", "--json", profile=None)
    assert r.code == 0 and json.loads(r.out)["profiles"][0]["profile"] == "ann"


def test_a_store_status_cannot_count_does_not_fail_the_command_that_ended(ann):
    with ann.store() as store, store.transaction():
        store.links.insert({"profile": "ann", "item_id": "AAMk1"})  # hand-edited: no contact
    r = ann("contacts", "list")
    assert r.code == 0 and "Ann" in r.out
