"""The transport interface: what the engine needs from a contacts server, and nothing about EWS.

The EWS adapter (``ews.py``) and the in-memory transport (``memory.py``) implement it; a Microsoft
Graph transport can slot in beside them. Fields travel as dicts keyed by the master's field keys
(``model.SYNCED_KEYS``): the transport maps them to and from its own wire format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class RemoteItem:
    item_id: str
    change_key: str
    stamp: str | None  # the contact UUID our sync wrote into the item, if any
    fields: dict[str, str]


@dataclass
class RemoteChanges:
    """Items created/updated since a sync state, ids deleted (or moved out), and the new state.

    ``full`` is True when the changes are a complete listing of the folder (no state, or the state
    was rejected): then every item in the folder is in ``items`` and absence means gone.
    """

    items: list[RemoteItem]
    deleted_ids: list[str]
    state: str
    full: bool
    state_reset: bool = False  # the server rejected the stored state


@dataclass
class FolderInfo:
    folder_id: str
    created: bool = False
    found_by: str = "id"  # id | name | created


@dataclass
class WriteResult:
    """Outcome of one item of a batch write, in request order."""

    ok: bool
    item_id: str = ""
    change_key: str = ""
    code: str = ""  # server error code when not ok, e.g. ErrorIrresolvableConflict
    message: str = ""
    #: True when the request failed in a way that leaves the outcome unknown (timeout, dropped
    #: connection): the write may have happened. Never retried blindly; re-read by stamp.
    unknown: bool = False

    @property
    def conflict(self) -> bool:
        return self.code in ("ErrorIrresolvableConflict", "ErrorInvalidChangeKey", "ErrorChangeKeyRequiredForWriteOperations")


@dataclass
class NewItem:
    stamp: str
    fields: dict[str, str]


@dataclass
class ItemUpdate:
    item_id: str
    change_key: str
    fields: dict[str, str]  # only the fields to change; "" clears
    stamp: str | None = None  # set the stamp too


@dataclass
class TransportStats:
    requests: int = 0
    throttle_waits: int = 0
    throttle_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)


class SyncStateInvalid(Exception):
    """The server rejected the stored sync state; the engine falls back to a full reconcile."""


class FolderMissing(Exception):
    """The folder with the stored id no longer exists."""


ThrottleCallback = Callable[[float], None]


class Transport(Protocol):
    stats: TransportStats
    #: called with the number of seconds the transport is about to wait because of throttling
    on_throttle: ThrottleCallback | None

    def connect(self) -> None:
        """Check credentials and reachability; raise events.ConnectionProblem with a clear message."""

    def ensure_folder(self, name: str, known_id: str | None, create: bool = True) -> FolderInfo:
        """The sync folder: by stored id, else by name under Contacts, else created (if ``create``)."""

    def changes(self, folder_id: str, state: str | None, ids_only: bool = False) -> RemoteChanges:
        """All changes since ``state`` (a full listing when None). Raises SyncStateInvalid, FolderMissing.
        ``ids_only``: the items need only their ids and change keys."""

    def get(self, folder_id: str, item_ids: list[str]) -> list[RemoteItem | None]:
        """Current versions of items (None for an item that is gone or no longer in the folder)."""

    def create(self, folder_id: str, items: list[NewItem]) -> list[WriteResult]:
        ...

    def update(self, items: list[ItemUpdate]) -> list[WriteResult]:
        """Updates with the given change keys; a stale key is a conflict, never an overwrite."""

    def delete(self, item_ids: list[str], move_to_deleted_items: bool) -> list[WriteResult]:
        ...

    def close(self) -> None:
        ...
