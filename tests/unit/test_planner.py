"""The pure planner, driven directly: small builders for contacts, links and Outlook items, and
``build_plan`` on them. No store, no transport."""

from __future__ import annotations

from typing import Any

from bcsync_tui.core import model
from bcsync_tui.core.filters import ContactFilter
from bcsync_tui.core.records import LinkRow, OrphanKind
from bcsync_tui.core.sync.merge import project
from bcsync_tui.core.sync.planner import Plan, PlanInput, UnlinkKind, build_plan
from bcsync_tui.core.sync.transport import RemoteItem

_numbers = iter(range(1, 10_000))


def contact(first: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
    """A master contact as the store holds it (normalised, numbered, revision 1)."""
    c = model.normalise({"first_name": first, "surname": "Test", "type": model.PERSON,
                         "email": f"{first.lower()}@example.com" if email is None else email, **fields})
    c.update(uuid=model.new_uuid(), no=f"CT{next(_numbers):06d}", revision=1)
    return c


def item(c: dict[str, Any] | None = None, stamp: str | None = None, item_id: str | None = None,
         **fields: str) -> RemoteItem:
    """An Outlook item: a copy of ``c``'s fields (or blank ones) with ``fields`` changed."""
    values = project(c) if c else dict.fromkeys(model.SYNCED_KEYS, "")
    values.update(fields)
    return RemoteItem(item_id or f"item-{model.new_uuid()[:8]}", "ck1", stamp, values)


def link(c: dict[str, Any], it: RemoteItem, **overrides: Any) -> LinkRow:
    """A link as a clean sync leaves it: both bases equal to what both sides held."""
    row = LinkRow("ann", c["uuid"], it.item_id, it.change_key, project(c), dict(it.fields), c["revision"])
    for key, value in overrides.items():
        setattr(row, key, value)
    return row


def plan(contacts: list[dict[str, Any]], items: list[RemoteItem], links: list[LinkRow] = (), *,
         deleted: set[str] = frozenset(), full: bool = True, flt: dict[str, str] | None = None,
         **policies: str) -> Plan:
    return build_plan(PlanInput({c["uuid"]: c for c in contacts}, list(links), items, set(deleted), full,
                                ContactFilter(flt or {}), **policies))


def test_new_contact_is_created_in_outlook():
    ann = contact("Ann")
    p = plan([ann], [])
    assert [(rc.uuid, rc.recreate) for rc in p.remote_creates] == [(ann["uuid"], False)]
    assert not p.master_creates and not p.remote_updates and not p.conflicts


def test_unlinked_item_matched_by_email_without_case_needs_only_the_stamp():
    ann = contact("Ann", email="ann.lee@example.com")
    it = item(ann, email="ANN.LEE@Example.com")
    p = plan([ann], [it])
    assert not p.remote_creates and not p.master_creates and not p.conflicts
    [upd] = p.remote_updates
    assert (upd.uuid, upd.item_id, upd.fields, upd.set_stamp) == (ann["uuid"], it.item_id, {}, True)


def test_item_matched_by_stamp_before_email():
    ann, bo = contact("Ann"), contact("Bo")
    it = item(bo, stamp=ann["uuid"], email=bo["email"])  # carries Ann's stamp, Bo's address
    p = plan([ann, bo], [it])
    assert [u.uuid for u in p.remote_updates if u.item_id == it.item_id] == [ann["uuid"]]
    assert [rc.uuid for rc in p.remote_creates] == [bo["uuid"]]


def test_second_item_with_a_stamp_already_claimed_is_a_copy():
    ann = contact("Ann")
    first, copy = item(ann, stamp=ann["uuid"], item_id="a"), item(ann, stamp=ann["uuid"], item_id="b")
    p = plan([ann], [first, copy], [link(ann, first)])
    assert [(s.ref, s.kind) for s in p.skipped] == [("b", OrphanKind.COPY)]


def test_second_item_with_a_linked_email_is_a_duplicate():
    ann = contact("Ann")
    linked, other = item(ann, stamp=ann["uuid"], item_id="a"), item(ann, item_id="b")
    p = plan([ann], [linked, other], [link(ann, linked)])
    assert [(s.ref, s.kind) for s in p.skipped] == [("b", OrphanKind.DUPLICATE)]


def test_outlook_only_item_is_imported_and_stamped():
    it = item(None, name="Kari N", first_name="Kari", surname="N", email="kari@example.com")
    p = plan([], [it])
    [mc] = p.master_creates
    assert mc.contact["email"] == "kari@example.com"
    assert [(u.uuid, u.set_stamp) for u in p.remote_updates] == [(mc.uuid, True)]


def test_item_without_email_is_skipped_as_ineligible():
    p = plan([], [item(None, name="No Mail")])
    assert [s.kind for s in p.skipped] == [OrphanKind.INELIGIBLE] and not p.master_creates


def test_outlook_only_change_flows_to_master():
    ann = contact("Ann", city="Oslo")
    it = item(ann)
    lk = link(ann, it)
    it.fields["city"] = "Bergen"
    p = plan([ann], [it], [lk], full=False)
    assert [(mu.uuid, mu.changes) for mu in p.master_updates] == [(ann["uuid"], {"city": "Bergen"})]
    assert not p.conflicts and not p.remote_updates


def test_both_sides_change_master_wins_and_the_outlook_value_is_a_conflict():
    ann = contact("Ann", city="Oslo")
    it = item(ann)
    lk = link(ann, it)
    ann = {**ann, "city": "Tromsø", "revision": 2}
    it.fields["city"] = "Bergen"
    p = plan([ann], [it], [lk], full=False)
    assert [(c.key, c.master, c.outlook) for c in p.conflicts] == [("city", "Tromsø", "Bergen")]
    assert [u.fields for u in p.remote_updates] == [{"city": "Tromsø"}]
    assert p.remote_updates[0].before == {"city": "Bergen"}  # what Outlook held, for a retry's merge


def test_email_case_only_change_in_outlook_is_nothing():
    ann = contact("Ann", email="ann@example.com")
    it = item(ann)
    lk = link(ann, it)
    it.fields["email"] = "ANN@EXAMPLE.COM"
    p = plan([ann], [it], [lk], full=False)
    assert not p.master_updates and not p.remote_updates and not p.conflicts


def test_linked_item_gone_recreates_a_qualifying_contact_once():
    ann = contact("Ann")
    it = item(ann, stamp=ann["uuid"])
    p = plan([ann], [], [link(ann, it)], deleted={it.item_id}, full=False)
    assert [(rc.uuid, rc.recreate) for rc in p.remote_creates] == [(ann["uuid"], True)]


def test_linked_item_gone_of_a_deleted_contact_unlinks_with_its_kind():
    ann = contact("Ann")
    it = item(ann, stamp=ann["uuid"])
    lk = link(ann, it)
    ann = {**ann, "deleted": True}
    p = plan([ann], [], [lk], deleted={it.item_id}, full=False)
    assert [(u.item_id, u.kind) for u in p.unlink_items] == [(it.item_id, UnlinkKind.DELETED_IN_OUTLOOK)]
    assert not p.remote_creates


def test_master_delete_follows_the_policy():
    ann = contact("Ann")
    it = item(ann, stamp=ann["uuid"])
    lk = link(ann, it)
    gone = {**ann, "deleted": True, "revision": 2}
    moved = plan([gone], [it], [lk])
    assert [(d.item_id, d.move_to_deleted_items) for d in moved.remote_deletes] == [(it.item_id, True)]
    kept = plan([gone], [it], [lk], master_delete_policy="unlink")
    assert [u.kind for u in kept.unlink_items] == [UnlinkKind.MASTER_DELETED] and not kept.remote_deletes
    assert kept.unlink_items[0].kind.leaves_item


def test_contact_leaving_the_filter_is_removed_or_unlinked():
    ann = contact("Ann", city="Oslo")
    it = item(ann, stamp=ann["uuid"])
    lk = link(ann, it)
    moved = {**ann, "city": "Bergen", "revision": 2}
    removed = plan([moved], [it], [lk], flt={"city": "Oslo"})
    assert [d.item_id for d in removed.remote_deletes] == [it.item_id]
    unlinked = plan([moved], [it], [lk], flt={"city": "Oslo"}, leave_filter_policy="unlink")
    assert [u.kind for u in unlinked.unlink_items] == [UnlinkKind.LEFT_FILTER]


def test_an_unchanged_link_plans_nothing():
    ann = contact("Ann")
    it = item(ann, stamp=ann["uuid"])
    p = plan([ann], [it], [link(ann, it)])
    assert not p.has_writes and not p.links and not p.conflicts
