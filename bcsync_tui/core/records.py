"""Typed records the sync keeps in the store: run records, link rows, a profile's sync state.

Each is a dataclass inside the code and a plain JSON document in the store (TinyDB). ``to_doc`` and
``from_doc`` are the one place each maps between the two, so the stored shape (documented for
``--json`` in docs/cli.md) stays what it was while the code reads attributes, not string keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from enum import Enum
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

from .exit_codes import ExitCode


class RunStatus(Enum):
    OK = "ok"
    PARTIAL = "partial"  # some items failed; they are retried next run
    ABORTED = "aborted"  # a guard stopped the run before any write
    FAILED = "failed"  # configuration, authentication or connection error
    CANCELLED = "cancelled"

    @property
    def words(self) -> str:
        """How the run ended, for people: "finished", "stopped by a safety guard", ..."""
        return _WORDS[self]

    @property
    def problem(self) -> str | None:
        """A sentence naming a bad last run ("the last sync failed"), None for a good one."""
        return None if self is RunStatus.OK else f"the last sync {_PROBLEM[self]}"

    @classmethod
    def of(cls, value: str) -> RunStatus | None:
        """The status a stored record names (None for a value this version does not know)."""
        try:
            return cls(value)
        except ValueError:
            return None


_WORDS = {RunStatus.OK: "finished", RunStatus.PARTIAL: "finished with errors",
          RunStatus.ABORTED: "stopped by a safety guard", RunStatus.FAILED: "failed", RunStatus.CANCELLED: "cancelled"}
_PROBLEM = {RunStatus.PARTIAL: "finished with errors", RunStatus.ABORTED: "was stopped by a safety guard",
            RunStatus.FAILED: "failed", RunStatus.CANCELLED: "was cancelled"}


def status_words(value: str) -> str:
    """Words for a stored status value (a value this version does not know is shown as it is)."""
    status = RunStatus.of(value)
    return status.words if status else value


@dataclass
class RunCounts:
    outlook_created: int = 0
    outlook_updated: int = 0
    outlook_deleted: int = 0
    outlook_recreated: int = 0
    master_created: int = 0
    master_updated: int = 0
    unlinked: int = 0
    #: links moved to the item that now carries the contact's stamp (an item replaced or its id changed)
    relinked: int = 0
    conflicts: int = 0
    skipped: int = 0
    errors: int = 0
    #: linked contacts the run left in the Outlook folder although outside the filter (0 in records before it)
    kept: int = 0

    def to_doc(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunCounts:
        return cls(**{f.name: int(_number(doc.get(f.name, 0))) for f in fields(cls)})


COUNT_KEYS = tuple(f.name for f in fields(RunCounts))


@dataclass
class ItemNote:
    """One skipped item or one failed item of a run: which (No. or item id), its name, and why."""

    ref: str
    name: str
    reason: str

    def to_doc(self, key: str = "reason") -> dict[str, str]:
        return {"ref": self.ref, "name": self.name, key: self.reason}

    @classmethod
    def from_doc(cls, doc: dict[str, Any], key: str = "reason") -> ItemNote:
        """``key``: "reason" for a skipped item, "message" for a failed one (as ``to_doc`` wrote it)."""
        return cls(ref=_text(doc.get("ref")), name=_text(doc.get("name")), reason=_text(doc.get(key)))


@dataclass
class PlanRow:
    """One planned action of a dry run, as the preview lists it."""

    action: str  # create | recreate | update | delete | unlink | relink | conflict
    side: str  # outlook | master | link
    ref: str
    name: str
    detail: str = ""

    def to_doc(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PlanRow:
        return cls(action=_text(doc.get("action")), side=_text(doc.get("side")), ref=_text(doc.get("ref")),
                   name=_text(doc.get("name")), detail=_text(doc.get("detail")))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any, default: float = 0) -> float:
    """A stored count or duration; something else (hand-edited, damaged) reads as ``default``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _docs(value: Any) -> list[dict[str, Any]]:
    return [d for d in _list(value) if isinstance(d, dict)]


