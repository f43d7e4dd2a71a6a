"""RELIABILITY.md's scenarios, one named test each, on every backend (memory and loopback EWS)."""

from __future__ import annotations

import pytest

from bcsync_tui.core.sync import events as ev

from .backends import FOLDER, blank_fields
from .invariants import check_all, check_no_dup


def test_first_sync_into_empty_folder(world):
    a = world.person("Ann", "Lee", city="Oslo")
    b = world.person("Bo", "Berg")
    world.add(type="Company", name="Acme AS", email="post@acme.example")  # companies do not sync
    world.person("No", "Mail", email="")  # no e-mail: does not sync
    run = world.sync()
    assert run.status.value == "ok", run
    assert run.counts.outlook_created == 2
    assert {i.stamp for i in world.backend.items()} == {a["uuid"], b["uuid"]}
    assert world.item_of(a["uuid"]).fields["city"] == "Oslo"
    check_all(world)


def test_second_sync_is_idempotent(world):
    world.person("Ann", "Lee")
    world.sync()
    writes = world.backend.writes
    links = world.links()
    contacts = world.store.all_contacts()
    run = world.sync()
    assert run.status.value == "ok"
    assert world.backend.writes == writes, "a sync with no edits wrote to Exchange"
    assert world.links() == links and world.store.all_contacts() == contacts
    assert sum(run.counts.to_doc().values()) == 0


def test_folder_already_holds_same_emails_links_without_creating(world):
    a = world.person("Ann", "Lee", city="Oslo")
    item = world.backend.user_create(blank_fields(name="Ann Lee", first_name="Ann", surname="Lee",
                                                  email="ANN.LEE@example.com ", city="Oslo"))
    run = world.sync()
    assert run.counts.outlook_created == 0
    assert [i.item_id for i in world.backend.items()] == [item]
    assert world.item_of(a["uuid"]).item_id == item
    check_all(world)


def test_same_email_different_data_master_wins_and_conflict_logged(world):
    a = world.person("Ann", "Lee", city="Oslo", job_title="CEO")
    world.backend.user_create(blank_fields(name="Ann Lee", first_name="Ann", surname="Lee",
                                           email="ann.lee@example.com", city="Bergen", phone="+47 1234"))
    run = world.sync()
    item = world.item_of(a["uuid"])
    assert item.fields["city"] == "Oslo"  # master wins
    assert world.contact(a["uuid"])["phone"] == "+47 1234"  # Outlook fills the master's blank
    conflicts = [c for c in world.store.conflicts.raw().values()]
    assert [(c["field"], c["master_value"], c["outlook_value"]) for c in conflicts] == [("city", "Oslo", "Bergen")]
    assert run.counts.conflicts == 1
    check_all(world)


def test_outlook_created_contact_imported_once_and_stays_outside_filter(world):
    world.set(filter={"city": "Oslo"})
    item = world.backend.user_create(blank_fields(first_name="Kari", surname="Nordmann", name="Kari Nordmann",
                                                  email="kari@example.com", city="Tromsø"))
    run = world.sync()
    assert run.counts.master_created == 1
    kari = [c for c in world.store.contacts_raw() if c["email"] == "kari@example.com"]
    assert len(kari) == 1 and kari[0]["type"] == "Person" and kari[0]["no"].startswith("CT")
    stamped = world.item_of(kari[0]["uuid"])
    assert stamped.item_id == item
    world.sync(mode="full")
    world.sync()
    assert len([c for c in world.store.contacts_raw() if c["email"] == "kari@example.com"]) == 1
    assert [i.item_id for i in world.backend.items()] == [item]  # not removed although outside the filter
    check_all(world)


