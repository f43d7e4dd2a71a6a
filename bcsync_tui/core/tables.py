"""TinyDB glue for the journaled storage: tables whose writes become journal entries.

TinyDB's Table rewrites its whole table through ``Storage.write`` on every change; these tables
record which documents an update touched instead, so a transaction journals only those.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from .storage import JournaledStorage


class _TrackingView(MutableMapping):
    """The table as TinyDB's updaters see it (int ids), remembering which documents they touched."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        #: the ids written, in the order written (a dict as an ordered set): the journal lists them in
        #: that order, so a reader replaying it holds the records in the order this process does
        self.touched: dict[str, None] = {}

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        doc = self.raw[key]
        self.touched[key] = None  # updaters mutate the returned document in place
        return doc

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self.raw[key] = doc
        self.touched[key] = None

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        del self.raw[key]
        self.touched[key] = None

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self.raw

    def __iter__(self) -> Iterator[int]:
        return iter([int(k) for k in self.raw])

    def __len__(self) -> int:
        return len(self.raw)


class JournaledTable(Table):
    """A TinyDB table whose writes journal only the documents they touch."""

    _storage: JournaledStorage

    def __init__(self, storage: JournaledStorage, name: str, cache_size: int = 10, persist_empty: bool = False):
        self._seen_generation = -1
        super().__init__(storage, name, cache_size=cache_size, persist_empty=persist_empty)

    def _sync_cache(self) -> None:
        self._storage.refresh()
        if self._storage.generation != self._seen_generation:
            self.clear_cache()
            self._seen_generation = self._storage.generation

    def search(self, cond):  # type: ignore[override]
        self._sync_cache()
        return super().search(cond)

    def _read_table(self) -> dict[str, Any]:
        self._sync_cache()
        self._storage.materialize(self.name)  # (a deferred table is read when first used)
        return super()._read_table()

    def _get_next_id(self) -> int:
        return self._storage.next_id(self.name)

    def insert(self, document):  # type: ignore[override]
        with self._storage.transaction():  # the id must be chosen under the lock
            return super().insert(document)

    def insert_multiple(self, documents):  # type: ignore[override]
        with self._storage.transaction():
            return super().insert_multiple(documents)

    # TinyDB's update/remove by condition read every document through the updater, which would
    # mark them all touched and journal the whole table: match first, then change only the matches.
    def _matching_ids(self, cond) -> list[int]:
        return [int(k) for k, doc in self._storage.table_data(self.name).items() if cond(doc)]

    def update(self, fields, cond=None, doc_ids=None):  # type: ignore[override]
        if cond is None or doc_ids is not None:
            return super().update(fields, cond, doc_ids)
        with self._storage.transaction():  # matched and changed under the lock
            return super().update(fields, doc_ids=self._matching_ids(cond))

    def remove(self, cond=None, doc_ids=None):  # type: ignore[override]
        if cond is None or doc_ids is not None:
            return super().remove(cond, doc_ids)
        with self._storage.transaction():
            return super().remove(doc_ids=self._matching_ids(cond))

    def upsert(self, document, cond=None):  # type: ignore[override]
        with self._storage.transaction():  # the update-or-insert decision under the lock
            return super().upsert(document, cond)

    def _update_table(self, updater) -> None:  # type: ignore[override]
        with self._storage.transaction():
            view = _TrackingView(self._storage.table_data(self.name))
            self._storage._touched = True
            updater(view)
            self._storage.record(self.name, view.touched)
        self.clear_cache()

    def put(self, docs: dict[str, Any]) -> None:
        """Write these documents by id string, each inserted or replaced whole, as one change that
        journals only them. A record is replaced, never edited in place, so whoever holds the old
        one (a sync's snapshot of the master) keeps the version it read; and without TinyDB's copy
        and checks of each document (a first sync writes a link per contact, an import 50,000)."""
        def write(view: _TrackingView) -> None:
            view.raw.update(docs)
            view.touched.update(dict.fromkeys(docs))
        self._update_table(write)

    def put_one(self, doc_id: str, doc: Any) -> None:
        """``put`` of one document (a sync saves a link at a time: without a view and a dict per call)."""
        storage = self._storage
        if not storage.in_transaction:
            with storage.transaction():
                return self.put_one(doc_id, doc)
        storage.table_data(self.name)[doc_id] = doc
        storage._touched = True
        storage.record(self.name, (doc_id,))
        self.clear_cache()

    def raw(self) -> dict[str, Any]:
        """The table's documents by id string, without copies: read-only for callers."""
        return self._read_table()


class StoreDB(TinyDB):
    table_class = JournaledTable
    default_storage_class = JournaledStorage
    storage: JournaledStorage  # type: ignore[assignment]

    def tables(self) -> set[str]:
        return self.storage.table_names()  # a deferred table not read yet too

    def drop_table(self, name: str) -> None:
        self._tables.pop(name, None)
        self.storage.drop(name)

    def drop_tables(self) -> None:
        self._tables.clear()
        self.storage.drop(*self.storage.table_names())