@dataclass
class RunRecord:
    id: str
    profile: str
    mode: str
    dry_run: bool
    started_at: str
    ended_at: str | None = None
    status: RunStatus = RunStatus.OK
    exit_code: int = ExitCode.OK
    message: str = ""
    counts: RunCounts = field(default_factory=RunCounts)
    skipped: list[ItemNote] = field(default_factory=list)
    errors: list[ItemNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: list[PlanRow] = field(default_factory=list)
    throttle_waits: int = 0
    throttle_seconds: float = 0.0
    token_resets: int = 0
    #: HTTP requests that went on the wire
    requests: int = 0
    #: a stored status this version does not know (a newer version's record), kept as it was written;
    #: ``status`` is then FAILED, so such a run never reads as a good one
    unknown_status: str = ""

    @property
    def status_value(self) -> str:
        """The status word as stored and in ``--json`` (``ok``, ``partial``, … or an unknown one as it was)."""
        return self.unknown_status or self.status.value

    @property
    def status_words(self) -> str:
        """How the run ended, for people (an unknown status as it was written)."""
        return self.unknown_status or self.status.words

    @property
    def problem(self) -> str | None:
        """A sentence naming a bad run ("the last sync failed"), None for a good one."""
        return f"the last sync ended {self.unknown_status}" if self.unknown_status else self.status.problem

    def to_doc(self) -> dict[str, Any]:
        """The stored / ``--json`` shape (docs/cli.md)."""
        return {"id": self.id, "profile": self.profile, "mode": self.mode, "dry_run": self.dry_run,
                "started_at": self.started_at, "ended_at": self.ended_at, "status": self.status_value,
                "exit_code": int(self.exit_code), "message": self.message, "counts": self.counts.to_doc(),
                "skipped": [s.to_doc() for s in self.skipped], "errors": [e.to_doc("message") for e in self.errors],
                "warnings": list(self.warnings), "plan": [p.to_doc() for p in self.plan],
                "throttle_waits": self.throttle_waits, "throttle_seconds": self.throttle_seconds,
                "token_resets": self.token_resets, "requests": self.requests}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunRecord:
        """A stored record (or a ``--json`` one) as a RunRecord. Records of older versions lack some
        keys: they read as the defaults (a count of 0, no plan, no requests)."""
        value = _text(doc.get("status"))
        status = RunStatus.of(value)
        counts = doc.get("counts")
        try:
            exit_code = int(doc.get("exit_code") or 0)
        except (TypeError, ValueError):
            exit_code = int(ExitCode.CONFIG)
        ended = doc.get("ended_at")
        return cls(id=_text(doc.get("id")), profile=_text(doc.get("profile")), mode=_text(doc.get("mode")),
                   dry_run=bool(doc.get("dry_run")), started_at=_text(doc.get("started_at")),
                   ended_at=None if ended is None else str(ended),
                   status=status or RunStatus.FAILED, unknown_status="" if status else value or "unknown",
                   exit_code=exit_code, message=_text(doc.get("message")),
                   counts=RunCounts.from_doc(counts if isinstance(counts, dict) else {}),
                   skipped=[ItemNote.from_doc(d) for d in _docs(doc.get("skipped"))],
                   errors=[ItemNote.from_doc(d, "message") for d in _docs(doc.get("errors"))],
                   warnings=[_text(w) for w in _list(doc.get("warnings")) if w is not None],
                   plan=[PlanRow.from_doc(d) for d in _docs(doc.get("plan"))],
                   throttle_waits=int(_number(doc.get("throttle_waits"))),
                   throttle_seconds=_number(doc.get("throttle_seconds")),
                   token_resets=int(_number(doc.get("token_resets"))), requests=int(_number(doc.get("requests"))))


@dataclass(slots=True)
class LinkRow:
    """One master contact linked to one Outlook item, for one profile."""

    profile: str
    contact_uuid: str
    item_id: str
    change_key: str
    #: the master's projection and the Outlook item's fields at the last sync; None on a first link
    base_master: dict[str, str] | None
    base_remote: dict[str, str] | None
    #: the contact revision both sides agree on (None: merge again next run)
    synced_revision: int | None = None
    #: put into the folder by the user in Outlook, not by the filter
    pinned: bool = False
    error: str | None = None
    #: the item does not carry the contact's stamp yet
    needs_stamp: bool = False

    def to_doc(self) -> dict[str, Any]:
        """The link's document in the ``links`` table: what the TUI shows (its badges). The Outlook
        item's id and change key and the merge bases go into ``link_details`` (``details_doc``), which
        only a sync reads: the TUI opens 50,000 links without decoding 50,000 projections (schema 3).
        A settled link (not pinned, no error, stamped: nearly every one) leaves those three out: a
        smaller dict for each of 50,000 links in a first sync's memory, and in the TUI's."""
        doc = {"profile": self.profile, "contact_uuid": self.contact_uuid, "synced_revision": self.synced_revision}
        if self.pinned or self.error is not None or self.needs_stamp:
            doc.update(pinned=self.pinned, error=self.error, needs_stamp=self.needs_stamp)
        return doc

    def details_doc(self) -> dict[str, Any]:
        """The link's item id, change key and two bases: its document in ``link_details`` (by the link's
        document id). asdict() would deep-copy every leaf value (a fifth of a first sync's CPU, one link
        per contact): a base's values go in as they are, not copied, in a packed base (``pack_base``:
        the file holds the same JSON, the memory less). A base is replaced, never changed in place (the
        store's rows, the plan and the links share its values). Where both sides hold the same (every
        link a sync writes, until an edit on one side), base_remote is written as SAME_BASE: the file
        holds the projection once, and a store read back holds one dict (schema 2)."""
        master, remote = self.base_master, self.base_remote
        same = remote is not None and (remote is master or remote == master)
        return {"item_id": self.item_id, "change_key": self.change_key, "base_master": pack_base(master),
                "base_remote": SAME_BASE if same else pack_base(remote)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any], details: dict[str, Any] | None = None) -> LinkRow:
        """A link from its document and its details' (``details_doc``); without those, the details a
        document of schema 2 or older holds itself. (``NO_DETAILS``: a link to show, without them.)"""
        held = details if details is not None else doc
        master, remote = unpack_base(held.get("base_master")), unpack_base(held.get("base_remote"))
        if remote.__class__ is not dict:  # SAME_BASE (or damaged: no base, so merged afresh)
            remote = master if remote == SAME_BASE else None
        if master is not None and master.__class__ is not dict:
            master = remote = None
        item_id = held["item_id"] if held is not NO_DETAILS else ""
        change_key = held.get("change_key")
        if change_key.__class__ is not str:
            change_key = ""
        keys = doc.keys()
        if keys == _SETTLED_KEYS or (keys == _LINK_KEYS and doc["pinned"].__class__ is bool
                                     and doc["needs_stamp"].__class__ is bool):
            return cls(**doc, item_id=item_id, change_key=change_key, base_master=master,
                       base_remote=remote)  # as to_doc wrote it: 5x quicker
        return cls(profile=doc.get("profile", ""), contact_uuid=doc["contact_uuid"], item_id=item_id,
                   change_key=change_key, base_master=master, base_remote=remote,
                   synced_revision=doc.get("synced_revision"), pinned=bool(doc.get("pinned")), error=doc.get("error"),
                   needs_stamp=bool(doc.get("needs_stamp")))


