"""The pure planner: master contacts + links + remote changes → the actions of one run.

Nothing here does I/O, so the tests put their weight here. The executor carries the plan out.
Rules (SPEC §2): identity by stamp, then normalised e-mail, else new; a 3-way field merge per link;
deletes in Outlook recreate a still-qualifying contact once; deletes in the master and contacts
leaving the filter follow the profile's policies; an unlinked Outlook item is never changed except
to stamp it when it is linked or imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .. import model
from ..filters import ContactFilter
from ..records import LinkRow
from ..records import OrphanKind as SkipKind
from .eligibility import inbound_reason, kept_outside_filter, outbound_reason
from .merge import clean, fit, merge, project, same
from .transport import RemoteItem


@dataclass(slots=True)
class RemoteCreate:
    uuid: str
    fields: dict[str, str]
    recreate: bool = False
    pinned: bool = False


@dataclass(slots=True)
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


@dataclass(slots=True)
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
    """An Outlook item left alone: ``ref`` is its item id; guards and orphan tracking read ``kind``."""

    ref: str
    name: str
    reason: str
    kind: SkipKind = SkipKind.INELIGIBLE


class UnlinkKind(Enum):
    DELETED_IN_OUTLOOK = "deleted in Outlook"  # the item is gone and its contact is not recreated
    REPLACED = "replaced"  # the contact's item is back under a new id (relinked by stamp)
    CONTACT_GONE = "contact gone"  # the link's contact no longer exists in the master
    MASTER_DELETED = "deleted in the master"  # policy "unlink": the item stays in Outlook
    LEFT_FILTER = "left the filter"  # policy "unlink": the item stays in Outlook

    @property
    def leaves_item(self) -> bool:
        """The item stays in the folder, unlinked (tracked as an orphan)."""
        return self in (UnlinkKind.MASTER_DELETED, UnlinkKind.LEFT_FILTER)


@dataclass
class Unlink:
    item_id: str
    reason: str  # for people
    kind: UnlinkKind


@dataclass
class Conflict:
    """The master won on ``key``; ``outlook`` is the value it overruled (logged, never lost)."""

    uuid: str
    key: str
    master: str
    outlook: str


@dataclass
class Plan:
    remote_creates: list[RemoteCreate] = field(default_factory=list)
    remote_updates: list[RemoteUpdate] = field(default_factory=list)
    remote_deletes: list[RemoteDelete] = field(default_factory=list)
    master_creates: list[MasterCreate] = field(default_factory=list)
    master_updates: list[MasterUpdate] = field(default_factory=list)
    links: list[LinkState] = field(default_factory=list)
    unlink_items: list[Unlink] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: linked contacts that stay in the Outlook folder after this run although outside the filter
    kept: int = 0

    @property
    def has_writes(self) -> bool:
        return bool(self.remote_creates or self.remote_updates or self.remote_deletes or self.master_creates
                    or self.master_updates or self.unlink_items)


@dataclass
class PlanInput:
    contacts: dict[str, dict[str, Any]]  # uuid → contact, tombstones included
    links: list[LinkRow]  # this profile's link rows
    remote_items: list[RemoteItem]  # items seen this run (all of them when ``full``)
    deleted_ids: set[str]
    full: bool
    contact_filter: ContactFilter | None
    master_delete_policy: str = "move_to_deleted_items"
    leave_filter_policy: str = "remove"
    #: link an Outlook item already in the folder to a master contact outside the filter (it is then
    #: kept there); False leaves such items alone, unlinked
    link_outside_filter: bool = True


Contact = dict[str, Any]


def _label(contact: Contact) -> tuple[str, str]:
    return contact.get("no", ""), contact.get("name", "")


def _item_label(item: RemoteItem) -> str:
    return item.fields.get("name") or item.fields.get("email") or item.item_id[:12]


@dataclass(slots=True)
class _Pair:
    link: LinkRow
    item: RemoteItem | None  # None: the item was not seen this run (unchanged in Outlook)
    first: bool = False  # a new link (matched this run by stamp or e-mail)


def build_plan(inp: PlanInput) -> Plan:
    p = Plan()
    contacts = inp.contacts
    qualifies = {u: outbound_reason(c, inp.contact_filter) is None for u, c in contacts.items()}
    link_by_item = {lk.item_id: lk for lk in inp.links}
    # Matching decides on the contacts as they will be after this run's Outlook edits came in, so
    # that a contact an edit takes out of the filter is free for a match in the same run.
    effective = _after_inbound(inp, contacts, link_by_item)
    # (a contact no Outlook edit changes is the same record in both: its answer is known)
    final_qualifies = {u: qualifies[u] if c is contacts.get(u) else outbound_reason(c, inp.contact_filter) is None
                       for u, c in effective.items()}
    seen_ids = {it.item_id for it in inp.remote_items}
    gone = set(inp.deleted_ids) - seen_ids
    if inp.full:
        gone |= {i for i in link_by_item if i not in seen_ids}
    # Links that end this run (item gone, contact deleted or leaving) do not hold their contact:
    # another item may be matched to it in the same run, so the next run has nothing left to do.
    claimed: set[str] = {lk.contact_uuid for lk in inp.links
                         if lk.item_id not in gone and not _leaving(lk, effective.get(lk.contact_uuid), final_qualifies)}
    matcher = UnlinkedMatcher(p, contacts, final_qualifies, claimed, inp.link_outside_filter)
    pairs: list[_Pair] = []
    for item in sorted(inp.remote_items, key=lambda it: it.item_id):
        link = link_by_item.get(item.item_id)
        if link is not None:
            pairs.append(_Pair(link, item))
        else:
            matched = matcher.match(item)
            if matched is not None:
                pairs.append(matched)

    relinked = {pair.link.contact_uuid for pair in pairs if pair.first}
    for item_id in sorted(gone):
        link = link_by_item.get(item_id)
        if link is not None:
            _plan_gone(p, link, contacts, qualifies, relinked, claimed)

    pairs += [_Pair(lk, None) for lk in inp.links if lk.item_id not in seen_ids and lk.item_id not in gone]
    for pair in pairs:
        _plan_pair(p, inp, pair, effective if pair.first else contacts, qualifies)

    for uuid, c in sorted(effective.items(), key=lambda kv: kv[1].get("no", "")):
        if uuid in claimed or c.get("deleted") or not final_qualifies[uuid]:
            continue
        p.remote_creates.append(RemoteCreate(uuid, project(c)))
    p.kept = _count_kept(p, inp, pairs, effective)
    return p


def _count_kept(p: Plan, inp: PlanInput, pairs: list[_Pair], effective: dict[str, Contact]) -> int:
    """How many links this run leaves pinned to a contact outside the filter (imports included)."""
    ended = {u.item_id for u in p.unlink_items} | {d.item_id for d in p.remote_deletes}
    staying = [(effective.get(pair.link.contact_uuid), pair.link.pinned) for pair in pairs
               if pair.link.item_id not in ended]
    staying += [(mc.contact, True) for mc in p.master_creates]
    return sum(1 for c, pinned in staying if c is not None and kept_outside_filter(c, inp.contact_filter, pinned))


def _plan_gone(p: Plan, link: LinkRow, contacts: dict[str, Contact], qualifies: dict[str, bool],
               relinked: set[str], claimed: set[str]) -> None:
    """The linked item is gone from the folder: recreate its contact once, or end the link."""
    uuid = link.contact_uuid
    if uuid in relinked:  # the contact's item is back under a new id: relinked by stamp
        p.unlink_items.append(Unlink(link.item_id, "replaced by the item that carries the contact's stamp",
                                     UnlinkKind.REPLACED))
        return
    c = contacts.get(uuid)
    if c is not None and not c.get("deleted") and qualifies.get(uuid) and not _pinned_only(link, qualifies):
        p.remote_creates.append(RemoteCreate(uuid, project(c), recreate=True, pinned=link.pinned))
        claimed.add(uuid)
        return
    reason = "deleted in Outlook" + ("" if c is None or c.get("deleted") else "; the contact no longer qualifies")
    p.unlink_items.append(Unlink(link.item_id, reason, UnlinkKind.DELETED_IN_OUTLOOK))


def _after_inbound(inp: PlanInput, contacts: dict[str, Contact],
                   link_by_item: dict[str, LinkRow]) -> dict[str, Contact]:
    effective = dict(contacts)
    for item in inp.remote_items:
        link = link_by_item.get(item.item_id)
        c = contacts.get(link.contact_uuid) if link else None
        if link is None or c is None or c.get("deleted"):
            continue
        result = merge(c, item.fields, link.base_master, link.base_remote)
        if result.master_changes:
            effective[c["uuid"]] = {**model.normalise({**c, **result.master_changes}), "uuid": c["uuid"]}
    return effective


def _leaving(link: LinkRow, c: Contact | None, qualifies: dict[str, bool]) -> bool:
    """The link ends this run. A contact the user put into this folder stays there outside the
    filter, but not once it stops qualifying at all (no e-mail, privacy blocked, not a person)."""
    if c is None or c.get("deleted"):
        return True
    return not qualifies[c["uuid"]] and (not link.pinned or outbound_reason(c, None) is not None)


def _pinned_only(link: LinkRow, qualifies: dict[str, bool]) -> bool:
    """A contact the user put into the folder in Outlook is not recreated when deleted there."""
    return link.pinned and not qualifies.get(link.contact_uuid, False)


class UnlinkedMatcher:
    """Finds the contact an Outlook item without a link belongs to: by stamp, then by normalised
    e-mail, else imports it as a new contact. Each contact is claimed by one item at most."""

    def __init__(self, plan: Plan, contacts: dict[str, Contact], qualifies: dict[str, bool], claimed: set[str],
                 link_outside_filter: bool = True):
        self.plan, self.contacts, self.qualifies, self.claimed = plan, contacts, qualifies, claimed
        self.link_outside_filter = link_outside_filter
        self._by_email: dict[str, list[Contact]] | None = None

    @property
    def by_email(self) -> dict[str, list[Contact]]:
        """Live contacts by normalised e-mail, in No. order; built when an item first needs it (a
        first sync into an empty folder never does: 50,000 keys and lists fewer)."""
        if self._by_email is None:
            self._by_email = {}
            for c in sorted(self.contacts.values(), key=lambda c: c.get("no", "")):
                if not c.get("deleted") and c.get("email"):
                    self._by_email.setdefault(model.normalise_email(c["email"]), []).append(c)
        return self._by_email

    def match(self, item: RemoteItem) -> _Pair | None:
        """The new link for ``item`` (None when it is skipped or imported)."""
        stamp = item.stamp
        if stamp and stamp in self.contacts:
            return self._by_stamp(item, stamp)
        email = model.normalise_email(item.fields.get("email"))
        if email and not stamp:
            owners = self.by_email.get(email, [])
            free = [c for c in owners if c["uuid"] not in self.claimed]
            if free:
                if not self.link_outside_filter and not self.qualifies[free[0]["uuid"]]:
                    self._skip(item, f"same e-mail as {free[0].get('no')}, which is outside the filter; left alone "
                               "(the profile links no Outlook items outside its filter)", SkipKind.INELIGIBLE)
                    return None
                return self._link(free[0]["uuid"], item)
            if owners:
                self._skip(item, f"same e-mail as {owners[0].get('no')}, which is already linked to another "
                           "Outlook item; left untouched", SkipKind.DUPLICATE)
                return None
        reason = inbound_reason(item.fields)
        if reason:
            self._skip(item, f"{reason}; not imported", SkipKind.INELIGIBLE)
            return None
        self._import(item, stamp or model.new_uuid(), email)
        return None

    def _by_stamp(self, item: RemoteItem, stamp: str) -> _Pair | None:
        c = self.contacts[stamp]
        if stamp in self.claimed:
            self._skip(item, f"a copy of {c.get('no')} (its stamp is duplicated); left untouched", SkipKind.COPY)
            return None
        if c.get("deleted"):
            self._skip(item, f"its contact {c.get('no')} was deleted in the master; left untouched",
                       SkipKind.DELETED_CONTACT)
            return None
        return self._link(stamp, item)

    def _link(self, uuid: str, item: RemoteItem) -> _Pair:
        self.claimed.add(uuid)
        link = LinkRow(profile="", contact_uuid=uuid, item_id=item.item_id, change_key=item.change_key,
                       base_master=None, base_remote=None, pinned=not self.qualifies[uuid],
                       needs_stamp=item.stamp != uuid)
        return _Pair(link, item, first=True)

    def _skip(self, item: RemoteItem, reason: str, kind: SkipKind) -> None:
        self.plan.skipped.append(Skip(item.item_id, _item_label(item), reason, kind))

    def _import(self, item: RemoteItem, uuid: str, email: str) -> None:
        p = self.plan
        contact = {k: fit(k, clean(item.fields.get(k))) for k in model.SYNCED_KEYS}
        truncated = [k for k in model.SYNCED_KEYS if contact[k] != clean(item.fields.get(k))]
        for key in truncated:
            p.warnings.append(f"{_item_label(item)}: {model.FIELD_BY_KEY[key].caption} truncated to "
                              f"{model.FIELD_BY_KEY[key].max_len} characters on import")
        contact.update(type=model.PERSON, uuid=uuid)
        contact = model.normalise(contact)
        contact["uuid"] = uuid
        p.master_creates.append(MasterCreate(uuid, item, contact))
        self.claimed.add(uuid)
        self.by_email.setdefault(email, []).append(contact)
        base_master = project(contact)
        base_remote = {k: clean(item.fields.get(k)) for k in model.SYNCED_KEYS}
        pending = {k: v for k, v in base_master.items()
                   if not same(k, v, base_remote[k]) and not same(k, fit(k, base_remote[k]), v)}
        p.remote_updates.append(RemoteUpdate(uuid, item.item_id, item.change_key, pending, set_stamp=True,
                                             before={k: base_remote[k] for k in pending}))
        p.links.append(LinkState(uuid, item.item_id, item.change_key, base_master, {**base_remote, **pending},
                                 None, pinned=True))


def _leave(p: Plan, inp: PlanInput, link: LinkRow, c: Contact) -> None:
    no, why = c.get("no", ""), outbound_reason(c, inp.contact_filter)
    if inp.leave_filter_policy == "unlink":
        p.unlink_items.append(Unlink(link.item_id, f"{no} {why} (policy: unlink)", UnlinkKind.LEFT_FILTER))
    else:
        p.remote_deletes.append(RemoteDelete(c["uuid"], link.item_id, True, f"{no} {why}"))


def _plan_pair(p: Plan, inp: PlanInput, pair: _Pair, contacts: dict[str, Contact], qualifies: dict[str, bool]) -> None:
    link, item, first = pair.link, pair.item, pair.first
    uuid = link.contact_uuid
    c = contacts.get(uuid)
    if c is None:
        p.unlink_items.append(Unlink(link.item_id, "its contact no longer exists in the master", UnlinkKind.CONTACT_GONE))
        return
    no, name = _label(c)
    if c.get("deleted"):
        if inp.master_delete_policy == "unlink":
            p.unlink_items.append(Unlink(link.item_id, f"{no} deleted in the master (policy: unlink)",
                                         UnlinkKind.MASTER_DELETED))
        else:
            move = inp.master_delete_policy == "move_to_deleted_items"
            p.remote_deletes.append(RemoteDelete(uuid, link.item_id, move, f"{no} deleted in the master"))
        return
    if item is None:
        if c.get("revision") == link.synced_revision and not _leaving(link, c, qualifies):
            return  # neither side changed
        remote_fields = link.base_remote or {}
        change_key = link.change_key
    else:
        remote_fields, change_key = item.fields, item.change_key
    result = merge(c, remote_fields, None if first else link.base_master, None if first else link.base_remote)
    for key in result.truncated:
        p.warnings.append(f"{no} {name}: {model.FIELD_BY_KEY[key].caption} from Outlook truncated to "
                          f"{model.FIELD_BY_KEY[key].max_len} characters")
    p.conflicts += [Conflict(uuid, key, m_val, r_val) for key, m_val, r_val in result.conflicts]
    after = c
    if result.master_changes:
        p.master_updates.append(MasterUpdate(uuid, result.master_changes))
        after = model.normalise({**c, **result.master_changes})
    # Leaving the folder (by a master change, or an Outlook edit that takes the contact out of the
    # filter) happens after the Outlook edits came in, so none is lost.
    if _leaving(link, after, {uuid: outbound_reason(after, inp.contact_filter) is None}):
        _leave(p, inp, link, after)
        return
    if result.remote_changes or link.needs_stamp:
        read = {k: clean(remote_fields.get(k)) for k in result.remote_changes}
        p.remote_updates.append(RemoteUpdate(uuid, link.item_id, change_key, result.remote_changes,
                                             set_stamp=link.needs_stamp, before=read))
    unchanged_link = (not first and item is not None and not result.master_changes and not result.remote_changes
                      and change_key == link.change_key and c.get("revision") == link.synced_revision
                      and link.base_remote == result.new_remote and link.base_master == result.new_master)
    if unchanged_link:
        return
    p.links.append(LinkState(uuid, link.item_id, change_key, result.new_master, result.new_remote,
                             None if result.master_changes else c.get("revision"), link.pinned))
