"""An in-memory mailbox and a transport over it: the fast twin of the EWS adapter.

It keeps Exchange's rules that matter to the engine — change keys that change on every write,
stale keys refused, sync states over a change log that can expire, moves out and copies that keep
the stamp — so the engine tests and the Hypothesis state machine can run thousands of syncs a
second. The same scenarios also run against the loopback EWS server through exchangelib.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..model import SYNCED_KEYS
from .transport import (FolderInfo, FolderMissing, FoundBy, ItemUpdate, NewItem, Outcome, RemoteChanges,
                        RemoteItem, ServerInfo, SyncStateInvalid, ThrottleCallback, TransportStats, WriteResult)


class SimulatedCrash(BaseException):
    """The process dies here (BaseException: nothing in the engine may catch it)."""


@dataclass
class MemItem:
    item_id: str
    folder_id: str
    change_key: str
    stamp: str | None
    fields: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)  # unmapped fields: notes, categories, ...


class MemoryMailbox:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.folders: dict[str, str] = {"contacts": "Contacts", "deleteditems": "Deleted Items", "inbox": "Inbox"}
        self.parents: dict[str, str] = {}  # folder id → parent folder id, for the folders users make
        self.items: dict[str, MemItem] = {}
        self.log: list[tuple[int, str, str]] = []  # (seq, item_id, folder_id)
        self.epoch = 0
        self.writes = 0
        #: armed faults: operation → list of modes, consumed in order
        self.faults: dict[str, list[str]] = {}
        #: per-item failures on create/update: e-mail address → the server's message (e.g. an EWS
        #: response code); the write answers FAILED with it
        self.item_faults: dict[str, str] = {}
        #: operation → [remaining calls (None: unlimited), callback] run before the operation executes
        self.callbacks: dict[str, list[tuple[list[int | None], Callable[[], None]]]] = {}

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _touch(self, item: MemItem, folder_id: str | None = None) -> None:
        item.change_key = self._next("ck")
        self.log.append((len(self.log) + 1, item.item_id, folder_id or item.folder_id))

    # --- folders -------------------------------------------------------------------------------

    def folder_by_name(self, name: str, parent: str | None = "contacts") -> str | None:
        """A folder the user made, by name: under ``parent`` (None: anywhere)."""
        return next((fid for fid, n in self.folders.items()
                     if n == name and fid in self.parents and parent in (None, self.parents[fid])), None)

    def create_folder(self, name: str, parent: str = "contacts") -> str:
        fid = self._next("folder")
        self.folders[fid] = name
        self.parents[fid] = parent
        return fid

    def move_folder(self, folder_id: str, parent: str) -> None:
        """Move a folder elsewhere: it keeps its id, as in Exchange."""
        self.parents[folder_id] = parent

    def trash_folder(self, folder_id: str) -> None:
        """Outlook's Delete key: the folder moves into Deleted Items with its items and keeps its id."""
        self.move_folder(folder_id, "deleteditems")

    def delete_folder(self, folder_id: str) -> None:
        for item in [i for i in self.items.values() if i.folder_id == folder_id]:
            del self.items[item.item_id]
        del self.folders[folder_id]
        del self.parents[folder_id]

    # --- the Outlook user's actions ------------------------------------------------------------

    def user_create(self, folder_id: str, fields: dict[str, str], stamp: str | None = None, **extra: str) -> str:
        item = MemItem(self._next("item"), folder_id, "", stamp, {k: fields.get(k, "") for k in SYNCED_KEYS}, extra)
        self.items[item.item_id] = item
        self._touch(item)
        return item.item_id

    def user_update(self, item_id: str, **changes: str) -> None:
        item = self.items[item_id]
        for key, value in changes.items():
            (item.fields if key in SYNCED_KEYS else item.extra)[key] = value
        self._touch(item)

    def user_delete(self, item_id: str) -> None:
        item = self.items.pop(item_id)
        self.log.append((len(self.log) + 1, item_id, item.folder_id))

    def user_move(self, item_id: str, folder_id: str) -> str:
        """Moving gives the item a new id, as in Exchange."""
        item = self.items.pop(item_id)
        self.log.append((len(self.log) + 1, item_id, item.folder_id))
        return self.user_create(folder_id, item.fields, item.stamp, **item.extra)

    def user_copy(self, item_id: str, folder_id: str | None = None) -> str:
        item = self.items[item_id]
        return self.user_create(folder_id or item.folder_id, dict(item.fields), item.stamp, **item.extra)

    def in_folder(self, folder_id: str) -> list[MemItem]:
        return [i for i in self.items.values() if i.folder_id == folder_id]

    def expire_sync_states(self) -> None:
        self.epoch += 1

    def arm(self, operation: str, mode: str) -> None:
        """Arm one fault for the next call of ``operation``: ``crash_before``/``crash_after`` (the
        client process dies), ``unknown`` (the server applies the write, the client sees a timeout),
        ``user_edit`` (the user edits the first item between our read and our write),
        ``invalid_state``, or ``pass`` (let this call through, to reach a later one)."""
        self.faults.setdefault(operation, []).append(mode)

    def before_executing(self, callback: Callable[[], None], count: int | None = 1, *,
                         operation: str = "UpdateItem") -> None:
        """Call ``callback()`` just before each of the next ``count`` calls of ``operation`` executes
        (the loopback server's ``Faults.before_executing``): the Outlook user acting between the
        engine's read and its write."""
        self.callbacks.setdefault(operation, []).append(([count], callback))

    def run_callbacks(self, operation: str) -> None:
        due = self.callbacks.get(operation, [])
        for remaining, callback in list(due):
            if remaining[0] is not None:
                remaining[0] -= 1
                if remaining[0] <= 0:
                    due.remove((remaining, callback))
            callback()

    def take_fault(self, operation: str) -> str | None:
        modes = self.faults.get(operation)
        return modes.pop(0) if modes else None