#: every field of a link, in either of its documents
LINK_FIELDS = frozenset(f.name for f in fields(LinkRow))
#: the keys of a link's ``details_doc``; those of its ``to_doc`` are the others
DETAIL_KEYS = ("item_id", "change_key", "base_master", "base_remote")
_LINK_KEYS = LINK_FIELDS - set(DETAIL_KEYS)
#: the keys of a settled link's ``to_doc`` (the others at their defaults)
_SETTLED_KEYS = _LINK_KEYS - {"pinned", "error", "needs_stamp"}
#: ``LinkRow.from_doc``'s details for a link only shown: no item id, no bases
NO_DETAILS: dict[str, Any] = {}
#: a link's base_remote when it equals its base_master (schema 2; see LinkRow.details_doc)
SAME_BASE = "same as base_master"


@cache
def _packed_base() -> Any:
    """The class ``pack_base`` holds a base in: a slotted dataclass with a field per synced field,
    made when first needed (not by a command that reads no link). orjson writes it as the object
    the base's dict would be, key for key in the same order."""
    from .model import SYNCED_KEYS

    cls: Any = make_dataclass("PackedBase", SYNCED_KEYS, slots=True, eq=False)
    cls.KEYS, cls.values_of, cls.values = frozenset(SYNCED_KEYS), itemgetter(*SYNCED_KEYS), attrgetter(*SYNCED_KEYS)
    cls.as_dict = lambda self: dict(zip(SYNCED_KEYS, cls.values(self)))
    return cls


def pack_base(base: Any) -> Any:
    """A base as the store holds it in memory: a base of exactly the synced fields becomes a
    ``_packed_base`` (its values shared, not copied), ~180 bytes instead of a 19-key dict's ~460. A
    first sync of 50,000 holds a base per link: ~13 MiB of its peak. Anything else stays as it is."""
    if base.__class__ is dict:
        cls = _packed_base()
        if base.keys() == cls.KEYS:
            return cls(*cls.values_of(base))
    return base


