"""The contact master and everything the sync remembers, in one TinyDB on disk.

Tables: ``contacts`` (deleted contacts stay as tombstones so the sync can propagate the delete),
``profiles`` (one per user), ``links`` (contact ↔ Exchange item per profile, with the last synced
projection), ``runs`` (sync run records), ``conflicts`` (the Outlook values the master overruled),
``journal`` (intended Exchange writes, for crash recovery) and ``meta`` (schema version, number
series).

Reads come from memory. Every write is a journaled transaction under the store lock; callers
group many changes with ``with store.transaction():`` so they reach the disk as one write.
"""

from __future__ import annotations

import os
import re
import threading
from itertools import repeat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import Query
from tinydb.table import Document

from . import model
from .contact_docs import filled, stored
from .link_digest import DigestLinks, link_digest
from .lock import FileLock
from .paths import Paths, ensure_private_dir
from .records import DETAIL_KEYS, LINK_FIELDS, LinkIndex, LinkRow
from .storage import JournaledStorage, StoreCorruptError
from .tables import JournaledTable, StoreDB

SCHEMA_VERSION = 4
BACKUPS_KEPT = 10
#: decoded only when first used (storage.JournaledStorage): the links' item ids and merge bases, which
#: only a sync reads, and the links, of which the TUI reads the digest (``link_digest``)
DEFERRED_TABLES = ("link_details", "links")
DIGESTS = {"links": link_digest}


def _details_in_their_own_table(store: Store) -> None:
    """Schema 3: a link's item id, change key and merge bases move from its document in ``links`` to
    ``link_details`` (by the same document id), which a process that does not sync never decodes (the
    TUI with a synced store of 50,000 contacts: 186 MiB instead of 271, its first screen a quarter
    sooner). Schema 2 is contained: its one change (a base_remote equal to base_master written as
    ``records.SAME_BASE``) is how ``details_doc`` writes them, so a schema-1 store goes to 3 through
    this too."""
    raw = store.links.raw()
    old = {doc_id: doc for doc_id, doc in raw.items() if not doc.keys().isdisjoint(DETAIL_KEYS)}
    rows = {doc_id: LinkRow.from_doc(doc) for doc_id, doc in old.items()}
    store.link_details.put({doc_id: row.details_doc() for doc_id, row in rows.items()})
    store.links.put({doc_id: {k: v for k, v in old[doc_id].items() if k not in LINK_FIELDS} | row.to_doc()
                     for doc_id, row in rows.items()})  # (and any field a newer bcsync may have added)


def _sparse_contacts(store: Store) -> None:
    """Schema 4: a contact's document leaves out the fields at their blank value (contact_docs.py):
    a store of 50,000 contacts decodes a third faster and holds ~35 MiB less."""
    store.contacts.put({doc_id: stored(doc) for doc_id, doc in store.contacts.raw().items()})


#: from-version → function upgrading the store in place to from-version + 1
MIGRATIONS: dict[int, Callable[[Store], None]] = {1: _details_in_their_own_table, 2: _details_in_their_own_table,
                                                  3: _sparse_contacts}

__all__ = ["Store", "StoreCorruptError", "NotFoundError", "SCHEMA_VERSION"]


class NotFoundError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class LinkSummary:
    count: int
    #: some link is in error, lacks its stamp, or was not merged to a revision (plan again)
    unsettled: bool
    pinned_uuids: list[str]


