"""A TinyDB storage that can never be half-written, and stays fast at 50,000 contacts.

Stock ``JSONStorage`` re-serialises the whole database into the same file on every write: slow
(~0.3 s at 50,000 contacts) and a crash mid-write leaves a truncated file. Here the database is:

* ``store.json``: a snapshot, only ever replaced whole (temp file + fsync + rename + fsync dir);
* ``store.json.wal``: an append-only journal. One transaction = one line ``<json> <crc32>\\n``,
  appended and fsynced. A line without its newline or with a bad checksum at the end of the file
  is a crash residue and is ignored (the transaction did not happen); anywhere else it is
  corruption and loading stops with an error that names the file.

The data stays in memory between operations; before each read, two ``stat`` calls tell whether
another process appended (then only the new lines are read) or compacted (then it is reloaded).
Writers hold a cross-process lock for the span of a transaction and refresh under it, so nobody's
update is lost. When the journal grows past a fraction of the snapshot, it is folded into a new
snapshot.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .lock import FileLock
from .paths import ensure_private_dir, fsync_dir, write_private_file

FORMAT = "bcsync-store"
_DROP = object()


class StoreCorruptError(RuntimeError):
    """The store file cannot be read. It is left exactly as it is."""

    def __init__(self, path: Path, detail: str):
        self.path, self.detail = path, detail
        super().__init__(
            f"The contact store {path} cannot be read: {detail}. Nothing was changed. "
            f"Restore a backup with `bcsync backups` / `bcsync restore BACKUP`, "
            f"or move the file away to start with an empty store."
        )


def _sig(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _encode_line(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return body + b" %08x\n" % zlib.crc32(body)


def _decode_line(line: bytes) -> dict[str, Any] | None:
    body, _, crc = line.rpartition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        return json.loads(body)
    except ValueError:
        return None


class JournaledStorage(Storage):
    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0,
                 compact_min_bytes: int = 1 << 20):
        self.path = Path(path)
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        ensure_private_dir(self.path.parent)
        self.lock = FileLock(self.path.with_name(self.path.name + ".lock"))
        self.lock_timeout = lock_timeout
        self._remove_orphaned_temp_files()
        self.compact_min_bytes = compact_min_bytes
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
        snap_sig, wal_sig = _sig(self.path), _sig(self.wal_path)
        if self._data is not None and snap_sig == self._snap_sig and wal_sig == self._wal_sig:
            return False
        if self._whole_reload_needed(snap_sig, wal_sig):
            self._load_all()
        else:
            self._apply_wal_tail()
        self.generation += 1
        return True

    def _whole_reload_needed(self, snap_sig: tuple[int, int, int] | None,
                             wal_sig: tuple[int, int, int] | None) -> bool:
        return (self._data is None or snap_sig != self._snap_sig or wal_sig is None
                or self._wal_sig is None or wal_sig[0] != self._wal_sig[0] or wal_sig[1] < self._wal_offset)

    def reload_needed(self) -> bool:
        """Whether ``refresh`` would read the whole snapshot (another process compacted): a UI can
        then load a fresh copy in a thread (``loaded_copy``) and ``adopt`` it, instead of waiting."""
        return not self._depth and self._whole_reload_needed(_sig(self.path), _sig(self.wal_path))

    def loaded_copy(self) -> "JournaledStorage":
        """A new instance on the same files, loaded (safe to call from another thread)."""
        copy = JournaledStorage(self.path, lock_timeout=self.lock_timeout, compact_min_bytes=self.compact_min_bytes)
        copy.refresh()
        return copy

    def adopt(self, other: "JournaledStorage") -> bool:
        """Take over the in-memory state of another instance on the same files (``loaded_copy``)
        instead of re-reading them. Only if the other is at least as new; True if taken."""
        if (self._depth or other._depth or other is self or other._data is None or other.path != self.path
                or other._seq < self._seq):
            return False
        self._data, self._seq = other._data, other._seq
        self._snap_sig, self._snap_size = other._snap_sig, other._snap_size
        self._wal_sig, self._wal_offset = other._wal_sig, other._wal_offset
        other._data, other._snap_sig = None, None  # it would reload before any further use
        self._max_ids = {}
        self.generation += 1
        return True

    def _load_all(self) -> None:
        for _ in range(5):  # another process may compact while we read: retry until stable
            snap_sig = _sig(self.path)
            data, seq = self._read_snapshot()
            self._data, self._seq, self._snap_sig = data, seq, snap_sig
            self._snap_size = snap_sig[1] if snap_sig else 0
            self._wal_offset, self._wal_sig = 0, None
            self._apply_wal_tail()
            if _sig(self.path) == snap_sig:
                break
        self._max_ids = {}

    def _read_snapshot(self) -> tuple[dict[str, dict[str, Any]], int]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, 0
        except OSError as exc:
            raise StoreCorruptError(self.path, exc.strerror or str(exc)) from exc
        if not raw.strip():
            return {}, 0  # an empty file holds nothing; the sync's guards catch an emptied store
        try:
            doc = _parse_snapshot_lines(raw)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if doc is None:  # another layout, or damaged: the one-piece parser names the fault
            try:
                doc = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise StoreCorruptError(self.path, f"not valid JSON ({exc})") from exc
        if (not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("tables"), dict)
                or type(doc.get("seq", 0)) is not int):
            raise StoreCorruptError(self.path, "not a bcsync store file")
        tables = doc["tables"]
        if not all(isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) for t in tables.values()):
            raise StoreCorruptError(self.path, "a table holds something that is not a record")
        return tables, int(doc.get("seq", 0))

    def _apply_wal_tail(self) -> None:
        assert self._data is not None
        try:
            with open(self.wal_path, "rb") as fh:
                fh.seek(self._wal_offset)
                chunk = fh.read()
                wal_sig = os.fstat(fh.fileno())
        except FileNotFoundError:
            self._wal_sig = None
            return
        pos = 0
        while pos < len(chunk):
            end = chunk.find(b"\n", pos)
            if end < 0:
                break  # torn last line: that transaction never committed
            record = _decode_line(chunk[pos:end])
            if record is None:
                if chunk.find(b"\n", end + 1) >= 0 or end + 1 < len(chunk):
                    raise StoreCorruptError(self.wal_path, f"damaged journal entry at byte {self._wal_offset + pos}")
                break
            if record["seq"] > self._seq:
                self._apply_ops(record["ops"])
                self._seq = record["seq"]
            pos = end + 1
        self._wal_offset += pos
        self._wal_sig = (wal_sig.st_ino, wal_sig.st_size, wal_sig.st_mtime_ns)
        self._max_ids = {}

    def _apply_ops(self, ops: list[list[Any]]) -> None:
        assert self._data is not None
        for table, doc_id, doc in ops:
            if doc_id is None:
                self._data.pop(table, None)
            elif doc is None:
                self._data.get(table, {}).pop(doc_id, None)
            else:
                self._data.setdefault(table, {})[doc_id] = doc

    # --- TinyDB's Storage interface -------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        self.refresh()
        assert self._data is not None
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Whole-database writes from TinyDB (dropping tables): journal the difference."""
        with self.transaction():
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
            self._pending = {}
            self._touched = False
            self._depth = 1
            try:
                yield
            except BaseException:
                if self._pending or self._touched:
                    self._data = None  # in-memory state may be half-applied: reload from disk
                    self._snap_sig = None
                raise
            finally:
                self._depth = 0
            try:
                self._commit()
            except BaseException:
                self._data = None  # memory holds a transaction that did not reach the disk: reload
                self._snap_sig = None
                raise
        finally:
            self._pending = None
            self.lock.release()

    def record(self, table: str, doc_ids: set[str]) -> None:
        assert self._pending is not None, "record() outside a transaction"
        for doc_id in doc_ids:
            self._pending[(table, doc_id)] = True

    def table_data(self, table: str) -> dict[str, Any]:
        assert self._data is not None
        return self._data.setdefault(table, {})

    def next_id(self, table: str) -> int:
        if table not in self._max_ids:
            docs = self.read().get(table, {})
            self._max_ids[table] = max(map(int, docs), default=0)
        self._max_ids[table] += 1
        return self._max_ids[table]

    def _commit(self) -> None:
        assert self._data is not None and self._pending is not None
        if not self._pending:
            return
        ops: list[list[Any]] = []
        for (table, doc_id), mark in self._pending.items():
            if doc_id is None:
                ops.append([table, None, None])
                continue
            ops.append([table, doc_id, self._data.get(table, {}).get(doc_id)])
        self._seq += 1
        line = _encode_line({"seq": self._seq, "ops": ops})
        new_file = not self.wal_path.exists()
        fd = os.open(self.wal_path, os.O_WRONLY | os.O_CREAT, 0o600)
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
            except BaseException:
                try:  # the write failed (disk full, I/O error): cut the line off, it did not happen
                    os.ftruncate(fd, self._wal_offset)
                except OSError:
                    pass
                raise
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if new_file:
            fsync_dir(self.wal_path.parent)
        self._wal_offset += len(line)
        self._wal_sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        self.generation += 1
        if self._wal_offset > max(self.compact_min_bytes, self._snap_size // 4):
            try:
                self.compact()
            except OSError:
                pass  # the transaction is durable in the journal; the next commit compacts again

    def compact(self) -> None:
        """Fold the journal into a fresh snapshot (held under the lock)."""
        with self.lock:
            if self._depth == 0:
                self.refresh()
            self.write_snapshot(self.path)
            self._snap_sig = _sig(self.path)
            self._snap_size = self._snap_sig[1] if self._snap_sig else 0
            if self.wal_path.exists():
                fd = os.open(self.wal_path, os.O_WRONLY)
                try:
                    os.ftruncate(fd, 0)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self._wal_offset = 0
            self._wal_sig = _sig(self.wal_path)

    def write_snapshot(self, target: Path) -> None:
        assert self._data is not None
        write_private_file(target, _snapshot_bytes(self._seq, self._data))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _snapshot_bytes(seq: int, tables: dict[str, dict[str, Any]]) -> bytes:
    """The snapshot: one JSON document, laid out one record per line so that both writing and
    reading go a few hundred records at a time. A single C call over 50,000 records would hold the
    GIL for ~0.3 s and freeze the TUI's input while another thread (or a reload) works.

        {"format":"bcsync-store","seq":7,"tables":{
        "contacts":{
        "1":{...},
        "2":{...}
        },
        "meta":{
        }
        }}
    """
    parts = [f'{{"format":{_dumps(FORMAT)},"seq":{seq},"tables":{{\n']
    for n, (name, docs) in enumerate(tables.items()):
        parts.append(_dumps(name) + ":{\n")
        if docs:
            parts.append(",\n".join(_dumps(doc_id) + ":" + _dumps(doc) for doc_id, doc in docs.items()))
            parts.append("\n")
        parts.append("},\n" if n < len(tables) - 1 else "}\n")
    parts.append("}}\n")
    return "".join(parts).encode()


#: records parsed per json.loads call when reading a snapshot (~0.3 MB, a few ms)
_PARSE_CHUNK = 1000


def _parse_snapshot_lines(raw: bytes) -> dict[str, Any] | None:
    """Read the layout ``_snapshot_bytes`` writes, a chunk of records at a time; None if the file
    is not in that layout (the caller then parses it in one piece, which names any damage)."""
    lines = raw.decode().split("\n")
    head = json.loads(lines[0] + "}}") if lines[0].endswith('"tables":{') else None
    if not isinstance(head, dict) or lines[-1] != "" or lines[-2] != "}}":
        return None
    tables: dict[str, dict[str, Any]] = head["tables"]
    body = lines[1:-2]
    i = 0
    while i < len(body):
        name_line = body[i]
        if not name_line.endswith(":{"):
            return None
        docs: dict[str, Any] = tables.setdefault(json.loads(name_line[:-2]), {})
        i += 1
        start = i
        while i < len(body) and not body[i].startswith("}"):
            i += 1
        if i == len(body) or body[i] not in ("}", "},") or (body[i] == "}") != (i == len(body) - 1):
            return None
        for at in range(start, i, _PARSE_CHUNK):
            last = min(at + _PARSE_CHUNK, i)
            if body[last - 1].endswith(",") != (last < i):
                return None  # a separator missing or too many: damaged
            joined = "\n".join(body[at:last])  # the newlines, so one inside a string stays an error
            docs.update(json.loads("{" + (joined[:-1] if last < i else joined) + "}"))
        i += 1
    return head


class _TrackingView(MutableMapping):
    """The table as TinyDB's updaters see it (int ids), remembering which documents they touched."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        self.touched: set[str] = set()

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        doc = self.raw[key]
        self.touched.add(key)  # updaters mutate the returned document in place
        return doc

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self.raw[key] = doc
        self.touched.add(key)

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        del self.raw[key]
        self.touched.add(key)

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

    def raw(self) -> dict[str, Any]:
        """The table's documents by id string, without copies: read-only for callers."""
        return self._read_table()


class StoreDB(TinyDB):
    table_class = JournaledTable
    default_storage_class = JournaledStorage