def unpack_base(base: Any) -> Any:
    """A base as ``LinkRow`` holds it: a packed one as its dict again (a store read from disk holds
    dicts; only links this process saved are packed)."""
    return base.as_dict() if base.__class__ is _packed_base() else base


class LinkIndex(Mapping[str, LinkRow]):
    """One profile's links by contact uuid (``Store.links_by_contact``), each made a LinkRow when it
    is looked up: a list that shows a screenful of badges looks up a screenful, so 50,000 links
    cost one pass over the table instead of 50,000 rows built (~0.3 s) at every store change.
    For showing them: the rows come without their item ids and merge bases (``Store.links_of`` has those)."""

    def __init__(self, docs: Mapping[str, dict[str, Any]], pinned: Callable[[str], bool] | None = None):
        """``pinned``: whether a contact's link is pinned, if ``docs`` can say so without a document
        (``link_digest.DigestLinks``: a kept-count pass asks it of 50,000 contacts)."""
        self._docs = docs
        self._rows: dict[str, LinkRow] = {}
        self._pinned = pinned

    def __getitem__(self, contact_uuid: str) -> LinkRow:
        row = self._rows.get(contact_uuid)
        if row is None:
            row = self._rows[contact_uuid] = LinkRow.from_doc(self._docs[contact_uuid], NO_DETAILS)
        return row

    def __contains__(self, contact_uuid: object) -> bool:
        return contact_uuid in self._docs

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def pinned(self, contact_uuid: str) -> bool:
        """Whether the contact's link is pinned (``LinkRow.pinned``), without making its row."""
        if self._pinned is not None:
            return self._pinned(contact_uuid)
        doc = self._docs.get(contact_uuid)
        return doc is not None and bool(doc.get("pinned"))


class OrphanKind(Enum):
    """Why a folder item the profile knows is not linked (it is looked at again when that may change)."""

    INELIGIBLE = "ineligible"  # no e-mail or name: not imported
    COPY = "copy"  # a copy of a linked item (its stamp is duplicated)
    DUPLICATE = "duplicate"  # the same e-mail as a contact linked to another item
    DELETED_CONTACT = "deleted-contact"  # its contact was deleted in the master
    UNLINKED = "unlinked"  # unlinked by a policy; left in the folder


@dataclass(frozen=True)
class Orphan:
    stamp: str
    email: str  # normalised
    kind: OrphanKind

    def to_doc(self) -> list[str]:
        return [self.stamp, self.email, self.kind.value]

    @classmethod
    def from_doc(cls, doc: list[str]) -> Orphan:
        stamp, email, kind = doc
        return cls(stamp, email, OrphanKind(kind))


@dataclass
class SyncState:
    """What a profile remembers between runs (``Profile.state``)."""

    folder_id: str = ""
    folder_name: str | None = None
    sync_state: str = ""
    #: items to read again next run (changed by someone else while this run wrote)
    recheck_ids: list[str] = field(default_factory=list)
    linked_count: int = 0
    orphans: dict[str, Orphan] = field(default_factory=dict)
    #: what the transport asked to keep (``ServerInfo.remember``)
    server_version: Any = None
    #: after a clean run: the store's contacts revision it planned from and the fingerprint of the
    #: settings the plan depends on (None/"": unknown, plan in full next run)
    contacts_revision: int | None = None
    plan_fingerprint: str = ""

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"folder_id": self.folder_id, "folder_name": self.folder_name,
                               "sync_state": self.sync_state, "recheck_ids": list(self.recheck_ids),
                               "linked_count": self.linked_count,
                               "orphans": {i: o.to_doc() for i, o in self.orphans.items()}}
        if self.server_version:
            doc["server_version"] = self.server_version
        # always written: update_state merges keys, and an unknown revision must replace a known one
        doc["contacts_revision"], doc["plan_fingerprint"] = self.contacts_revision, self.plan_fingerprint
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SyncState:
        return cls(folder_id=doc.get("folder_id") or "", folder_name=doc.get("folder_name"),
                   sync_state=doc.get("sync_state") or "", recheck_ids=list(doc.get("recheck_ids") or []),
                   linked_count=int(doc.get("linked_count") or 0),
                   orphans={i: Orphan.from_doc(o) for i, o in (doc.get("orphans") or {}).items()},
                   server_version=doc.get("server_version"), contacts_revision=doc.get("contacts_revision"),
                   plan_fingerprint=str(doc.get("plan_fingerprint") or ""))
