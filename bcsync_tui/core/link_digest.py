"""The digest of the ``links`` table a snapshot holds (``JournaledStorage(digests=...)``): what the TUI's
badges read of 50,000 links, without decoding 50,000 link documents when it opens the store.

A settled link's document (``LinkRow.to_doc``) is three values: its profile, its contact's uuid and the
revision both sides agree on. The digest holds those in columns, a profile and a few thousand links
to a part: a list of uuids and one of revisions decode several times quicker than as many small
documents, and take a fraction of their memory. Any other document (pinned, in error, written by a
newer bcsync) is in it whole. With the journal's changes to the table since the snapshot, it reads
as exactly the documents the table holds (``DigestLinks``), for one profile at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain, compress
from typing import Any

#: the keys of a settled link's document, the columns of the digest (``records._SETTLED_KEYS``)
COLUMNS = ("profile", "contact_uuid", "synced_revision")
_KEYS = frozenset(COLUMNS)
#: links per part: one decode each, a few milliseconds of the GIL at most
PART_LINKS = 5000


def _settled(doc: Any) -> bool:
    return (doc.keys() == _KEYS and doc["profile"].__class__ is str and doc["contact_uuid"].__class__ is str
            and (doc["synced_revision"] is None or doc["synced_revision"].__class__ is int))


def link_digest(docs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The digest of a links table (by document id): parts ``{"profile", "ids", "uuids", "revs"}``
    (``ids`` as runs of consecutive document ids, ``[first, count]``), and one ``{"docs": {...}}``
    of the documents that are not settled links."""
    columns: dict[str, tuple[list[int], list[str], list[int | None]]] = {}
    others: dict[str, Any] = {}
    for doc_id, doc in docs.items():
        if _settled(doc) and doc_id.isdigit() and doc_id.isascii() and doc_id[0] != "0":  # (as int() reads it back)
            ids, uuids, revs = columns.setdefault(doc["profile"], ([], [], []))
            ids.append(int(doc_id))
            uuids.append(doc["contact_uuid"])
            revs.append(doc["synced_revision"])
        else:
            others[doc_id] = doc
    parts: list[dict[str, Any]] = []
    for profile, (ids, uuids, revs) in columns.items():
        for at in range(0, len(ids), PART_LINKS):
            parts.append({"profile": profile, "ids": _runs(ids[at:at + PART_LINKS]),
                          "uuids": uuids[at:at + PART_LINKS], "revs": revs[at:at + PART_LINKS]})
    if others:
        parts.append({"docs": others})
    return parts


def _runs(ids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for doc_id in ids:
        if runs and runs[-1][0] + runs[-1][1] == doc_id:
            runs[-1][1] += 1
        else:
            runs.append([doc_id, 1])
    return runs


def _ids(runs: list[list[int]]) -> Iterator[int]:
    return chain.from_iterable(range(first, first + count) for first, count in runs)


class DigestLinks(Mapping[str, dict[str, Any]]):
    """One profile's link documents by contact uuid, from a digest (``link_digest``) and the journal's
    changes to the table since it was made (``ops``: document id -> document, None: removed): the
    mapping ``Store.links_by_contact`` builds from the table itself; and what ``Store.link_summary``
    counts in it (``count``, ``unsettled``, ``pinned``). ValueError if the digest is not one
    ``link_digest`` made (the caller reads the table instead)."""

    def __init__(self, parts: list[Any], ops: dict[str, dict[str, Any] | None], profile: str):
        self.profile = profile
        uuids: list[str] = []
        revs: list[Any] = []
        runs: list[list[int]] = []
        whole: dict[str, Any] = {}
        try:
            for part in parts:
                if part.keys() == {"docs"}:
                    whole.update(part["docs"])
                elif part["profile"] == profile:
                    if len(part["uuids"]) != len(part["revs"]) or sum(n for _, n in part["ids"]) != len(part["uuids"]):
                        raise ValueError("a digest part whose columns differ in length")
                    uuids += part["uuids"]
                    revs += part["revs"]
                    runs += part["ids"]
            if ops:  # the documents changed since: out of the columns, and (unless removed) in whole
                gone = ops.keys()
                kept = [str(doc_id) not in gone for doc_id in _ids(runs)]
                uuids, revs = list(compress(uuids, kept)), list(compress(revs, kept))
                whole = {k: v for k, v in whole.items() if k not in gone}
                whole.update((k, v) for k, v in ops.items() if v is not None)
            self._at = dict(zip(uuids, range(len(uuids))))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a links digest ({exc!r})") from exc
        self._revs = revs
        mine = [doc for doc in whole.values() if doc.__class__ is dict and doc.get("profile") == profile]
        #: the profile's link documents; whether any is in error, unstamped or unmerged; the pinned ones' uuids
        self.count = len(uuids) + len(mine)
        self.unsettled = None in revs or any(d.get("error") or d.get("needs_stamp") or d.get("synced_revision") is None
                                             for d in mine)
        self.pinned = [d.get("contact_uuid") for d in mine if d.get("pinned")]
        self._whole: dict[str, dict[str, Any]] = {}
        for doc in mine:
            if (uuid := doc.get("contact_uuid")).__class__ is str:
                self._whole[uuid] = doc
                self._at.pop(uuid, None)
        #: the uuids whose link (as ``get`` gives it) is pinned: only whole documents can be
        self._pinned = {uuid for uuid, doc in self._whole.items() if doc.get("pinned")}

    def is_pinned(self, contact_uuid: str) -> bool:
        """Whether the contact's link is pinned (``LinkIndex.pinned``), without a document made for it."""
        return contact_uuid in self._pinned

    def __getitem__(self, contact_uuid: str) -> dict[str, Any]:
        doc = self.get(contact_uuid)
        if doc is None:
            raise KeyError(contact_uuid)
        return doc

    def get(self, contact_uuid: str, default: Any = None) -> Any:  # type: ignore[override]
        """(Without Mapping's raise-and-catch for a contact not linked: a badge pass over 50,000 asks.)"""
        doc = self._whole.get(contact_uuid)
        if doc is not None:
            return doc
        at = self._at.get(contact_uuid)
        if at is None:
            return default
        return {"profile": self.profile, "contact_uuid": contact_uuid, "synced_revision": self._revs[at]}

    def __contains__(self, contact_uuid: object) -> bool:
        return contact_uuid in self._at or contact_uuid in self._whole

    def __iter__(self) -> Iterator[str]:
        return chain(self._at, self._whole)

    def __len__(self) -> int:
        return len(self._at) + len(self._whole)