class Store:
    def __init__(self, path: str | os.PathLike[str], *, backup_dir: Path | None = None,
                 lock_timeout: float = 10.0, compact_records: bool = True):
        """``compact_records=False``: a quicker open for more memory (storage.JournaledStorage)."""
        self.path = Path(path)
        self.backup_dir = backup_dir or self.path.parent / "backups"
        self.db = StoreDB(self.path, lock_timeout=lock_timeout, compact_records=compact_records,
                          deferred_tables=DEFERRED_TABLES, digests=DIGESTS)
        self.storage: JournaledStorage = self.db.storage  # type: ignore[assignment]
        self.storage.read()  # fail now, with the file's name, if it cannot be loaded
        t = self.db.table
        self.contacts: JournaledTable = t("contacts")  # type: ignore[assignment]
        self.profiles: JournaledTable = t("profiles")  # type: ignore[assignment]
        self.links: JournaledTable = t("links")  # type: ignore[assignment]
        #: each link's item id and merge bases, by the link's document id (``LinkRow.details_doc``; read by
        #: a sync only)
        self.link_details: JournaledTable = t("link_details")  # type: ignore[assignment]
        self.runs: JournaledTable = t("runs")  # type: ignore[assignment]
        self.conflicts: JournaledTable = t("conflicts")  # type: ignore[assignment]
        self.journal: JournaledTable = t("journal")  # type: ignore[assignment]
        self.meta: JournaledTable = t("meta")  # type: ignore[assignment]
        self._uuid_index: dict[str, str] = {}
        self._index_generation = -1
        self._schema_recorded = False
        self._bumps = threading.local()  # contact writes per thread (contact_writes_here)
        self._migrate()

    @classmethod
    def open(cls, paths: Paths, **kwargs: Any) -> Store:
        paths.ensure()
        return cls(paths.store_file, backup_dir=paths.backup_dir, **kwargs)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions, locks, schema -----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes: they reach the disk as one journal entry, or not at all."""
        with self.storage.transaction():
            if not self._schema_recorded:
                # Stamp a new store with the schema it is written in, with its first write.
                if self._meta("schema") is None:
                    self._set_meta("schema", version=self.schema_version)
                self._schema_recorded = True
            yield self

    def compaction_deferred(self) -> AbstractContextManager[None]:
        """Many transactions in a row (a sync's batches): the journal is folded once, at the end."""
        return self.storage.compaction_deferred()

    def sync_lock(self, profile: str | None = None) -> FileLock:
        """The lock a sync run holds for its whole duration (one sync per store at a time)."""
        return FileLock(self.path.with_name("sync.lock"), what="sync of this contact store")

    def _meta(self, key: str) -> dict[str, Any] | None:
        for doc in self.meta.raw().values():
            if doc.get("key") == key:
                return doc
        return None

    def _set_meta(self, key: str, **values: Any) -> None:
        self.meta.upsert({"key": key, **values}, Query().key == key)

    @property
    def schema_version(self) -> int:
        doc = self._meta("schema")
        return int(doc["version"]) if doc else (SCHEMA_VERSION if self.is_empty() else 1)

    def is_empty(self) -> bool:
        loaded = self.storage.read()
        return not any(loaded.values()) and not self.storage.table_names() - loaded.keys()  # (nor one unread)

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreCorruptError(self.path, f"it was written by a newer bcsync (schema {version}); upgrade bcsync")
        while version < SCHEMA_VERSION:
            with self.transaction():
                MIGRATIONS[version](self)
                version += 1
                self._set_meta("schema", version=version)

    # --- contacts ------------------------------------------------------------------------------

    @property
    def contacts_revision(self) -> int:
        """The store-wide contacts revision: bumped in the same transaction as every contact write,
        so a sync that finds it where it left it knows the master is unchanged without reading it."""
        doc = self._meta("contacts_revision")
        return int(doc["value"]) if doc else 0

    def _bump_contacts_revision(self) -> None:
        self._set_meta("contacts_revision", value=self.contacts_revision + 1)
        self._bumps.count = self.contact_writes_here() + 1

    def contact_writes_here(self) -> int:
        """How many contact writes the calling thread made through this Store: a sync run compares
        it with the revision's move to know whether every change of the master was its own."""
        return int(getattr(self._bumps, "count", 0))

    def _doc_id(self, uuid: str) -> str | None:
        """The document id of a contact. An index hit is checked against the document, so the
        O(n) rebuild happens only on a miss after a change, not after every commit."""
        raw = self.contacts.raw()  # refreshes from disk
        doc_id = self._uuid_index.get(uuid)
        if doc_id is not None and raw.get(doc_id, {}).get("uuid") == uuid:
            return doc_id
        if self.storage.generation != self._index_generation:
            self._uuid_index = {doc["uuid"]: i for i, doc in raw.items()}
            self._index_generation = self.storage.generation
            return self._uuid_index.get(uuid)
        return None

    def contacts_raw(self) -> list[dict[str, Any]]:
        """Live contacts (no tombstones), straight from memory: treat them as read-only. They are the
        documents as stored, blank fields left out (contact_docs.py): read a field with ``.get``."""
        docs = list(self.contacts.raw().values())
        # Looked for at C speed (most stores hold no tombstone): a key test, not a methodcaller's
        # get (14 -> 6 ms at 50,000 contacts); a document that holds the key is then read properly.
        if any(map(dict.__contains__, docs, repeat("deleted"))):
            return [d for d in docs if not d.get("deleted")]
        return docs

    def all_contacts(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        docs = self.contacts.raw().values()
        return [filled(d) for d in docs if include_deleted or not d.get("deleted")]

    def get_contact(self, uuid: str, include_deleted: bool = False) -> dict[str, Any] | None:
        doc_id = self._doc_id(uuid)
        doc = self.contacts.raw().get(doc_id) if doc_id else None
        if doc is None or (doc.get("deleted") and not include_deleted):
            return None
        return filled(doc)

    def revision_of(self, uuid: str) -> int | None:
        """A live contact's revision (None when it is gone), without copying the contact."""
        doc_id = self._doc_id(uuid)
        doc = self.contacts.raw().get(doc_id) if doc_id else None
        return None if doc is None or doc.get("deleted") else doc.get("revision")

    def find_contact(self, ref: str) -> dict[str, Any]:
        """A live contact by No. (case-insensitive) or UUID; NotFoundError names what was asked."""
        found = self.get_contact(ref)
        if found:
            return found
        wanted = ref.strip().upper()
        for doc in self.contacts.raw().values():
            if not doc.get("deleted") and doc.get("no", "").upper() == wanted:
                return filled(doc)
        raise NotFoundError(f"no contact with number or id {ref!r}")

    def next_number(self) -> str:
        """The next number of the contact number series; unique across processes (under the lock)."""
        with self.transaction():
            return self._allocate_numbers(1)[0]

    def _allocate_numbers(self, count: int, taken: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """The contact number allocator: ``count`` numbers of the series that no contact (nor
        ``taken``) uses, the series advanced past them. Call inside a transaction."""
        series = self._meta("number_series") or {"prefix": "CT", "last": 0, "width": 6}
        used = {d.get("no") for d in self.contacts.raw().values()} | set(taken)
        last, prefix, width = int(series["last"]), str(series["prefix"]), int(series["width"])
        # The next ``count`` numbers at once (an import of 50,000 unnumbered contacts: a fifth of the
        # time of one by one), unless one of them is taken: then one by one, skipping those.
        out = [prefix + str(n).zfill(width) for n in range(last + 1, last + 1 + count)]  # (f"{n:0{width}d}")
        if used.isdisjoint(out):
            last += count
        else:
            out = []
            while len(out) < count:
                last += 1
                number = prefix + str(last).zfill(width)
                if number not in used:
                    out.append(number)
        if count:
            self._set_meta("number_series", prefix=series["prefix"], last=last, width=series["width"])
        return out

    def _stamp_new(self, data: dict[str, Any]) -> dict[str, Any]:
        contact = model.prepare(data)
        contact["uuid"] = data.get("uuid") or model.new_uuid()
        if not contact["no"]:
            contact["no"] = self.next_number()
        now = model.utc_now()
        contact["created_at"] = contact["modified_at"] = now
        contact["revision"] = 1
        return contact

    def add_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and insert a contact; raises model.ValidationError with every bad field."""
        with self.transaction():
            contact = self._stamp_new(data)
            if self._number_taken(contact["no"]):
                raise model.ValidationError({"no": f"number {contact['no']} is already used"})
            doc_id = self.contacts.insert(stored(contact))
            self._uuid_index[contact["uuid"]] = str(doc_id)
            self._bump_contacts_revision()
        return dict(contact)

    def _number_taken(self, number: str, except_uuid: str | None = None) -> bool:
        return any(d.get("no") == number and d.get("uuid") != except_uuid
                   for d in self.contacts.raw().values())

    def add_contacts(self, rows: list[dict[str, Any]], *, prepared: bool = False) -> list[dict[str, Any]]:
        """Insert many already-validated rows in one transaction (imports, demo data). With
        ``prepared`` the rows are what ``model.prepare`` returned (an import plan's contacts):
        they are copied, not normalised a second time."""
        with self.transaction():
            now = model.utc_now()
            out = [dict(row) for row in rows] if prepared else [model.normalise(row) for row in rows]
            numbers = iter(self._allocate_numbers(sum(1 for c in out if not c["no"]),
                                                  {c["no"] for c in out if c["no"]}))
            uuids = iter(model.new_uuids(sum(1 for row in rows if not row.get("uuid"))))
            for row, contact in zip(rows, out, strict=True):
                contact["uuid"] = row.get("uuid") or next(uuids)
                contact["no"] = contact["no"] or next(numbers)
                contact["created_at"] = row.get("created_at") or now
                contact["modified_at"] = now
                contact["revision"] = 1
            self.contacts.insert_multiple(map(stored, out))
            if out:
                self._bump_contacts_revision()
        return out

    def add_prepared_contacts(self, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``add_contacts(contacts, prepared=True)`` for a big import, which hands over contacts
        nothing else holds (an import plan's): they become the stored documents themselves, not
        copies (a whole one is made sparse: ``contact_docs.stored``; the plan's bulk rows are
        sparse already), their uuids are drawn at once, and they enter the table in one update. Returns
        them: read-only for the caller, like ``contacts_raw``."""
        with self.transaction():
            now = model.utc_now()
            numbers = iter(self._allocate_numbers(sum(1 for c in contacts if not c.get("no")),
                                                  {c["no"] for c in contacts if c.get("no")}))
            uuids = iter(model.new_uuids(len(contacts)))
            for contact in contacts:
                contact["uuid"] = contact.get("uuid") or next(uuids)
                contact["no"] = contact.get("no") or next(numbers)
                contact["created_at"] = contact.get("created_at") or now
                contact["modified_at"] = now
                contact["revision"] = 1
            if contacts:
                whole = len(model._BLANK)  # (a sparse one has fewer keys: not walked)
                contacts = [stored(c) if len(c) >= whole else c for c in contacts]
                doc_ids = map(str, self.storage.next_ids(self.contacts.name, len(contacts)))
                self.contacts.put(dict(zip(doc_ids, contacts)))
                self._bump_contacts_revision()
        return contacts

    def update_contact(self, uuid: str, changes: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Apply field changes; bumps revision and modified time only when something really changed."""
        with self.transaction():
            doc_id = self._doc_id(uuid)
            current = self.contacts.raw().get(doc_id) if doc_id else None
            if current is None or current.get("deleted"):
                raise NotFoundError(f"no contact with id {uuid}")
            current = filled(current)
            merged = {**current, **{k: v for k, v in changes.items() if k in model.EDITABLE_KEYS or k == "no"}}
            updated = model.prepare(merged) if validate else model.normalise(merged)
            if updated["no"] != current["no"] and self._number_taken(updated["no"], uuid):
                raise model.ValidationError({"no": f"number {updated['no']} is already used"})
            diff = {k: updated[k] for k in model.EDITABLE_KEYS + ("no",) if updated[k] != current[k]}
            if diff:
                diff["revision"] = int(current.get("revision", 0)) + 1
                diff["modified_at"] = model.utc_now()
                self._replace_contact(doc_id, diff)
                self._bump_contacts_revision()
            return filled(self.contacts.raw()[doc_id])

    def delete_contact(self, uuid: str) -> None:
        """Delete from the master, keeping a tombstone so every profile's sync can act on it."""
        with self.transaction():
            doc_id = self._doc_id(uuid)
            current = self.contacts.raw().get(doc_id) if doc_id else None
            if current is None or current.get("deleted"):
                raise NotFoundError(f"no contact with id {uuid}")
            self._replace_contact(doc_id, {"deleted": True, "deleted_at": model.utc_now(),
                                           "revision": int(current.get("revision", 0)) + 1})
            self._bump_contacts_revision()

    def _replace_contact(self, doc_id: str, changes: dict[str, Any]) -> None:
        """A contact changes by being replaced with a new record (``JournaledTable.put``), never
        edited in place: a sync's snapshot of the master keeps the version it read, without a copy
        of every contact. (A reload or another process's journal line replaces records too.)"""
        with self.transaction():
            self.contacts.put({doc_id: stored({**self.contacts.raw()[doc_id], **changes})})

    def purge_tombstone(self, uuid: str) -> None:
        with self.transaction():
            doc_id = self._doc_id(uuid)
            if doc_id and self.contacts.raw()[doc_id].get("deleted"):
                self.contacts.remove(doc_ids=[int(doc_id)])
                self._bump_contacts_revision()

    # --- generic keyed records (profiles, links, runs, ...) -------------------------------------

    @staticmethod
    def docs(table: JournaledTable, **where: Any) -> list[Document]:
        """Records whose fields equal ``where`` (doc ids kept, so callers can update them)."""
        return [Document(d, int(i)) for i, d in table.raw().items()
                if all(d.get(k) == v for k, v in where.items())]

    # --- sync links and journal (one profile's rows) ---------------------------------------------

    def _profile_links(self, profile: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(document id, link document) of one profile's links, as stored (no copies)."""
        return ((i, d) for i, d in self.links.raw().items() if d.get("profile") == profile)

    def _links_digest(self, profile: str) -> DigestLinks | None:
        """The profile's links as the snapshot's digest of them says (the table left unread: the TUI's
        badges and a run's first look need no more), None if the table is what to read."""
        if (digest := self.storage.digest(self.links.name)) is not None:
            try:
                return DigestLinks(*digest, profile)
            except ValueError:
                pass  # not a digest bcsync made: the table says
        return None

    def link_summary(self, profile: str) -> LinkSummary:
        """What a run needs to know of a profile's links before it decides to plan, without
        building a row per link (a no-change sync of 50,000 contacts: ~0.3 s of CPU less)."""
        if (digest := self._links_digest(profile)) is not None:
            return LinkSummary(digest.count, digest.unsettled, digest.pinned)
        count, unsettled, pinned = 0, False, []
        for _, d in self._profile_links(profile):
            count += 1
            if d.get("error") or d.get("needs_stamp") or d.get("synced_revision") is None:
                unsettled = True
            if d.get("pinned"):
                pinned.append(d["contact_uuid"])
        return LinkSummary(count, unsettled, pinned)

    def links_of(self, profile: str) -> dict[int, LinkRow]:
        """The profile's link rows with their item ids and bases, by document id."""
        details = self.link_details.raw()
        return {int(i): LinkRow.from_doc(d, details.get(i)) for i, d in self._profile_links(profile)}

    def link_keys(self, profile: str) -> dict[str, str]:
        """The profile's links as item id -> change key, without a row per link: what a run's end
        compares its read-back with (50,000 LinkRows would be ~20 MiB at a first sync's peak)."""
        return {d["item_id"]: d.get("change_key") or "" for _, d in self._profile_link_details(profile)}

    def link_doc_ids(self, profile: str) -> dict[str, int]:
        """The profile's links as item id -> document id, without a row per link."""
        return {d["item_id"]: int(i) for i, d in self._profile_link_details(profile)}

    def _profile_link_details(self, profile: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(document id, details document) of one profile's links, as stored; a link from before
        schema 3 that has none holds its details itself."""
        details = self.link_details.raw()
        return ((i, details.get(i) or d) for i, d in self._profile_links(profile))

    def links_by_contact(self, profile: str) -> LinkIndex:
        """The profile's links by contact uuid, each made a LinkRow when looked up (for a screen that
        shows a few of many: ``links_of`` builds every row)."""
        if (digest := self._links_digest(profile)) is not None:
            return LinkIndex(digest, digest.is_pinned)
        return LinkIndex({d["contact_uuid"]: d for d in self.links.raw().values()
                          if d.get("profile") == profile})  # (not _profile_links: a third of the time)

    def link_at(self, doc_id: int) -> LinkRow | None:
        doc = self.links.raw().get(str(doc_id))
        return LinkRow.from_doc(doc, self.link_details.raw().get(str(doc_id))) if doc is not None else None

    def save_link(self, link: LinkRow, doc_id: int | None = None) -> int:
        """Insert a link row, or replace the one at ``doc_id``, with its details (always both: a new
        link never meets details a removed one left); returns its document id. Inside the caller's
        transaction when there is one (a sync saves a batch's links in one): no transaction of its own."""
        if not (self._schema_recorded and self.storage.in_transaction):
            with self.transaction():  # a new id is chosen under the lock
                return self.save_link(link, doc_id)
        doc, new = link.to_doc(), doc_id is None
        if doc_id is None:
            doc_id = self.storage.next_id(self.links.name)
        key = str(doc_id)
        if not new and (extra := {k: v for k, v in self.links.raw()[key].items() if k not in LINK_FIELDS}):
            doc = {**extra, **doc}  # what a newer bcsync may have added stays
        self.links.put_one(key, doc)
        self.link_details.put_one(key, link.details_doc())  # (one key string for both: 50,000 fewer)
        return doc_id

    def remove_links(self, doc_ids: list[int]) -> None:
        """Remove these links and their details, in one transaction."""
        if doc_ids:
            with self.transaction():
                self.links.remove(doc_ids=doc_ids)
                details = self.link_details.raw()
                if gone := [i for i in doc_ids if str(i) in details]:
                    self.link_details.remove(doc_ids=gone)

    def journal_creates(self, profile: str, run_id: str, uuids: list[str]) -> list[int]:
        """Journal entries for Outlook creates about to be sent (see executor.py); their doc ids."""
        now = model.utc_now()
        return list(self.journal.insert_multiple({"profile": profile, "op": "create", "contact_uuid": uuid,
                                                  "run_id": run_id, "at": now} for uuid in uuids))

    def remove_journal(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self.journal.remove(doc_ids=doc_ids)

    def log_conflict(self, row: dict[str, Any]) -> None:
        self.conflicts.insert(row)

    def journal_of(self, profile: str) -> list[Document]:
        """The profile's open journal entries (Outlook creates not yet confirmed), doc ids kept."""
        return self.docs(self.journal, profile=profile)

    def drop_journal(self, profile: str, keep_run: str) -> None:
        """Remove the profile's journal entries except those of run ``keep_run``."""
        self.remove_journal([d.doc_id for d in self.journal_of(profile) if d.get("run_id") != keep_run])

    # --- backups -------------------------------------------------------------------------------

    def backup(self, reason: str) -> Path:
        """Write a consolidated copy of the store to the backup folder; keep the newest few."""
        ensure_private_dir(self.backup_dir)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe = re.sub(r"[^a-z0-9-]+", "-", reason.lower()).strip("-") or "manual"
        target = self.backup_dir / f"store-{stamp}-{safe}.json"
        with self.storage.lock:
            self.storage.refresh()
            self.storage.write_backup(target)
        for old in self.list_backups()[BACKUPS_KEPT:]:
            old.unlink(missing_ok=True)
        return target

    def list_backups(self) -> list[Path]:
        """Newest first."""
        if not self.backup_dir.is_dir():
            return []
        return sorted(self.backup_dir.glob("store-*.json"), reverse=True)

    def restore(self, backup: Path) -> Path:
        """Replace the store with a backup (checked first); the current store is backed up before."""
        # (its snapshot written as ours are)
        probe = JournaledStorage(backup, deferred_tables=DEFERRED_TABLES, digests=DIGESTS)
        probe.read()  # raises StoreCorruptError naming the backup if it is unusable (its checksum covers all)
        probe.materialize_all()  # held in memory
        saved = self.backup("before-restore")  # may rotate `backup` itself away: we have its data
        with self.storage.lock:
            self.storage.refresh()
            # Number the restored snapshot past the current journal, so a crash before the journal
            # is removed cannot replay the replaced store's transactions over the backup.
            probe._seq = max(probe._seq, self.storage._seq)
            probe.write_snapshot(self.path)
            self.storage.wal_path.unlink(missing_ok=True)
        self.storage.refresh()
        return saved
