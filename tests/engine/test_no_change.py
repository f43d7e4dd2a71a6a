"""A sync with nothing to do costs O(changes), not O(contacts): when Outlook reports no change and
the store's contacts revision and the plan's settings are those of the last clean run, the engine
neither reads the master nor plans. Anything that could change the plan makes it plan in full again.

The proof is an edit made behind the revision counter's back (straight into the contacts table,
with the contact's own revision bumped as the store would): a run that reads the master pushes
it to Outlook, a run that skipped it does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bcsync_tui.core.profiles import update_state
from bcsync_tui.core.store import Store

from .backends import FOLDER, MemoryBackend, World
from .invariants import check_all


@pytest.fixture
def mem(tmp_path):
    with World(tmp_path, MemoryBackend(tmp_path)) as w:
        yield w


def _edit_behind_the_counter(world: World, uuid: str, **changes: str) -> None:
    doc_id = next(i for i, d in world.store.contacts.raw().items() if d["uuid"] == uuid)
    revision = int(world.store.contacts.raw()[doc_id]["revision"]) + 1
    with world.store.transaction():
        world.store.contacts.update({**changes, "revision": revision}, doc_ids=[int(doc_id)])


def _settled(world: World) -> tuple[dict, dict]:
    a = world.person("Ann", "Lee", city="Oslo")
    b = world.person("Bo", "Berg", city="Bergen")
    assert world.sync().status.value == "ok"
    return a, b


def test_a_no_change_sync_does_not_read_the_master(world):
    a, _ = _settled(world)
    revision = world.store.contacts_revision
    _edit_behind_the_counter(world, a["uuid"], job_title="Unseen")
    assert world.store.contacts_revision == revision
    writes = world.backend.writes
    run = world.sync()
    assert run.status.value == "ok" and sum(run.counts.to_doc().values()) == 0
    assert world.backend.writes == writes
    assert world.item_of(a["uuid"]).fields["job_title"] == ""  # the master was not read
    run = world.sync(mode="full")  # a full sync always reads and plans
    assert run.counts.outlook_updated == 1
    assert world.item_of(a["uuid"]).fields["job_title"] == "Unseen"
    check_all(world)


def test_every_contact_write_bumps_the_revision(mem):
    store = mem.store
    seen = [store.contacts_revision]
    a = mem.person("Ann", "Lee")
    seen.append(store.contacts_revision)
    store.add_contacts([{"first_name": "Bo", "surname": "Berg", "email": "bo@example.com"}])
    seen.append(store.contacts_revision)
    store.update_contact(a["uuid"], {"city": "Oslo"})
    seen.append(store.contacts_revision)
    store.update_contact(a["uuid"], {"city": "Oslo"})  # no real change: no bump
    seen.append(store.contacts_revision)
    store.delete_contact(a["uuid"])
    seen.append(store.contacts_revision)
    store.purge_tombstone(a["uuid"])
    seen.append(store.contacts_revision)
    assert seen == [0, 1, 2, 3, 3, 4, 5]


def _master_edit(w: World, b: dict) -> None:
    w.store.update_contact(b["uuid"], {"phone": "+47 5555"})


def _filter_change(w: World, b: dict) -> None:
    w.set(filter={"city": "Oslo|Bergen"})


def _policy_change(w: World, b: dict) -> None:
    w.set(master_delete_policy="hard_delete" if w.profile().master_delete_policy != "hard_delete"
          else "move_to_deleted_items")


def _outside_filter_setting(w: World, b: dict) -> None:
    w.set(link_outside_filter=not w.profile().link_outside_filter)


def _lost_state(w: World, b: dict) -> None:
    update_state(w.store, w.profile().name, sync_state="")


def _lost_revision(w: World, b: dict) -> None:
    update_state(w.store, w.profile().name, contacts_revision=None)


def _journal_entry(w: World, b: dict) -> None:
    with w.store.transaction():
        w.store.journal_creates(w.profile().name, "an-older-run", [b["uuid"]])


def _link_in_error(w: World, b: dict) -> None:
    doc_id, link = next((i, lk) for i, lk in w.store.links_of(w.profile().name).items()
                        if lk.contact_uuid == b["uuid"])
    with w.store.transaction():
        w.store.save_link(replace(link, error="the server refused it"), doc_id)


def _outlook_edit(w: World, b: dict) -> None:
    w.backend.user_update(w.item_of(b["uuid"]).item_id, job_title="Edited in Outlook")


@pytest.mark.parametrize("change", [_master_edit, _filter_change, _policy_change, _outside_filter_setting,
                                    _lost_state, _lost_revision, _journal_entry, _link_in_error, _outlook_edit])
def test_anything_that_could_change_the_plan_plans_in_full_again(mem, change):
    a, b = _settled(mem)
    assert mem.sync().status.value == "ok"
    _edit_behind_the_counter(mem, a["uuid"], job_title="Unseen")
    assert mem.item_of(a["uuid"]).fields["job_title"] == ""
    change(mem, b)
    run = mem.sync()
    assert run.status.value == "ok", run
    assert mem.item_of(a["uuid"]).fields["job_title"] == "Unseen"  # the master was read and planned
    check_all(mem)


def test_a_run_with_errors_does_not_let_the_next_one_skip(mem):
    a, b = _settled(mem)
    mem.store.update_contact(b["uuid"], {"city": "Tromsø"})
    mem.backend.mb.item_faults = {b["email"]: "ErrorItemSave"}
    run = mem.sync()
    assert run.counts.errors >= 1, run
    mem.backend.mb.item_faults = {}
    assert mem.profile().state["contacts_revision"] is None
    _edit_behind_the_counter(mem, a["uuid"], job_title="Unseen")
    mem.sync()
    assert mem.item_of(a["uuid"]).fields["job_title"] == "Unseen"
    assert mem.item_of(b["uuid"]).fields["city"] == "Tromsø"
    check_all(mem)


def test_a_run_that_wrote_the_master_itself_lets_the_next_one_skip(mem):
    a, _ = _settled(mem)
    mem.backend.user_create({**mem.item_of(a["uuid"]).fields, "email": "new@example.com", "first_name": "New",
                             "surname": "Person", "name": "New Person"}, FOLDER)
    before = mem.store.contacts_revision
    run = mem.sync()
    assert run.counts.master_created == 1 and mem.store.contacts_revision > before
    _edit_behind_the_counter(mem, a["uuid"], job_title="Unseen")
    assert sum(mem.sync().counts.to_doc().values()) == 0
    assert mem.item_of(a["uuid"]).fields["job_title"] == ""  # skipped: the run's own writes were planned


def test_a_master_edit_by_another_process_during_the_run_is_planned_next(mem):
    a, b = _settled(mem)
    mem.store.update_contact(b["uuid"], {"city": "Tromsø"})  # this run updates b in Outlook

    def someone_else_edits_a() -> None:
        other = Store(mem.home / "store.json")  # as another bcsync process would
        other.update_contact(a["uuid"], {"city": "Stavanger"})
        other.close()

    mem.backend.between_read_and_write(someone_else_edits_a)
    mem.sync()
    assert mem.item_of(b["uuid"]).fields["city"] == "Tromsø"
    mem.sync()
    assert mem.item_of(a["uuid"]).fields["city"] == "Stavanger"
    check_all(mem)
