"""RELIABILITY.md's invariants as assertions over a World (store + mailbox)."""

from __future__ import annotations

from collections import Counter

from bcsync_tui.core.filters import ContactFilter
from bcsync_tui.core.sync.eligibility import outbound_reason
from bcsync_tui.core.sync.merge import clean, fit, project, same

from .backends import PROFILE, World


def check_no_dup(world: World, profile: str = PROFILE, folder: str | None = None) -> None:
    folder = folder or world.profile(profile).folder_name
    items = world.backend.items(folder)
    stamps = Counter(i.stamp for i in items if i.stamp)
    dup_stamps = {s: n for s, n in stamps.items() if n > 1}
    links = world.links(profile)
    ids = Counter(lk["item_id"] for lk in links)
    assert not {i: n for i, n in ids.items() if n > 1}, "two links point to one item"
    uuids = Counter(lk["contact_uuid"] for lk in links)
    assert not {u: n for u, n in uuids.items() if n > 1}, "two links for one contact"
    linked_ids = {lk["item_id"] for lk in links}
    # A duplicated stamp is allowed only for a user's copy, which stays unlinked.
    for stamp in dup_stamps:
        linked = [i for i in items if i.stamp == stamp and i.item_id in linked_ids]
        assert len(linked) <= 1, f"stamp {stamp} linked twice"


def check_converged(world: World, profile: str = PROFILE) -> None:
    """CONVERGE: every eligible master contact has exactly one linked item with equal mapped fields,
    and every linked item belongs to an eligible (or pinned) contact."""
    p = world.profile(profile)
    flt = ContactFilter.from_dict(p.filter)
    items = {i.item_id: i for i in world.backend.items(p.folder_name)}
    links = {lk["contact_uuid"]: lk for lk in world.links(profile)}
    for c in world.store.contacts_raw():
        eligible = outbound_reason(c, flt) is None
        link = links.get(c["uuid"])
        if eligible:
            assert link is not None, f"{c['no']} {c['name']} is eligible but not linked"
        if link is None:
            continue
        if not eligible:
            assert link.get("pinned") and outbound_reason(c, None) is None, f"{c['no']} linked but not eligible"
        item = items.get(link["item_id"])
        assert item is not None, f"{c['no']} linked to a missing item"
        want = project(c)
        have = {k: clean(item.fields.get(k)) for k in want}
        differing = {k: (want[k], have[k]) for k in want
                     if not same(k, want[k], have[k]) and not same(k, fit(k, have[k]), want[k])}
        assert not differing, f"{c['no']} differs from its Outlook item: {differing}"
    live = {c["uuid"] for c in world.store.contacts_raw()}
    for uuid, link in links.items():
        assert uuid in live, f"a link for a contact that is not live: {uuid}"


def check_all(world: World, profile: str = PROFILE) -> None:
    check_no_dup(world, profile)
    check_converged(world, profile)
