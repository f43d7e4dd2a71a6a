"""A TinyDB storage that can never be half-written, and stays fast at 50,000 contacts.

Stock ``JSONStorage`` re-serialises the whole database into the same file on every write: slow
(~0.3 s at 50,000 contacts) and a crash mid-write leaves a truncated file. Here the database is:

* ``store.json``: a snapshot, only ever replaced whole (temp file + fsync + rename + fsync dir);
* ``store.json.wal``: an append-only journal. One transaction = one line ``<json> <crc32>\\n``,
  appended and fsynced. A last line without its newline is a crash residue (the transaction did
  not happen) and is ignored; a complete line (newline-terminated) with a bad checksum is
  corruption, wherever it is, and loading stops with an error that names the file: never dropped.

The data stays in memory between operations; before each read, two ``stat`` calls tell whether
another process appended (then only the new lines are read) or compacted (then it is reloaded).
Writers hold a cross-process lock for the span of a transaction and refresh under it, so nobody's
update is lost. When the journal grows past a fraction of the snapshot, it is folded into a new
snapshot.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinydb.storages import Storage

from .gc_pause import paused_gc
from .lock import FileLock
from .paths import ensure_private_dir, file_problem, fsync_dir, write_private_stream
from .snapshot_sums import ChecksumMismatch, has_checksum, head_crc, snapshot_patches, stored_checksum
from .store_errors import StoreCorruptError, check_tables, unreadable
from .store_format import decode_line, encode_line, snapshot_chunks
from .store_signature import file_signature, open_signature

if TYPE_CHECKING:
    from .snapshot_read import Tail

_DROP = object()
_JOURNAL_TODO = ("It holds changes made since the last snapshot, so bcsync will not drop them: restore a backup "
                 "with `bcsync backups` / `bcsync restore BACKUP` (the current files are kept aside).")


class _Unreadable(Exception):
    """Reading a file back failed (not an OSError: the writer would take it for its own)."""


def _blocks(f: Any) -> Iterator[bytes]:
    """A snapshot file's bytes a megabyte at a time, its checksum checked as they go (its tail is
    not checked when it is loaded: see ``snapshot_sums.tail_sums``)."""
    crc = expected = None
    first = True
    while True:
        try:
            block: bytes = f.read(1 << 20)
        except OSError as exc:
            raise _Unreadable(str(exc)) from exc
        if not block:
            if crc != expected:
                raise _Unreadable("its checksum does not match its content")
            return
        if first and has_checksum(block):  # (one from before the checksum is copied as it is)
            expected, crc = stored_checksum(block), head_crc(block)
        elif crc is not None:
            crc = zlib.crc32(block, crc)
        first = False
        yield block


def _digest_parts(docs: dict[str, Any], seq: int) -> list[Any] | None:
    """A digest's parts from its table in a snapshot of ``seq``; None unless all were made with it
    (a table of that name some other writer kept would be stale)."""
    records = [docs[k] for k in sorted(docs, key=int)]
    if not records or not all(r.get("seq") == seq and "part" in r for r in records):
        return None
    return [r["part"] for r in records]


#: a transaction of at least this many records, and more than a quarter of the store, is written
#: as a new snapshot instead of a journal line (see ``_commit_as_snapshot``)
BULK_OPS = 2000

#: the names of a snapshot's digests (``JournaledStorage(digests=...)``) begin so; such a table is never data
DIGEST_PREFIX = "digest:"


class JournaledStorage(Storage):
    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0,
                 compact_min_bytes: int = 1 << 20, compact_records: bool = True,
                 deferred_tables: Collection[str] = (),
                 digests: Mapping[str, Callable[[dict[str, Any]], list[Any]]] | None = None):
        self.path = Path(path)
        #: records rebuilt to their smallest size when read (``store_format.parse_snapshot_lines``)
        self.compact_records = compact_records
        #: tables decoded only when first used (``materialize``): a process that never reads them
        #: (the TUI never reads the links' details; a sync runs in a child) neither decodes nor holds
        #: them. A snapshot puts them last (its tail), and loading reads the file only up to there.
        self.deferred_tables = frozenset(deferred_tables)
        #: for some deferred tables, what each snapshot holds besides them, before its tail: a digest
        #: of the table made by this function from its documents (a few columns of it, say), decoded
        #: with the head. A reader that needs no more than that (``digest``) leaves the table unread.
        self.digests = dict(digests or {})
        assert self.deferred_tables.issuperset(self.digests), "a digest is of a deferred table"
        #: the loaded snapshot's digests of the deferred tables not read yet
        self._digests: dict[str, list[Any]] = {}
        #: the tables of the loaded snapshot's tail not read yet, and where that tail lies in it
        self._deferred: set[str] = set()
        self._tail: Tail | None = None
        #: journal changes to a deferred table not read yet, by document id (None: removed)
        self._deferred_ops: dict[str, dict[str, Any]] = {}
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        # The directory is made by the first write, not here: a read (`bcsync status`) creates nothing.
        self.lock = FileLock(self.path.with_name(self.path.name + ".lock"), guard_dir=True)
        self.lock_timeout = lock_timeout
        self._remove_orphaned_temp_files()
        self.compact_min_bytes = compact_min_bytes
        self._defer_compaction = 0  # > 0: commits leave the journal to grow (compaction_deferred)
        #: bumped whenever the in-memory data changes (own commit or another process's)
        self.generation = 0
        self._data: dict[str, dict[str, Any]] | None = None
        self._seq = 0
        self._snap_sig: tuple[int, int, int] | None = None
        self._snap_size = 0
        self._wal_sig: tuple[int, int, int] | None = None
        self._wal_offset = 0
        self._pending: dict[tuple[str, str | None], Any] | None = None
        self._depth = 0
        self._touched = False
        self._max_ids: dict[str, int] = {}

    def _remove_orphaned_temp_files(self) -> None:
        """A writer killed during a snapshot leaves ``.store.json.<pid>.tmp`` (a full copy of the
        data); remove those whose process is gone."""
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            try:
                pid = int(tmp.name.rsplit(".", 2)[-2])
                os.kill(pid, 0)
            except ValueError:
                continue  # not one of ours
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
            except PermissionError:
                pass  # that process is alive (another user's)

    # --- loading ------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Bring the in-memory data up to date with the files; True if anything changed."""
        if self._depth:  # inside our own transaction we already hold the latest state
            return False
        snap_sig, wal_sig = file_signature(self.path), file_signature(self.wal_path)
        if self._data is not None and snap_sig == self._snap_sig and wal_sig == self._wal_sig:
            return False
        if self._whole_reload_needed(snap_sig, wal_sig):
            self._load_all()
        else:
            self._apply_wal_tail()
        self.generation += 1
        return True

    def signature(self) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        """The (snapshot, journal) signature of the files the data in memory reflects (refreshed
        first): anything derived from this data is current while ``store_signature.files_signature``
        still equals it."""
        self.refresh()
        return self._snap_sig, self._wal_sig

    def _whole_reload_needed(self, snap_sig: tuple[int, int, int] | None,
                             wal_sig: tuple[int, int, int] | None) -> bool:
        return (self._data is None or snap_sig != self._snap_sig or wal_sig is None
                or self._wal_sig is None or wal_sig[0] != self._wal_sig[0] or wal_sig[1] < self._wal_offset)

    def reload_needed(self) -> bool:
        """Whether ``refresh`` would read the whole snapshot (another process compacted): a UI can
        then load a fresh copy in a thread (``loaded_copy``) and ``adopt`` it, instead of waiting."""
        return not self._depth and self._whole_reload_needed(file_signature(self.path),
                                                             file_signature(self.wal_path))

    def loaded_copy(self) -> "JournaledStorage":
        """A new instance on the same files, loaded (safe to call from another thread)."""
        copy = JournaledStorage(self.path, lock_timeout=self.lock_timeout, compact_min_bytes=self.compact_min_bytes,
                                compact_records=self.compact_records, deferred_tables=self.deferred_tables,
                                digests=self.digests)
        copy.refresh()
        return copy

    def adopt(self, other: "JournaledStorage") -> bool:
        """Take over the in-memory state of another instance on the same files (``loaded_copy``)
        instead of re-reading them. Only if the other is at least as new; True if taken."""
        if (self._depth or other._depth or other is self or other._data is None or other.path != self.path
                or other._seq < self._seq):
            return False
        self._data, self._seq = other._data, other._seq
        self._deferred, self._deferred_ops, self._tail = other._deferred, other._deferred_ops, other._tail
        self._digests = other._digests
        self._snap_sig, self._snap_size = other._snap_sig, other._snap_size
        self._wal_sig, self._wal_offset = other._wal_sig, other._wal_offset
        other._forget()  # it would reload before any further use
        self._max_ids = {}
        self.generation += 1
        return True

    def _forget(self) -> None:
        """Drop what memory holds: the next read loads the files again."""
        self._data, self._snap_sig = None, None
        self._no_tail()

    def _no_tail(self) -> None:
        """No table is left unread (none deferred, or all read)."""
        self._deferred, self._deferred_ops, self._tail, self._digests = set(), {}, None, {}

    def _load_all(self) -> None:
        from .snapshot_read import read_snapshot  # (not for `bcsync status`, which reads no store)

        for _ in range(5):  # another process may compact while we read: retry until stable
            snap_sig = file_signature(self.path)
            self._no_tail()
            with paused_gc():
                loaded = read_snapshot(self.path, self.deferred_tables, self.compact_records)
            self._data, self._seq, self._snap_sig = loaded.tables, loaded.seq, snap_sig
            digests = {name[len(DIGEST_PREFIX):]: self._data.pop(name)
                       for name in [n for n in self._data if n.startswith(DIGEST_PREFIX)]}
            if loaded.tail is not None:
                self._deferred, self._tail = set(loaded.tail.names), loaded.tail
                self._digests = {name: parts for name, docs in digests.items()
                                 if name in self._deferred and (parts := _digest_parts(docs, loaded.seq)) is not None}
            self._snap_size = snap_sig[1] if snap_sig else 0
            self._wal_offset, self._wal_sig = 0, None
            self._apply_wal_tail()
            if file_signature(self.path) == snap_sig:
                break
        self._max_ids = {}

    def _apply_wal_tail(self) -> None:
        assert self._data is not None
        try:
            with open(self.wal_path, "rb") as fh:
                fh.seek(self._wal_offset)
                chunk = fh.read()
                wal_sig = open_signature(fh.fileno())
        except FileNotFoundError:
            self._wal_sig = None
            return
        except OSError as exc:
            raise unreadable(self.wal_path, exc) from exc
        pos = 0
        while pos < len(chunk):
            end = chunk.find(b"\n", pos)
            if end < 0:
                # No newline: a torn write (the transaction never committed), unless it is a whole
                # entry whose final newline byte was damaged.
                if decode_line(chunk[pos:-1]) is not None:
                    raise StoreCorruptError(self.wal_path, f"damaged journal entry at byte {self._wal_offset + pos}",
                                            _JOURNAL_TODO)
                break
            record = decode_line(chunk[pos:end])
            if record is None:  # a complete line: it committed, and is damaged now
                raise StoreCorruptError(self.wal_path, f"damaged journal entry at byte {self._wal_offset + pos}",
                                        _JOURNAL_TODO)
            if record["seq"] > self._seq:
                self._apply_ops(record["ops"])
                self._seq = record["seq"]
            pos = end + 1
        self._wal_offset += pos
        self._wal_sig = wal_sig
        self._max_ids = {}

    def _apply_ops(self, ops: list[list[Any]]) -> None:
        assert self._data is not None
        for table, doc_id, doc in ops:
            if table in self._deferred:
                if doc_id is not None:  # kept for when the table is read (``materialize``)
                    self._deferred_ops.setdefault(table, {})[doc_id] = doc
                    continue
                self._deferred.discard(table)  # dropped: what it held is gone unread
                self._deferred_ops.pop(table, None)
            if doc_id is None:
                self._data.pop(table, None)
            elif doc is None:
                self._data.get(table, {}).pop(doc_id, None)
            else:
                self._data.setdefault(table, {})[doc_id] = doc

    # --- TinyDB's Storage interface -------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        """Every table but the deferred ones not read yet (``table`` reads one of those)."""
        self.refresh()
        assert self._data is not None
        return self._data

    def table(self, name: str) -> dict[str, Any] | None:
        """One table's documents (read first if it was deferred), None if there is no such table."""
        self.refresh()
        self.materialize(name)
        assert self._data is not None
        return self._data.get(name)

    def materialize(self, name: str) -> None:
        """Decode a deferred table now (with the others of the snapshot's tail: its bytes read again
        from the snapshot loaded), with the journal's changes to them since. If another process
        replaced the snapshot meanwhile (outside a transaction), the store is loaded again first."""
        if name not in self._deferred:
            return
        from .snapshot_read import read_tail

        for _ in range(5):
            if name not in self._deferred:  # (the store loaded again had it read already)
                return
            assert self._tail is not None
            with paused_gc():
                tables = read_tail(self.path, self._tail, self._snap_sig, self.compact_records)
            if tables is not None:
                break
            if self._depth:  # under our own lock nobody replaces the snapshot
                raise StoreCorruptError(self.path, "it changed while bcsync held its lock")
            self._load_all()
            self.generation += 1
        else:
            raise StoreCorruptError(self.path, "it kept changing while being read", "Try again.")
        assert self._data is not None
        for table in self._deferred:
            docs = tables.get(table, {})
            for doc_id, doc in self._deferred_ops.get(table, {}).items():
                if doc is None:
                    docs.pop(doc_id, None)
                else:
                    docs[doc_id] = doc
            self._data[table] = docs
        self._no_tail()

    def digest(self, name: str) -> tuple[list[Any], dict[str, dict[str, Any] | None]] | None:
        """The digest of a table not read yet (``digests``), as the loaded snapshot holds it, and the
        journal's changes to the table since (document id -> document, None: removed); None if the
        table is read (or has no digest in the snapshot): the table itself is then what is current."""
        self.refresh()
        parts = self._digests.get(name) if name in self._deferred else None
        return None if parts is None else (parts, self._deferred_ops.get(name, {}))

    def _check_tail(self) -> None:
        """Before a write: the loaded snapshot's tail, not read yet, is checked against the sum its head
        holds (once: a few tens of ms at 50,000 links), so nothing is written to a store whose file
        is damaged (loading checked the rest)."""
        if self._tail is None or self._tail.crc is None:
            return
        from .snapshot_read import check_tail

        if not check_tail(self.path, self._tail, self._snap_sig):
            raise StoreCorruptError(self.path, "it changed while bcsync held its lock")
        self._tail = replace(self._tail, crc=None)

    def materialize_all(self) -> None:
        for name in list(self._deferred):
            self.materialize(name)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Whole-database writes from TinyDB (dropping tables): journal the difference."""
        with self.transaction():
            self.materialize_all()  # what TinyDB leaves out of ``data`` goes: a deferred table too
            assert self._data is not None and self._pending is not None
            for name in list(self._data):
                if name not in data:
                    self._pending[(name, None)] = _DROP
                    del self._data[name]
            for name, table in data.items():
                if self._data.get(name) is not table:
                    self._pending[(name, None)] = _DROP
                    self._data[name] = table
                    for doc_id in table:
                        self._pending[(name, doc_id)] = True

    def drop(self, *names: str) -> None:
        """Drop these tables, as one transaction (TinyDB's ``drop_table`` edits the dict ``read``
        returned before its ``write``, so that would not see what went)."""
        with self.transaction():
            assert self._data is not None and self._pending is not None
            for name in names:
                if name in self._data or name in self._deferred:
                    self._pending[(name, None)] = _DROP
                self._data.pop(name, None)
                self._deferred.discard(name)
                self._deferred_ops.pop(name, None)
                self._digests.pop(name, None)

    def table_names(self) -> set[str]:
        self.refresh()
        assert self._data is not None
        return set(self._data) | set(self._deferred)

    def close(self) -> None:
        self.lock.release()

    # --- transactions -------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside goes to disk as one journal line, under the store lock."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.lock.acquire(self.lock_timeout)
        try:
            self.refresh()
            self._check_tail()
            self._pending = {}
            self._touched = False
            self._depth = 1
            try:
                yield
            except BaseException:
                if self._pending or self._touched:
                    self._forget()  # in-memory state may be half-applied: reload from disk
                raise
            finally:
                self._depth = 0
            try:
                self._commit()
            except BaseException:
                self._forget()  # memory holds a transaction that did not reach the disk: reload
                raise
        finally:
            self._pending = None
            self.lock.release()

    def record(self, table: str, doc_ids: Iterable[str]) -> None:
        assert self._pending is not None, "record() outside a transaction"
        for doc_id in doc_ids:
            self._pending[(table, doc_id)] = True

    def table_data(self, table: str) -> dict[str, Any]:
        self.materialize(table)
        assert self._data is not None
        return self._data.setdefault(table, {})

    def next_id(self, table: str) -> int:
        if table not in self._max_ids:
            docs = self.table(table) or {}
            self._max_ids[table] = max(map(int, docs), default=0)
        self._max_ids[table] += 1
        return self._max_ids[table]

    def next_ids(self, table: str, count: int) -> range:
        """``count`` new document ids at once (a bulk insert)."""
        if count <= 0:
            return range(0)
        first = self.next_id(table)
        self._max_ids[table] += count - 1
        return range(first, first + count)

    def _commit(self) -> None:
        assert self._data is not None and self._pending is not None
        if not self._pending:
            return
        if (not self._defer_compaction and len(self._pending) >= BULK_OPS
                and len(self._pending) * 4 > sum(map(len, self._data.values()))):
            self._commit_as_snapshot()
            return
        ops: list[list[Any]] = []
        for (table, doc_id), mark in self._pending.items():
            if doc_id is None:
                ops.append([table, None, None])
                continue
            ops.append([table, doc_id, self._data.get(table, {}).get(doc_id)])
        self._seq += 1
        line = encode_line({"seq": self._seq, "ops": ops})
        new_file = not self.wal_path.exists()
        ensure_private_dir(self.wal_path.parent)
        try:
            fd = os.open(self.wal_path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise file_problem(self.wal_path, exc) from exc
        try:
            try:
                # Drop a torn tail a crashed writer may have left behind our last valid line.
                if os.fstat(fd).st_size != self._wal_offset:
                    os.ftruncate(fd, self._wal_offset)
                os.lseek(fd, self._wal_offset, os.SEEK_SET)
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException as exc:
                try:  # the write failed (disk full, I/O error): cut the line off, it did not happen
                    os.ftruncate(fd, self._wal_offset)
                except OSError:
                    pass
                if isinstance(exc, OSError):
                    raise file_problem(self.wal_path, exc) from exc
                raise
            wal_sig = open_signature(fd)
        finally:
            os.close(fd)
        if new_file:
            fsync_dir(self.wal_path.parent)
        self._wal_offset += len(line)
        self._wal_sig = wal_sig
        self.generation += 1
        if not self._defer_compaction:
            self._compact_if_due()

    def _compact_if_due(self) -> None:
        if self._wal_offset > max(self.compact_min_bytes, self._snap_size // 4):
            try:
                self.compact()
            except OSError:
                pass  # the transaction is durable in the journal; the next commit compacts again

    @contextmanager
    def compaction_deferred(self) -> Iterator[None]:
        """Commits inside append to the journal only; the journal is folded once at the end (if due).
        For a run of many transactions that grow the store (a first sync writes a link per contact):
        each would otherwise re-encode the whole, growing store every time the journal passes a
        quarter of the snapshot. Durability is unchanged: every commit is in the fsynced journal."""
        self._defer_compaction += 1
        try:
            yield
        finally:
            self._defer_compaction -= 1
            if not self._defer_compaction and self._depth == 0:
                self._compact_if_due()

    def _commit_as_snapshot(self) -> None:
        """A transaction writing a good part of the store (a bulk import) goes straight into a
        fresh snapshot: its journal line would be folded into one at once anyway, so this encodes
        the records once instead of twice. As atomic as compaction: the new snapshot replaces the
        old by rename and carries this transaction's seq; the journal lines it folds in have lower
        seqs, so a crash before the journal is emptied replays none of them twice."""
        self._seq += 1
        try:
            self.write_snapshot(self.path)
        except BaseException:
            self._seq -= 1  # not on disk: the old snapshot and journal still stand
            raise
        self.generation += 1
        try:
            self._snapshot_written()
        except OSError:
            pass  # the transaction is in the snapshot; the stale journal lines are older and skipped

    def compact(self) -> None:
        """Fold the journal into a fresh snapshot (held under the lock)."""
        with self.lock:
            if self._depth == 0:
                self.refresh()
            self.write_snapshot(self.path)
            self._snapshot_written()

    def _snapshot_written(self) -> None:
        """After a new snapshot: remember it and empty the journal it folded in."""
        self._snap_sig = file_signature(self.path)
        self._snap_size = self._snap_sig[1] if self._snap_sig else 0
        new_file = not self.wal_path.exists()  # a bulk first write: the store still has its journal
        fd = os.open(self.wal_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new_file:
            fsync_dir(self.wal_path.parent)
        self._wal_offset = 0
        self._wal_sig = file_signature(self.wal_path)

    def write_backup(self, target: Path) -> None:
        """A consolidated copy of the store at ``target`` (under the lock, after ``refresh``). With an
        empty journal the snapshot file already is that copy: its bytes are copied a megabyte at a
        time, not re-encoded nor held whole in memory. (The file open is the snapshot loaded: a new
        snapshot replaces the path by rename, never the open file's bytes.)"""
        snapshot = None
        if self._wal_offset == 0 and self._snap_sig is not None:
            try:
                snapshot = open(self.path, "rb")
            except OSError:
                pass  # cannot be read back: the copy is encoded instead
        if snapshot is not None:
            with snapshot:
                if open_signature(snapshot.fileno()) == self._snap_sig:
                    try:
                        write_private_stream(target, _blocks(snapshot))
                        return
                    except (_Unreadable, ChecksumMismatch):
                        pass  # a read failed half way, or damage: the copy is encoded instead (its reads check)
        self.write_snapshot(target)

    def write_snapshot(self, target: Path) -> None:
        """The data as a snapshot file at ``target``; the deferred tables last (its tail)."""
        self.materialize_all()
        assert self._data is not None
        tables = self._data
        if made := {DIGEST_PREFIX + name: {str(n): {"seq": self._seq, "part": part}
                                           for n, part in enumerate(digest(tables[name]), 1)}
                    for name, digest in self.digests.items() if name in tables}:
            tables = {**tables, **made}  # (behind the others, before the tail)
        where: dict[str, int] = {}
        chunks = snapshot_chunks(self._seq, tables, sorted(self.deferred_tables), where)
        write_private_stream(target, chunks, lambda crc: snapshot_patches(crc, where))