@pytest.mark.parametrize("fields,reason", [
    (dict(name="Nobody", first_name="No", surname="Body"), "no e-mail"),
    (dict(email="who@example.com"), "no name"),
])
def test_outlook_contact_without_email_or_name_skipped_untouched(world, fields, reason):
    item = world.backend.user_create(blank_fields(**fields), notes="keep me")
    before = {i.item_id: i for i in world.backend.items()}[item]
    run = world.sync()
    assert run.counts.master_created == 0
    assert any(reason in s.reason for s in run.skipped), run.skipped
    after = {i.item_id: i for i in world.backend.items()}[item]
    assert after == before
    assert world.store.contacts_raw() == []


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_deleted_in_outlook_is_recreated_once(world, mode):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_delete(world.item_of(a["uuid"]).item_id)
    run = world.sync(mode=mode)
    assert run.counts.outlook_recreated == 1
    world.item_of(a["uuid"])  # exactly one
    run = world.sync(mode=mode)
    assert run.counts.outlook_recreated == 0
    check_all(world)


def test_deleted_in_outlook_and_edited_in_master(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_delete(world.item_of(a["uuid"]).item_id)
    world.store.update_contact(a["uuid"], {"city": "Bergen"})
    world.sync()
    assert world.item_of(a["uuid"]).fields["city"] == "Bergen"
    check_all(world)


@pytest.mark.parametrize("policy,left,in_deleted", [
    ("move_to_deleted_items", 0, True), ("delete", 0, False), ("unlink", 1, False)])
def test_deleted_in_master_each_policy(world, policy, left, in_deleted):
    world.set(master_delete_policy=policy)
    a = world.person("Ann", "Lee")
    world.sync()
    world.store.delete_contact(a["uuid"])
    run = world.sync()
    assert len(world.backend.items()) == left
    assert len(world.backend.items("Deleted Items")) == (1 if in_deleted else 0)
    assert world.links() == []
    assert world.store.get_contact(a["uuid"], include_deleted=True)["deleted"]
    assert run.counts.to_doc()["outlook_deleted" if policy != "unlink" else "unlinked"] == 1
    world.sync(mode="full")
    assert len(world.backend.items()) == left  # the delete is not undone by a full sync
    check_no_dup(world)


@pytest.mark.parametrize("policy", ["remove", "unlink"])
def test_leaves_filter_and_comes_back_without_duplicate(world, policy):
    world.set(leave_filter_policy=policy)
    a = world.person("Ann", "Lee", city="Oslo")
    world.set(filter={"city": "Oslo"})
    world.sync()
    world.store.update_contact(a["uuid"], {"city": "Bergen"})
    world.sync()
    assert len(world.backend.items()) == (0 if policy == "remove" else 1)
    world.store.update_contact(a["uuid"], {"city": "Oslo"})
    world.sync()
    world.item_of(a["uuid"])
    assert len([i for i in world.backend.items() if i.stamp == a["uuid"]]) == 1
    check_all(world)


def test_email_changed_in_master_updates_same_item(world):
    a = world.person("Ann", "Lee")
    world.sync()
    item_id = world.item_of(a["uuid"]).item_id
    world.store.update_contact(a["uuid"], {"email": "ann@new.example"})
    world.sync()
    assert world.item_of(a["uuid"]).item_id == item_id
    assert world.item_of(a["uuid"]).fields["email"] == "ann@new.example"
    check_all(world)


def test_email_changed_in_outlook_reaches_master(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_update(world.item_of(a["uuid"]).item_id, email="ann@outlook.example")
    world.sync()
    assert world.contact(a["uuid"])["email"] == "ann@outlook.example"
    assert len(world.store.contacts_raw()) == 1
    check_all(world)


def test_same_field_edited_on_both_sides_master_wins(world):
    a = world.person("Ann", "Lee", city="Oslo")
    world.sync()
    world.backend.user_update(world.item_of(a["uuid"]).item_id, city="Tromsø")
    world.store.update_contact(a["uuid"], {"city": "Bergen"})
    run = world.sync()
    assert world.item_of(a["uuid"]).fields["city"] == "Bergen"
    assert world.contact(a["uuid"])["city"] == "Bergen"
    conflicts = list(world.store.conflicts.raw().values())
    assert [(c["field"], c["master_value"], c["outlook_value"]) for c in conflicts] == [("city", "Bergen", "Tromsø")]
    assert run.counts.conflicts == 1
    check_all(world)


def test_different_fields_edited_on_both_sides_both_survive(world):
    a = world.person("Ann", "Lee", city="Oslo")
    world.sync()
    world.backend.user_update(world.item_of(a["uuid"]).item_id, phone="+47 555")
    world.store.update_contact(a["uuid"], {"city": "Bergen"})
    world.sync()
    assert world.contact(a["uuid"])["phone"] == "+47 555"
    assert world.item_of(a["uuid"]).fields["city"] == "Bergen"
    assert not world.store.conflicts.raw()
    check_all(world)


def test_unmapped_outlook_field_survives_master_change(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_update(world.item_of(a["uuid"]).item_id, notes="met at the fair")
    world.store.update_contact(a["uuid"], {"job_title": "CTO"})
    world.sync()
    item = world.item_of(a["uuid"])
    assert item.fields["job_title"] == "CTO" and item.extra.get("notes") == "met at the fair"
    check_all(world)


def test_contact_moved_to_another_outlook_folder_is_recreated(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_move_out(world.item_of(a["uuid"]).item_id)
    run = world.sync()
    assert run.counts.outlook_recreated == 1
    world.item_of(a["uuid"])
    check_all(world)


def test_contact_copied_in_outlook_copy_reported_untouched(world):
    a = world.person("Ann", "Lee")
    world.sync()
    original = world.item_of(a["uuid"]).item_id
    copy = world.backend.user_copy(original)
    run = world.sync()
    assert any("copy" in s.reason for s in run.skipped)
    assert [lk["item_id"] for lk in world.links()] == [original]
    assert {i.item_id for i in world.backend.items()} == {original, copy}
    assert len(world.store.contacts_raw()) == 1
    check_no_dup(world)


def test_item_replaced_by_its_copy_is_relinked_not_unlinked(world):
    """The user copies the item and deletes the original: the copy carries the contact's stamp, so the
    link moves to it. The run says "relinked", not "unlinked", and creates nothing."""
    a = world.person("Ann", "Lee")
    world.sync()
    original = world.item_of(a["uuid"]).item_id
    copy = world.backend.user_copy(original)
    world.backend.user_delete(original)
    dry = world.sync(dry_run=True)
    assert [(r.action, r.name) for r in dry.plan] == [("relink", "Ann Lee")]
    run = world.sync()
    assert run.counts.relinked == 1 and run.counts.unlinked == 0
    assert run.counts.outlook_created == run.counts.outlook_recreated == 0
    assert [lk["item_id"] for lk in world.links()] == [copy]
    check_all(world)


def test_two_unlinked_outlook_items_with_one_master_email(world):
    a = world.person("Ann", "Lee")
    first = world.backend.user_create(blank_fields(name="Ann Lee", email="ann.lee@example.com"))
    world.backend.user_create(blank_fields(name="Ann L.", email="ann.lee@example.com"))
    run = world.sync()
    assert [lk["item_id"] for lk in world.links()] == [first] or len(world.links()) == 1
    assert world.links()[0]["contact_uuid"] == a["uuid"]
    assert len(world.store.contacts_raw()) == 1
    assert run.counts.skipped == 1
    check_all(world)


def test_two_master_contacts_with_one_email(world):
    a = world.person("Ann", "Lee", email="shared@example.com")
    b = world.person("Anne", "Lee", email="shared@example.com")
    world.sync()
    world.sync(mode="full")
    assert world.item_of(a["uuid"]) and world.item_of(b["uuid"])
    assert len(world.backend.items()) == 2
    check_all(world)


def test_field_longer_than_master_truncated_once_no_ping_pong(world):
    a = world.person("Ann", "Lee")
    world.sync()
    long_title = "Senior Vice President of Global Partnerships"  # > 30
    world.backend.user_update(world.item_of(a["uuid"]).item_id, job_title=long_title)
    run = world.sync()
    assert world.contact(a["uuid"])["job_title"] == long_title[:30]
    assert any("truncated" in w for w in run.warnings)
    writes = world.backend.writes
    revision = world.contact(a["uuid"])["revision"]
    for mode in ("incremental", "full"):
        run = world.sync(mode=mode)
        assert run.counts.outlook_updated == 0 and run.counts.master_updated == 0
    assert world.backend.writes == writes and world.contact(a["uuid"])["revision"] == revision
    assert world.item_of(a["uuid"]).fields["job_title"] == long_title  # Outlook keeps its full value


def test_unicode_emoji_and_line_breaks_in_every_field(world):
    a = world.person("Zoë", "Ødegård", city="Zürich 🏔", address="Øvre gate 1\nBak-gården",
                     company_name="Café «Ñ» & Co 😀", job_title="Chef 👩‍🍳")
    world.sync()
    item = world.item_of(a["uuid"])
    assert item.fields["surname"] == "Ødegård" and item.fields["city"] == "Zürich 🏔"
    assert world.sync().counts.outlook_updated == 0
    check_all(world)


def test_folder_emptied_by_user_trips_guard(world):
    for i in range(8):
        world.person(f"P{i}", "Test")
    world.sync()
    for item in world.backend.items():
        world.backend.user_delete(item.item_id)
    writes = world.backend.writes
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and run.status.value == "aborted"
    assert world.backend.writes == writes
    run = world.sync(force=True)
    assert run.counts.outlook_recreated == 8
    check_all(world)


def test_empty_store_file_trips_guard(world, tmp_path):
    world.person("Ann", "Lee")
    world.sync()
    items_before = world.backend.items()
    path = world.store.path
    world.store.close()
    path.write_bytes(b"")
    world.store.storage.wal_path.unlink(missing_ok=True)
    from bcsync_tui.core.profiles import save_profile, Profile
    from bcsync_tui.core.store import Store
    world.store = Store(path)
    save_profile(world.store, Profile(name="ann", email="ann@example.com", server_url="http://x"))
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD
    assert world.backend.items() == items_before


def test_folder_deleted_and_recreated_same_name_trips_guard(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.delete_folder()
    world.backend.user_create(blank_fields(name="Someone", email="someone@example.com"))
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and "folder" in run.message
    run = world.sync(force=True)
    assert run.status.value == "ok"
    world.item_of(a["uuid"])
    check_all(world)


def test_sync_folder_deleted_in_outlook_guard_then_force_recreates_it(world):
    """Issue 10 §2: the folder is gone (Exchange: ErrorSyncFolderNotFound). The guard stops the run
    without a write and says what --force does; --force makes the folder again, each contact once."""
    people = [world.person(f"P{i}", "Gone") for i in range(3)]
    world.sync()
    world.backend.delete_folder()
    writes = world.backend.writes
    for _ in range(2):  # not a one-off: every run says the same until the user decides
        run = world.sync()
        assert run.exit_code == ev.EXIT_GUARD and run.status.value == "aborted", run
        assert "--force" in run.message and "create" in run.message and "each once" in run.message
        assert world.backend.writes == writes and world.backend.folder_count() == 0
    run = world.sync(force=True)
    assert run.status.value == "ok", run
    assert run.counts.outlook_recreated + run.counts.outlook_created == 3
    assert world.backend.folder_count() == 1
    assert sorted(i.stamp for i in world.backend.items()) == sorted(p["uuid"] for p in people)
    writes = world.backend.writes
    assert world.sync().status.value == "ok" and world.backend.writes == writes
    check_all(world)


def test_sync_folder_deleted_with_the_delete_key_counts_as_deleted(world):
    """Outlook's Delete key moves the folder into Deleted Items and it keeps its id: found by that id it
    is still not synced into (it counts as deleted): the guard stops, --force makes the folder again."""
    people = [world.person(f"P{i}", "Trash") for i in range(3)]
    world.sync()
    world.backend.user_delete_folder_to_trash()
    world.person("New", "Later")  # something to write: it must not land in Deleted Items
    writes = world.backend.writes
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and run.status.value == "aborted", run
    assert "is gone" in run.message and "--force" in run.message and "create" in run.message
    assert world.backend.writes == writes
    run = world.sync(force=True)
    assert run.status.value == "ok", run
    assert run.counts.outlook_recreated + run.counts.outlook_created == 4
    assert world.backend.folder_count() == 2  # the new one under Contacts, the old one in Deleted Items
    links = world.links()
    assert len(links) == 4 and {p["uuid"] for p in people} <= {lk["contact_uuid"] for lk in links}
    writes = world.backend.writes
    assert world.sync().status.value == "ok" and world.backend.writes == writes
    check_all(world)


def test_sync_folder_recreated_in_outlook_trips_identity_guard_then_force_syncs_into_it(world):
    people = [world.person(f"P{i}", "Again") for i in range(3)]
    world.sync()
    world.backend.recreate_folder()  # deleted and made again: same name, new identity
    kept = world.backend.user_create(blank_fields(name="P0 Again", first_name="P0", surname="Again",
                                                  email=people[0]["email"]))  # the user put one back by hand
    writes = world.backend.writes
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and "not the one this profile synced before" in run.message
    assert "--force" in run.message and "each once" in run.message
    assert world.backend.writes == writes
    run = world.sync(force=True)
    assert run.status.value == "ok", run
    assert world.item_of(people[0]["uuid"]).item_id == kept  # linked by e-mail, not created twice
    assert sorted(i.stamp for i in world.backend.items()) == sorted(p["uuid"] for p in people)
    again = world.sync()
    assert again.status.value == "ok" and sum(again.counts.to_doc().values()) == 0
    check_all(world)


def test_sync_folder_moved_elsewhere_in_outlook_is_found_by_id(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.move_folder(to="inbox")
    b = world.person("Bo", "Berg")
    world.backend.user_update(world.item_of(a["uuid"]).item_id, job_title="Moved along")
    run = world.sync()
    assert run.status.value == "ok", run
    assert world.backend.folder_count() == 1, "the folder was made again instead of followed"
    assert world.contact(a["uuid"])["job_title"] == "Moved along"
    world.item_of(b["uuid"])
    check_all(world)


def test_link_table_lost_relinks_by_stamp(world):
    people = [world.person(f"P{i}", "Test") for i in range(3)]
    world.sync()
    ids = {i.item_id for i in world.backend.items()}
    with world.store.transaction():
        world.store.links.truncate()
    run = world.sync()
    assert run.counts.outlook_created == 0 and run.counts.outlook_deleted == 0
    assert {i.item_id for i in world.backend.items()} == ids
    assert {lk["contact_uuid"] for lk in world.links()} == {p["uuid"] for p in people}
    check_all(world)


def test_expired_sync_state_falls_back_to_full_reconcile(world):
    a = world.person("Ann", "Lee")
    world.sync()
    world.backend.user_update(world.item_of(a["uuid"]).item_id, city="Oslo")
    world.backend.expire_sync_states()
    run = world.sync()
    assert run.token_resets == 1 and run.status.value == "ok"
    assert world.contact(a["uuid"])["city"] == "Oslo"
    check_all(world)


def test_filter_changed_between_runs(world):
    a = world.person("Ann", "Lee", city="Oslo")
    b = world.person("Bo", "Berg", city="Bergen")
    world.sync()
    world.set(filter={"city": "Bergen"})
    world.sync()
    assert {i.stamp for i in world.backend.items()} == {b["uuid"]}
    world.set(filter={})
    world.sync()
    assert {i.stamp for i in world.backend.items()} == {a["uuid"], b["uuid"]}
    check_all(world)


def test_two_profiles_with_different_filters_and_folders(world):
    world.add_profile("bob", folder_name="Bob BC", filter={"city": "Bergen"})
    world.set(filter={"city": "Oslo"})
    a = world.person("Ann", "Lee", city="Oslo")
    b = world.person("Bo", "Berg", city="Bergen")
    world.sync("ann")
    bob_state = world.profile("bob").state
    assert world.links("bob") == [] and bob_state == {}  # ISOLATION
    world.sync("bob")
    assert {i.stamp for i in world.backend.items(FOLDER)} == {a["uuid"]}
    assert {i.stamp for i in world.backend.items("Bob BC")} == {b["uuid"]}
    # An edit arriving from Bob's Outlook reaches the master and from there Ann's folder.
    world.store.update_contact(b["uuid"], {"city": "Oslo"})
    world.sync("ann")
    world.sync("bob")
    assert {i.stamp for i in world.backend.items(FOLDER)} == {a["uuid"], b["uuid"]}
    assert world.backend.items("Bob BC") == []
    check_all(world, "ann")
    check_all(world, "bob")


def test_edit_from_one_profile_reaches_the_other(world):
    world.add_profile("bob", folder_name="Bob BC")
    a = world.person("Ann", "Lee")
    world.sync("ann")
    world.sync("bob")
    world.backend.user_update(world.item_of(a["uuid"], "Bob BC").item_id, job_title="Buyer")
    world.sync("bob")
    world.sync("ann")
    assert world.item_of(a["uuid"], FOLDER).fields["job_title"] == "Buyer"
    check_all(world, "ann")
    check_all(world, "bob")


def test_dry_run_is_pure_and_matches_next_real_run(world):
    world.person("Ann", "Lee")
    world.backend.user_create(blank_fields(name="Kari N", first_name="Kari", surname="N", email="kari@example.com"))
    store_bytes = world.store.path.read_bytes() if world.store.path.exists() else b""
    wal = world.store.storage.wal_path
    wal_bytes = wal.read_bytes() if wal.exists() else b""
    writes = world.backend.writes
    dry = world.sync(dry_run=True)
    assert world.backend.writes == writes
    assert (world.store.path.read_bytes() if world.store.path.exists() else b"") == store_bytes
    assert (wal.read_bytes() if wal.exists() else b"") == wal_bytes
    real = world.sync()
    for key in ("outlook_created", "master_created", "outlook_updated", "outlook_deleted"):
        assert dry.counts.to_doc()[key] == real.counts.to_doc()[key], key
    assert {(r.action, r.side) for r in dry.plan} >= {("create", "outlook"), ("create", "master")}


def test_store_locked_by_another_sync(world):
    world.person("Ann", "Lee")
    lock = world.store.sync_lock()
    lock.acquire(timeout=0)
    try:
        with pytest.raises(ev.StoreLocked, match="in use by PID"):
            world.sync()
    finally:
        lock.release()
    assert world.sync().status.value == "ok"


def test_too_many_deletes_trip_guard(world):
    world.set(max_deletes=3, max_delete_fraction=0.1)
    people = [world.person(f"P{i}", "Test", city="Oslo") for i in range(6)]
    world.sync()
    world.set(filter={"city": "Bergen"})  # every contact leaves the filter: 6 removals planned
    writes = world.backend.writes
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and "remove 6" in run.message
    assert world.backend.writes == writes and len(world.links()) == 6
    run = world.sync(force=True)
    assert run.counts.outlook_deleted == 6 and world.backend.items() == []
    assert {c["uuid"] for c in world.store.contacts_raw()} == {p["uuid"] for p in people}  # NO-LOSS-MASTER


@pytest.mark.parametrize("skew_hours", [-7, 5, 30 * 24])
def test_master_and_server_clocks_skewed(world, monkeypatch, skew_hours):
    """Change detection never compares clocks: edits made under a clock hours (or a DST change)
    away from the server's are still seen, and nothing is seen twice."""
    from datetime import UTC, datetime, timedelta

    from bcsync_tui.core import model

    a = world.person("Ann", "Lee")
    world.sync()
    skewed = (datetime.now(UTC) + timedelta(hours=skew_hours)).isoformat()
    monkeypatch.setattr(model, "utc_now", lambda: skewed)
    world.store.update_contact(a["uuid"], {"city": "Oslo"})
    world.backend.user_update(world.item_of(a["uuid"]).item_id, phone="+47 1")
    world.sync()
    assert world.item_of(a["uuid"]).fields["city"] == "Oslo" and world.contact(a["uuid"])["phone"] == "+47 1"
    assert sum(world.sync().counts.to_doc().values()) == 0


def test_two_syncs_at_once_one_runs_other_exits_locked(world):
    import threading
    import time

    from bcsync_tui.core.store import Store
    from bcsync_tui.core.sync.runner import sync_blocking

    for i in range(30):
        world.person(f"P{i}", "Test")
    results, barrier = [], threading.Barrier(2)

    def slow_factory(profile):
        transport = world.backend.factory(profile)
        connect = transport.connect

        def slow_connect():  # hold the run open until the other sync has tried to start
            time.sleep(0.5)
            connect()
        transport.connect = slow_connect
        return transport

    def one_sync():
        store = Store(world.store.path)
        barrier.wait()
        try:
            results.append(sync_blocking(store, "ann", transport_factory=slow_factory).status.value)
        except ev.StoreLocked as exc:
            results.append(f"locked: {exc}")
        finally:
            store.close()

    threads = [threading.Thread(target=one_sync) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    world.store.storage.refresh()
    assert sorted(r.split(":")[0] for r in results) == ["locked", "ok"], results
    assert "in use by PID" in next(r for r in results if r.startswith("locked"))
    check_all(world)


def test_run_record_shape_and_history(world):
    from bcsync_tui.core.history import list_runs

    world.person("Ann", "Lee")
    run = world.sync(mode="full")
    assert set(run.to_doc()) >= {"id", "profile", "mode", "dry_run", "started_at", "ended_at", "status", "exit_code",
                        "message", "counts", "skipped", "errors", "plan", "throttle_waits", "throttle_seconds",
                        "token_resets", "requests"}
    assert run.mode == "full" and run.requests >= 1 and run.ended_at >= run.started_at
    assert list_runs(world.store)[0] == run.to_doc()  # the history keeps the record's documented shape
    assert world.sync(dry_run=True).id not in {r["id"] for r in list_runs(world.store)}


def test_outlook_edits_during_a_multi_batch_run_are_kept(world):
    """Issue 10 §1: the Outlook user edits Job Titles while a sync writes those items, batch after
    batch. An edit only Outlook made ends on both sides with no conflict; a field both sides
    changed follows master-wins with the Outlook value logged."""
    people = [world.person(f"P{i:02d}", "Edit") for i in range(24)]
    world.sync()
    items = {p["uuid"]: world.item_of(p["uuid"]).item_id for p in people}
    for p in people:  # every item needs a write: a new title, and a display name the master puts back
        world.backend.user_update(items[p["uuid"]], job_title="Before", name=f"Renamed {p['no']}")
    both = people[:4]
    for p in both:  # these also change their phone in the master: both sides change that field
        world.store.update_contact(p["uuid"], {"phone": "+47 111"})
    queue = [p["uuid"] for p in people]
    newest: dict[str, str] = {}

    def outlook_user_edits():  # before each write request: the next eight items get a new title
        n = len(newest)
        for uuid in queue[n:n + 8]:
            newest[uuid] = f"Edited {n // 8}"
            changes = {"job_title": newest[uuid]}
            if any(p["uuid"] == uuid for p in both):
                changes["phone"] = "+47 999"
            world.backend.user_update(items[uuid], **changes)

    world.backend.between_read_and_write(outlook_user_edits, count=None)
    run = world.sync(batch=8)
    assert run.status.value == "ok", run
    assert len(newest) == len(people), "the edits did not reach every batch"
    world.sync()  # edits that landed after their item was written come in now
    for p in people:
        assert world.contact(p["uuid"])["job_title"] == newest[p["uuid"]]
        assert world.item_of(p["uuid"]).fields["job_title"] == newest[p["uuid"]]
        assert world.item_of(p["uuid"]).fields["name"] == world.contact(p["uuid"])["name"]
    for p in both:
        assert world.contact(p["uuid"])["phone"] == "+47 111"
        assert world.item_of(p["uuid"]).fields["phone"] == "+47 111"
    conflicts = sorted((c["contact_uuid"], c["field"], c["master_value"], c["outlook_value"])
                       for c in world.store.conflicts.raw().values())
    assert conflicts == sorted((p["uuid"], "phone", "+47 111", "+47 999") for p in both)
    check_all(world)


def test_email_case_is_not_a_change_nor_a_conflict(world):
    """Issue 10 §3: e-mail addresses compare without case in matching, merge, conflicts and change
    detection; the master keeps its spelling."""
    a = world.person("Carmen", "Lecki", email="carmen.lecki@example.com", job_title="CEO")
    item = world.backend.user_create(blank_fields(name="Carmen Lecki", first_name="Carmen", surname="Lecki",
                                                  email="CARMEN.LECKI@EXAMPLE.COM", job_title="CTO"))
    run = world.sync()  # a first link by e-mail: the job title conflicts, the address does not
    assert world.item_of(a["uuid"]).item_id == item and run.counts.outlook_created == 0
    conflicts = [(c["field"], c["outlook_value"]) for c in world.store.conflicts.raw().values()]
    assert conflicts == [("job_title", "CTO")]
    assert world.contact(a["uuid"])["email"] == "carmen.lecki@example.com"
    world.backend.user_update(item, email="Carmen.Lecki@Example.com")  # only the case changes in Outlook
    writes, revision = world.backend.writes, world.contact(a["uuid"])["revision"]
    run = world.sync()
    assert run.status.value == "ok" and run.counts.conflicts == 0 and run.counts.master_updated == 0
    assert world.backend.writes == writes and world.contact(a["uuid"])["revision"] == revision
    assert world.contact(a["uuid"])["email"] == "carmen.lecki@example.com"
    world.store.update_contact(a["uuid"], {"email": "CARMEN.lecki@example.com"})  # and in the master
    world.backend.user_update(item, email="carmen.LECKI@example.com")
    run = world.sync()
    assert run.counts.conflicts == 0 and run.counts.outlook_updated == 0
    assert world.contact(a["uuid"])["email"] == "CARMEN.lecki@example.com"
    assert world.item_of(a["uuid"]).fields["email"] == "carmen.LECKI@example.com"
    check_all(world)


def test_a_no_change_sync_sends_one_request(world):
    """Issue 10 §5: the run record's ``requests`` counts what went on the wire. A sync with nothing
    to do asks where the folder is (by its id: still there, or moved into Deleted Items) and for its
    changes, and nothing else (the server version is remembered). Graph asks both in one $batch."""
    world.person("Ann", "Lee")
    world.sync()
    world.sync()  # the first run after a write confirms its own writes; from here nothing changes
    run = world.sync()
    assert run.status.value == "ok" and sum(run.counts.to_doc().values()) == 0
    assert run.requests == (1 if world.backend.name == "graph" else 2), run.requests


def test_dry_run_rows_and_counts_agree(world):
    """Every preview row is counted in the summary and every count has its rows: a first link that
    only needs the stamp is neither; every row names its contact."""
    people = [world.person(f"P{i}", "Row", city="Oslo") for i in range(4)]
    world.backend.user_create(blank_fields(name="P0 Row", first_name="P0", surname="Row", email=people[0]["email"],
                                           city="Oslo"))  # links by e-mail, needs only the stamp
    world.backend.user_create(blank_fields(name="P1 Row", first_name="P1", surname="Row", email=people[1]["email"],
                                           city="Bergen"))  # links by e-mail; the master's city wins
    world.backend.user_create(blank_fields(name="Kari N", first_name="Kari", surname="N", email="kari@example.com"))
    dry = world.sync(dry_run=True)
    rows = dry.plan
    assert all(r.ref and r.name for r in rows), rows
    by_kind = {}
    for r in rows:
        key = {("create", "outlook"): "outlook_created", ("recreate", "outlook"): "outlook_recreated",
               ("update", "outlook"): "outlook_updated", ("delete", "outlook"): "outlook_deleted",
               ("create", "master"): "master_created", ("update", "master"): "master_updated",
               ("unlink", "link"): "unlinked", ("relink", "link"): "relinked", ("conflict", "master"): "conflicts"}[(r.action, r.side)]
        by_kind[key] = by_kind.get(key, 0) + 1
    assert by_kind == {k: v for k, v in dry.counts.to_doc().items() if v and k != "skipped"}, (by_kind, dry.counts.to_doc())
    assert by_kind == {"outlook_created": 2, "outlook_updated": 1, "master_created": 1, "conflicts": 1}
    real = world.sync()
    assert {k: v for k, v in real.counts.to_doc().items() if v} == {k: v for k, v in dry.counts.to_doc().items() if v}
