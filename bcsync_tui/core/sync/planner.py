"""The pure planner: master contacts + links + remote changes → the actions of one run.

Nothing here does I/O, so the tests put their weight here. The executor carries the plan out.
Rules (SPEC §2): identity by stamp, then normalised e-mail, else new; a 3-way field merge per link;
deletes in Outlook recreate a still-qualifying contact once; deletes in the master and contacts
leaving the filter follow the profile's policies; an unlinked Outlook item is never changed except
to stamp it when it is linked or imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import model
from ..filters import ContactFilter
from .eligibility import inbound_reason, outbound_reason
from .merge import clean, fit, merge, project, same
from .transport import RemoteItem


@dataclass
class RemoteCreate:
    uuid: str
    fields: dict[str, str]
    recreate: bool = False
    pinned: bool = False


@dataclass
class RemoteUpdate:
    uuid: str
    item_id: str
    change_key: str
    fields: dict[str, str]
    set_stamp: bool = False
    #: Outlook's values, as read this run, of the fields this update changes: with them the executor
    #: knows what both sides agreed on if the write is refused because the item changed meanwhile
    before: dict[str, str] = field(default_factory=dict)


@dataclass
class RemoteDelete:
    uuid: str
    item_id: str
    move_to_deleted_items: bool
    reason: str


@dataclass
class MasterCreate:
    uuid: str
    item: RemoteItem
    contact: dict[str, Any]  # normalised, without No. (the number series assigns it)


@dataclass
class MasterUpdate:
    uuid: str
    changes: dict[str, str]


@dataclass
class LinkState:
    """What a link row should hold after the run (the executor fills in new change keys)."""

    uuid: str
    item_id: str
    change_key: str
    base_master: dict[str, str]
    base_remote: dict[str, str]
    synced_revision: int | None  # None: the revision after the master update of this run
    pinned: bool = False


@dataclass
class Skip:
    ref: str
    name: str
    reason: str
    kind: str = "ineligible"  # ineligible | copy | duplicate | deleted-contact


@dataclass
class Plan:
    remote_creates: list[RemoteCreate] = field(default_factory=list)
    remote_updates: list[RemoteUpdate] = field(default_factory=list)
    remote_deletes: list[RemoteDelete] = field(default_factory=list)
    master_creates: list[MasterCreate] = field(default_factory=list)
    master_updates: list[MasterUpdate] = field(default_factory=list)
    links: list[LinkState] = field(default_factory=list)
    unlink_items: list[tuple[str, str]] = field(default_factory=list)  # (item_id, reason)
    conflicts: list[tuple[str, str, str, str]] = field(default_factory=list)  # uuid, field, master, outlook
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_writes(self) -> bool:
        return bool(self.remote_creates or self.remote_updates or self.remote_deletes or self.master_creates
                    or self.master_updates or self.unlink_items)


@dataclass
class PlanInput:
    contacts: dict[str, dict[str, Any]]  # uuid → contact, tombstones included
    links: list[dict[str, Any]]  # this profile's link rows
    remote_items: list[RemoteItem]  # items seen this run (all of them when ``full``)
    deleted_ids: set[str]
    full: bool
    contact_filter: ContactFilter | None
    master_delete_policy: str = "move_to_deleted_items"
    leave_filter_policy: str = "remove"
    #: link an Outlook item already in the folder to a master contact outside the filter (it is then
    #: kept there); False leaves such items alone, unlinked
    link_outside_filter: bool = True


def _label(contact: dict[str, Any]) -> tuple[str, str]:
    return contact.get("no", ""), contact.get("name", "")


def _item_label(item: RemoteItem) -> str:
    return item.fields.get("name") or item.fields.get("email") or item.item_id[:12]


def build_plan(inp: PlanInput) -> Plan:
    p = Plan()
    contacts = inp.contacts
    qualifies = {u: outbound_reason(c, inp.contact_filter) is None for u, c in contacts.items()}
    link_by_item = {lk["item_id"]: lk for lk in inp.links}
    # Matching decides on the contacts as they will be after this run's Outlook edits came in, so
    # that a contact an edit takes out of the filter is free for a match in the same run.
    effective = _after_inbound(inp, contacts, link_by_item)
    final_qualifies = {u: outbound_reason(c, inp.contact_filter) is None for u, c in effective.items()}
    link_by_uuid = {lk["contact_uuid"]: lk for lk in inp.links}
    seen_ids = {it.item_id for it in inp.remote_items}
    gone = set(inp.deleted_ids) - seen_ids
    if inp.full:
        gone |= {i for i in link_by_item if i not in seen_ids}
    by_email: dict[str, list[dict[str, Any]]] = {}
    for c in sorted(contacts.values(), key=lambda c: c.get("no", "")):
        if not c.get("deleted") and c.get("email"):
            by_email.setdefault(model.normalise_email(c["email"]), []).append(c)
    # Links that end this run (item gone, contact deleted or leaving) do not hold their contact:
    # another item may be matched to it in the same run, so the next run has nothing left to do.
    claimed: set[str] = {u for u, lk in link_by_uuid.items()
                         if lk["item_id"] not in gone and not _leaving(lk, effective.get(u), final_qualifies)}
    pairs: list[tuple[dict[str, Any], RemoteItem | None, bool]] = []  # (link, item, first link)

    for item in sorted(inp.remote_items, key=lambda it: it.item_id):
        link = link_by_item.get(item.item_id)
        if link is not None:
            pairs.append((link, item, False))
            continue
        _match_unlinked(p, inp, item, contacts, final_qualifies, link_by_uuid, gone, by_email, claimed, pairs)

    relinked = {lk["contact_uuid"] for lk, _, first in pairs if first}
    for item_id in sorted(gone):
        link = link_by_item.get(item_id)
        if link is None:
            continue
        uuid = link["contact_uuid"]
        if uuid in relinked:  # the contact's item is back under a new id: relinked by stamp above
            p.unlink_items.append((item_id, "replaced by the item that carries the contact's stamp"))
            continue
        c = contacts.get(uuid)
        if c is not None and not c.get("deleted") and qualifies.get(uuid) and not _pinned_only(link, qualifies):
            p.remote_creates.append(RemoteCreate(uuid, project(c), recreate=True, pinned=bool(link.get("pinned"))))
            claimed.add(uuid)
        else:
            reason = "deleted in Outlook" + ("" if c is None or c.get("deleted") else "; the contact no longer qualifies")
            p.unlink_items.append((item_id, reason))

    for link in inp.links:
        if link["item_id"] in seen_ids or link["item_id"] in gone:
            continue
        pairs.append((link, None, False))
    for link, item, first in pairs:
        _plan_pair(p, inp, link, item, first, effective if first else contacts, qualifies)

    for uuid, c in sorted(effective.items(), key=lambda kv: kv[1].get("no", "")):
        if uuid in claimed or c.get("deleted") or not final_qualifies[uuid]:
            continue
        p.remote_creates.append(RemoteCreate(uuid, project(c)))
    return p


def _after_inbound(inp: PlanInput, contacts: dict[str, dict[str, Any]],
                   link_by_item: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    effective = dict(contacts)
    for item in inp.remote_items:
        link = link_by_item.get(item.item_id)
        c = contacts.get(link["contact_uuid"]) if link else None
        if c is None or c.get("deleted"):
            continue
        result = merge(c, item.fields, link["base_master"], link["base_remote"])
        if result.master_changes:
            effective[c["uuid"]] = {**model.normalise({**c, **result.master_changes}), "uuid": c["uuid"]}
    return effective


def _leaving(link: dict[str, Any], c: dict[str, Any] | None, qualifies: dict[str, bool]) -> bool:
    """The link ends this run. A contact the user put into this folder stays there outside the
    filter, but not once it stops qualifying at all (no e-mail, privacy blocked, not a person)."""
    if c is None or c.get("deleted"):
        return True
    return not qualifies[c["uuid"]] and (not link.get("pinned") or outbound_reason(c, None) is not None)


def _pinned_only(link: dict[str, Any], qualifies: dict[str, bool]) -> bool:
    """A contact the user put into the folder in Outlook is not recreated when deleted there."""
    return bool(link.get("pinned")) and not qualifies.get(link["contact_uuid"], False)


def _match_unlinked(p: Plan, inp: PlanInput, item: RemoteItem, contacts, qualifies, link_by_uuid, gone,
                    by_email, claimed: set[str], pairs) -> None:
    stamp = item.stamp
    if stamp and stamp in contacts:
        c = contacts[stamp]
        if stamp in claimed:
            p.skipped.append(Skip(item.item_id, _item_label(item),
                                  f"a copy of {c.get('no')} (its stamp is duplicated); left untouched", "copy"))
            return
        if c.get("deleted"):
            p.skipped.append(Skip(item.item_id, _item_label(item),
                                  f"its contact {c.get('no')} was deleted in the master; left untouched",
                                  "deleted-contact"))
            return
        claimed.add(stamp)
        pairs.append((_new_link(stamp, item, pinned=not qualifies[stamp]), item, True))
        return
    email = model.normalise_email(item.fields.get("email"))
    if email and not stamp:
        owners = by_email.get(email, [])
        free = [c for c in owners if c["uuid"] not in claimed]
        if free:
            c = free[0]
            if not inp.link_outside_filter and not qualifies[c["uuid"]]:
                p.skipped.append(Skip(item.item_id, _item_label(item),
                                      f"same e-mail as {c.get('no')}, which is outside the filter; left alone "
                                      "(the profile links no Outlook items outside its filter)"))
                return
            claimed.add(c["uuid"])
            pairs.append((_new_link(c["uuid"], item, pinned=not qualifies[c["uuid"]]), item, True))
            return
        if owners:
            p.skipped.append(Skip(item.item_id, _item_label(item),
                                  f"same e-mail as {owners[0].get('no')}, which is already linked to another "
                                  "Outlook item; left untouched", "duplicate"))
            return
    reason = inbound_reason(item.fields)
    if reason:
        p.skipped.append(Skip(item.item_id, _item_label(item), f"{reason}; not imported"))
        return
    uuid = stamp or model.new_uuid()
    contact = {k: fit(k, clean(item.fields.get(k))) for k in model.SYNCED_KEYS}
    truncated = [k for k in model.SYNCED_KEYS if contact[k] != clean(item.fields.get(k))]
    for key in truncated:
        p.warnings.append(f"{_item_label(item)}: {model.FIELD_BY_KEY[key].caption} truncated to "
                          f"{model.FIELD_BY_KEY[key].max_len} characters on import")
    contact.update(type=model.PERSON, uuid=uuid)
    contact = model.normalise(contact)
    contact["uuid"] = uuid
    p.master_creates.append(MasterCreate(uuid, item, contact))
    claimed.add(uuid)
    by_email.setdefault(email, []).append(contact)
    base_master = project(contact)
    base_remote = {k: clean(item.fields.get(k)) for k in model.SYNCED_KEYS}
    pending = {k: v for k, v in base_master.items()
               if not same(k, v, base_remote[k]) and not same(k, fit(k, base_remote[k]), v)}
    p.remote_updates.append(RemoteUpdate(uuid, item.item_id, item.change_key, pending, set_stamp=True,
                                         before={k: base_remote[k] for k in pending}))
    p.links.append(LinkState(uuid, item.item_id, item.change_key, base_master, {**base_remote, **pending},
                             None, pinned=True))


def _leave(p: Plan, inp: PlanInput, link: dict[str, Any], c: dict[str, Any]) -> None:
    no, why = c.get("no", ""), outbound_reason(c, inp.contact_filter)
    if inp.leave_filter_policy == "unlink":
        p.unlink_items.append((link["item_id"], f"{no} {why} (policy: unlink)"))
    else:
        p.remote_deletes.append(RemoteDelete(c["uuid"], link["item_id"], True, f"{no} {why}"))


def _new_link(uuid: str, item: RemoteItem, pinned: bool) -> dict[str, Any]:
    return {"contact_uuid": uuid, "item_id": item.item_id, "change_key": item.change_key,
            "base_master": None, "base_remote": None, "synced_revision": None, "pinned": pinned,
            "needs_stamp": item.stamp != uuid}


def _plan_pair(p: Plan, inp: PlanInput, link: dict[str, Any], item: RemoteItem | None, first: bool,
               contacts, qualifies) -> None:
    uuid = link["contact_uuid"]
    c = contacts.get(uuid)
    if c is None:
        p.unlink_items.append((link["item_id"], "its contact no longer exists in the master"))
        return
    no, name = _label(c)
    if c.get("deleted"):
        if inp.master_delete_policy == "unlink":
            p.unlink_items.append((link["item_id"], f"{no} deleted in the master (policy: unlink)"))
        else:
            move = inp.master_delete_policy == "move_to_deleted_items"
            p.remote_deletes.append(RemoteDelete(uuid, link["item_id"], move, f"{no} deleted in the master"))
        return
    if item is None:
        if c.get("revision") == link.get("synced_revision") and not _leaving(link, c, qualifies):
            return  # neither side changed
        remote_fields = link["base_remote"]
        change_key = link["change_key"]
    else:
        remote_fields, change_key = item.fields, item.change_key
    result = merge(c, remote_fields, None if first else link["base_master"], None if first else link["base_remote"])
    for key in result.truncated:
        p.warnings.append(f"{no} {name}: {model.FIELD_BY_KEY[key].caption} from Outlook truncated to "
                          f"{model.FIELD_BY_KEY[key].max_len} characters")
    for key, m_val, r_val in result.conflicts:
        p.conflicts.append((uuid, key, m_val, r_val))
    after = c
    if result.master_changes:
        p.master_updates.append(MasterUpdate(uuid, result.master_changes))
        after = model.normalise({**c, **result.master_changes})
    # Leaving the folder (by a master change, or an Outlook edit that takes the contact out of the
    # filter) happens after the Outlook edits came in, so none is lost.
    if _leaving(link, after, {uuid: outbound_reason(after, inp.contact_filter) is None}):
        _leave(p, inp, link, after)
        return
    needs_stamp = bool(link.get("needs_stamp"))
    if result.remote_changes or needs_stamp:
        read = {k: clean(remote_fields.get(k)) for k in result.remote_changes}
        p.remote_updates.append(RemoteUpdate(uuid, link["item_id"], change_key, result.remote_changes,
                                             set_stamp=needs_stamp, before=read))
    unchanged_link = (not first and item is not None and not result.master_changes and not result.remote_changes
                      and change_key == link["change_key"] and c.get("revision") == link.get("synced_revision")
                      and link["base_remote"] == result.new_remote and link["base_master"] == result.new_master)
    if unchanged_link:
        return
    p.links.append(LinkState(uuid, link["item_id"], change_key, result.new_master, result.new_remote,
                             None if result.master_changes else c.get("revision"), bool(link.get("pinned"))))