class MemoryTransport:
    write_batch = 250
    confirms_while_writing = False  # its faults are armed per request, in the order tests expect

    def __init__(self, mailbox: MemoryMailbox):
        self.mb = mailbox
        self.stats = TransportStats()
        self.on_throttle: ThrottleCallback | None = None

    def _request(self, op: str) -> str | None:
        self.stats.requests += 1
        self.stats.by_operation[op] = self.stats.by_operation.get(op, 0) + 1
        self.mb.run_callbacks(op)
        mode = self.mb.take_fault(op)
        if mode == "crash_before":
            raise SimulatedCrash(op)
        return mode

    def connect(self) -> None:
        pass

    def server_info(self) -> ServerInfo:
        return ServerInfo(protocol="memory")

    def close(self) -> None:
        pass

    def ensure_folder(self, name: str, known_id: str | None, create: bool = True) -> FolderInfo:
        self._request("GetFolder")
        # Found by id wherever the user moved it, except into Deleted Items (Outlook's Delete key): deleted.
        if known_id and known_id in self.mb.folders and self.mb.parents.get(known_id) != "deleteditems":
            return FolderInfo(known_id, FoundBy.ID)
        found = self.mb.folder_by_name(name)
        if found:
            return FolderInfo(found, FoundBy.NAME)
        if not create:
            return FolderInfo("", FoundBy.MISSING)
        return FolderInfo(self.mb.create_folder(name), FoundBy.CREATED)

    def _item(self, it: MemItem) -> RemoteItem:
        return RemoteItem(it.item_id, it.change_key, it.stamp, dict(it.fields))

    def changes(self, folder_id: str, state: str | None, ids_only: bool = False) -> RemoteChanges:
        mode = self._request("SyncFolderItems")
        if folder_id not in self.mb.folders:
            raise FolderMissing(folder_id)
        head = f"{self.mb.epoch}:{len(self.mb.log)}"
        if mode == "invalid_state" or (state is not None and not state.startswith(f"{self.mb.epoch}:")):
            raise SyncStateInvalid(state)
        if state is None:
            return RemoteChanges([self._item(i) for i in self.mb.in_folder(folder_id)], [], head, True)
        since = int(state.split(":")[1])
        touched = {item_id for seq, item_id, fid in self.mb.log[since:] if fid == folder_id}
        items, deleted = [], []
        for item_id in sorted(touched):
            it = self.mb.items.get(item_id)
            if it is not None and it.folder_id == folder_id:
                items.append(self._item(it))
            else:
                deleted.append(item_id)
        return RemoteChanges(items, deleted, head, False)

    def get(self, folder_id: str, item_ids: list[str]) -> list[RemoteItem | None]:
        self._request("GetItem")
        out: list[RemoteItem | None] = []
        for item_id in item_ids:
            it = self.mb.items.get(item_id)
            out.append(self._item(it) if it is not None and it.folder_id == folder_id else None)
        return out

    def _finish(self, mode: str | None, results: list[WriteResult]) -> list[WriteResult]:
        if mode == "crash_after":
            raise SimulatedCrash("after write")
        if mode == "unknown":
            return [WriteResult(Outcome.UNKNOWN, message="the server did not answer in time") for _ in results]
        return results

    def _item_fault(self, fields: dict[str, str]) -> WriteResult | None:
        code = self.mb.item_faults.get(fields.get("email", ""))
        return WriteResult(Outcome.FAILED, message=f"{code} (injected)") if code else None

    def create(self, folder_id: str, items: list[NewItem]) -> list[WriteResult]:
        mode = self._request("CreateItem")
        results = []
        for new in items:
            fault = self._item_fault(new.fields)
            if fault:
                results.append(fault)
                continue
            item_id = self.mb.user_create(folder_id, new.fields, new.stamp)
            self.mb.writes += 1
            results.append(WriteResult.written(item_id, self.mb.items[item_id].change_key))
        return self._finish(mode, results)

    def update(self, items: list[ItemUpdate]) -> list[WriteResult]:
        mode = self._request("UpdateItem")
        if mode == "user_edit" and items and items[0].item_id in self.mb.items:
            self.mb.user_update(items[0].item_id, city="Edited meanwhile")
        results = []
        for upd in items:
            it = self.mb.items.get(upd.item_id)
            fault = self._item_fault(it.fields) if it is not None else None
            if fault:
                results.append(fault)
            elif it is None:
                results.append(WriteResult(Outcome.NOT_FOUND, message="not found"))
            elif it.change_key != upd.change_key:
                results.append(WriteResult(Outcome.CONFLICT, message="changed meanwhile"))
            else:
                it.fields.update(upd.fields)
                if upd.stamp:
                    it.stamp = upd.stamp
                self.mb._touch(it)
                self.mb.writes += 1
                results.append(WriteResult.written(it.item_id, it.change_key))
        return self._finish(mode, results)

    def delete(self, item_ids: list[str], move_to_deleted_items: bool) -> list[WriteResult]:
        mode = self._request("DeleteItem")
        results = []
        for item_id in item_ids:
            if item_id not in self.mb.items:
                results.append(WriteResult(Outcome.NOT_FOUND, message="not found"))
                continue
            if move_to_deleted_items:
                self.mb.user_move(item_id, "deleteditems")
            else:
                self.mb.user_delete(item_id)
            self.mb.writes += 1
            results.append(WriteResult.written(item_id))
        return self._finish(mode, results)
