"""East Asian names across the sync (issue 15): the master composes 张伟 family name first, Outlook may
hold the same parts composed given name first ("伟 张"); after one sync both sides agree and the next
sync changes nothing, on every backend (memory, the loopback EWS server, the Graph server)."""

from __future__ import annotations

from .backends import blank_fields
from .invariants import check_all


def _second_sync_changes_nothing(world) -> None:
    writes, links, contacts = world.backend.writes, world.links(), world.store.all_contacts()
    items = {i.item_id: i.fields for i in world.backend.items()}
    run = world.sync()
    assert run.status.value == "ok", run
    assert sum(run.counts.to_doc().values()) == 0, run.counts.to_doc()
    assert world.backend.writes == writes, "a sync with no edits wrote to Outlook"
    assert world.links() == links and world.store.all_contacts() == contacts
    assert {i.item_id: i.fields for i in world.backend.items()} == items


def test_master_contact_with_a_chinese_name_reaches_outlook_family_name_first_and_stays(world):
    zhang = world.person("伟", "张", email="zhang.wei@example.cn")
    kang = world.person("유미", "강", email="kang@example.kr")
    assert (zhang["name"], kang["name"]) == ("张伟", "강유미")
    run = world.sync()
    assert run.counts.outlook_created == 2
    item = world.item_of(zhang["uuid"])
    assert (item.fields["name"], item.fields["first_name"], item.fields["surname"]) == ("张伟", "伟", "张")
    assert world.item_of(kang["uuid"]).fields["name"] == "강유미"
    check_all(world)
    _second_sync_changes_nothing(world)


def test_outlook_contact_composed_given_name_first_is_imported_family_name_first_once(world):
    item_id = world.backend.user_create(blank_fields(name="伟 张", first_name="伟", surname="张",
                                                     email="zhang.wei@example.cn"))
    run = world.sync()
    assert run.counts.master_created == 1
    [contact] = world.store.all_contacts()
    assert (contact["name"], contact["first_name"], contact["surname"]) == ("张伟", "伟", "张")
    assert world.item_of(contact["uuid"]).item_id == item_id
    assert world.item_of(contact["uuid"]).fields["name"] == "张伟"  # Outlook shows the master's Name
    check_all(world)
    _second_sync_changes_nothing(world)


def test_first_link_by_email_with_outlooks_composition_settles_in_one_sync(world):
    zhang = world.person("伟", "张", email="zhang.wei@example.cn")
    item_id = world.backend.user_create(blank_fields(name="伟 张", first_name="伟", surname="张",
                                                     email="zhang.wei@example.cn"))
    run = world.sync()
    assert run.counts.outlook_created == 0
    # a first link: the master's Name wins over Outlook's and the difference is reported, as for any field
    conflicts = [(c["field"], c["master_value"], c["outlook_value"]) for c in world.store.conflicts.raw().values()]
    assert conflicts == [("name", "张伟", "伟 张")]
    assert world.item_of(zhang["uuid"]).item_id == item_id
    assert world.item_of(zhang["uuid"]).fields["name"] == "张伟"
    assert world.contact(zhang["uuid"])["name"] == "张伟"
    check_all(world)
    _second_sync_changes_nothing(world)


def test_outlook_edit_of_the_given_name_recomposed_given_first_comes_back_family_first(world):
    zhang = world.person("伟", "张", email="zhang.wei@example.cn")
    world.sync()
    # Outlook recomposes its Full Name given name first when the user edits the given name
    world.backend.user_update(world.item_of(zhang["uuid"]).item_id, first_name="小伟", name="小伟 张")
    run = world.sync()
    assert run.status.value == "ok" and run.counts.conflicts == 0
    after = world.contact(zhang["uuid"])
    assert (after["first_name"], after["name"]) == ("小伟", "张小伟")
    assert world.item_of(zhang["uuid"]).fields["name"] == "张小伟"
    check_all(world)
    _second_sync_changes_nothing(world)
