"""Fault scenarios of RELIABILITY.md (EVENTUAL): crashes, unknown outcomes, per-item failures,
conflicts between read and write, edits during a run. The in-memory transport injects them."""

from __future__ import annotations

import pytest

from bcsync_tui.core.store import Store
from bcsync_tui.core.sync import events as ev
from bcsync_tui.core.sync.memory import SimulatedCrash

from .backends import blank_fields
from .invariants import check_all


@pytest.fixture
def mem_world(world):
    if world.backend.name != "memory":
        pytest.skip("fault injection by the in-memory transport")
    return world


def restart(world):
    """The process died: a new one opens the store from disk."""
    world.store.close()
    world.store = Store(world.store.path)


def test_crash_after_create_before_link_saved(mem_world):
    w = mem_world
    people = [w.person(f"P{i}", "Test") for i in range(5)]
    w.backend.arm("CreateItem", "crash_after")
    with pytest.raises(SimulatedCrash):
        w.sync()
    restart(w)
    assert len(w.backend.items()) == 5 and w.links() == []
    assert len(w.store.journal.raw()) == 5
    run = w.sync()
    assert run.counts.outlook_created == 0, "recreated instead of relinking by stamp"
    assert {lk["contact_uuid"] for lk in w.links()} == {p["uuid"] for p in people}
    assert not w.store.journal.raw()
    check_all(w)


def test_server_stores_item_then_times_out(mem_world):
    w = mem_world
    a = w.person("Ann", "Lee")
    w.backend.arm("CreateItem", "unknown")
    run = w.sync()
    assert run.exit_code == ev.EXIT_ITEM_ERRORS and run.counts.errors == 1
    assert len(w.backend.items()) == 1  # stored on the server, unknown to us
    run = w.sync()
    assert run.counts.outlook_created == 0 and run.status.value == "ok"
    w.item_of(a["uuid"])
    check_all(w)


def test_crash_after_import_before_stamping_outlook(mem_world):
    w = mem_world
    item = w.backend.user_create(blank_fields(name="Kari N", first_name="Kari", surname="N", email="kari@example.com"))
    w.backend.arm("UpdateItem", "crash_before")
    with pytest.raises(SimulatedCrash):
        w.sync()
    restart(w)
    assert len(w.store.contacts_raw()) == 1
    w.sync()
    w.sync(mode="full")
    contacts = w.store.contacts_raw()
    assert len(contacts) == 1
    assert w.item_of(contacts[0]["uuid"]).item_id == item
    check_all(w)


def test_crash_after_applying_changes_before_saving_sync_state(mem_world):
    w = mem_world
    a = w.person("Ann", "Lee")
    w.sync()
    w.backend.user_update(w.item_of(a["uuid"]).item_id, city="Oslo")
    w.store.update_contact(a["uuid"], {"job_title": "CEO"})
    w.backend.arm("SyncFolderItems", "pass")
    w.backend.arm("SyncFolderItems", "crash_before")  # the drain after our writes
    with pytest.raises(SimulatedCrash):
        w.sync()
    restart(w)
    run = w.sync()
    assert run.status.value == "ok"
    c = w.contact(a["uuid"])
    assert c["city"] == "Oslo" and c["job_title"] == "CEO"
    assert c["revision"] == w.links()[0]["synced_revision"]
    check_all(w)
    assert sum(w.sync().counts.to_doc().values()) == 0


def test_batch_of_50_with_two_data_errors_and_one_busy_item(mem_world):
    w = mem_world
    people = [w.person(f"P{i:02d}", "Test") for i in range(50)]
    w.backend.mb.item_faults = {people[3]["email"]: "ErrorItemSave", people[17]["email"]: "ErrorInvalidPropertyValue",
                                people[30]["email"]: "ErrorServerBusy"}
    run = w.sync()
    assert run.counts.outlook_created == 47 and run.counts.errors == 3
    assert run.exit_code == ev.EXIT_ITEM_ERRORS and run.status.value == "partial"
    assert {e.ref for e in run.errors} == {people[i]["no"] for i in (3, 17, 30)}
    w.backend.mb.item_faults = {}
    run = w.sync()
    assert run.counts.outlook_created == 3 and run.status.value == "ok"
    check_all(w)


def test_conflict_error_on_update_rereads_and_remerges(mem_world):
    w = mem_world
    a = w.person("Ann", "Lee", city="Bergen")
    w.sync()
    w.store.update_contact(a["uuid"], {"job_title": "CFO"})
    w.backend.arm("UpdateItem", "user_edit")  # the user changes the city between our read and write
    run = w.sync()
    assert run.status.value == "ok", run
    item = w.item_of(a["uuid"])
    assert item.fields["job_title"] == "CFO" and item.fields["city"] == "Edited meanwhile"
    assert w.contact(a["uuid"])["city"] == "Edited meanwhile"
    check_all(w)


def test_tui_edit_during_sync_is_picked_up_next_sync(mem_world):
    w = mem_world
    people = [w.person(f"P{i}", "Test") for i in range(3)]
    w.sync()
    for p in people:
        w.store.update_contact(p["uuid"], {"job_title": "Buyer"})
    edited = []

    def edit_midway(progress):
        if progress.phase == "updating Outlook" and not edited:
            edited.append(w.store.update_contact(people[0]["uuid"], {"city": "Edited during sync"}))

    w.sync(on_progress=edit_midway)
    assert edited
    w.sync()
    assert w.item_of(people[0]["uuid"]).fields["city"] == "Edited during sync"
    check_all(w)
