"""The transport interface: what the engine needs from a contacts server, in a neutral vocabulary.

The EWS adapter (``ews.py``), the in-memory transport (``memory.py``) and the Microsoft Graph
transport (``graph.py``) implement :class:`Transport`. The engine, the executor and the planner
only ever see the types of this module: no server's error names, no client library's objects.

Conventions every transport keeps:

* Fields travel as ``dict[str, str]`` keyed by the master's field keys (``model.SYNCED_KEYS``);
  ``""`` means empty. The transport maps them to and from its own wire format.
* ``item_id`` and ``change_key`` are opaque strings. A change key names one version of an item:
  every write (ours or the Outlook user's) gives the item a new one. EWS has ChangeKey, Graph
  has ``@odata.etag`` / ``changeKey``.
* The *stamp* is the contact UUID the sync writes into every item it creates or links (an
  extended property: EWS ``ExtendedProperty``, Graph ``singleValueExtendedProperties``). Copies
  and moves keep it, which is how the engine recognises its items after a crash or a move.
* Batch writes answer one :class:`WriteResult` per item, in request order; a write never raises
  for a per-item problem. Errors that end the run (cannot connect, throttled past the cap) are
  raised as ``events.SyncError`` subclasses (``ConnectionProblem``, ``RunCutShort``).
* Two neutral exceptions steer the engine: :class:`FolderMissing` (the folder with the stored id
  is gone) and :class:`SyncStateInvalid` (the server rejected the stored sync state / delta token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class Outcome(Enum):
    """What became of one write, as the engine needs to know it."""

    #: written; ``item_id``/``change_key`` name the new version
    OK = "ok"
    #: refused because the item changed since it was read (stale change key / ETag mismatch,
    #: EWS ErrorIrresolvableConflict, Graph 412): nothing was written; re-read and merge again
    CONFLICT = "conflict"
    #: the item does not exist (any more): for a delete the goal is reached
    NOT_FOUND = "not_found"
    #: the request may or may not have been applied (timeout, dropped connection, a batch answered
    #: busy half-way): never resent blindly; the engine re-reads (by id or stamp) first
    UNKNOWN = "unknown"
    #: refused for another reason (validation, quota, ...): ``message`` says why; retried next run
    FAILED = "failed"


@dataclass(slots=True)
class WriteResult:
    """Outcome of one item of a batch write, in request order."""

    outcome: Outcome
    item_id: str = ""
    change_key: str = ""
    #: for people (logs, the run record): the server's own words, including its error name
    #: (e.g. "ErrorQuotaExceeded: ..."); the engine never inspects it
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @classmethod
    def written(cls, item_id: str = "", change_key: str = "") -> WriteResult:
        return cls(Outcome.OK, item_id, change_key)


@dataclass(slots=True)
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


class FoundBy(Enum):
    """How :meth:`Transport.ensure_folder` found the sync folder."""

    ID = "id"  # by the stored id (wherever the user moved it)
    NAME = "name"  # by name under the Contacts folder
    CREATED = "created"  # it did not exist and was created
    MISSING = "missing"  # it does not exist and ``create`` was False: ``folder_id`` is ""


@dataclass
class FolderInfo:
    folder_id: str
    found_by: FoundBy = FoundBy.ID

    @property
    def created(self) -> bool:
        return self.found_by is FoundBy.CREATED


@dataclass(frozen=True)
class ServerInfo:
    """What a transport learnt about its server on :meth:`Transport.connect`."""

    #: the protocol, for people: "Exchange Web Services", "Microsoft Graph", "memory"
    protocol: str = ""
    #: the server's version for people ("Exchange2016, build 15.1.2507.6"); "" when not told
    version: str = ""
    #: JSON-serialisable data the transport wants kept between runs (EWS: the server build, so the
    #: next connect needs no request). The engine saves it in the profile's state as
    #: ``server_version`` and the transport reads it back from ``profile.state`` when it connects.
    remember: object = None


@dataclass(slots=True)
class NewItem:
    stamp: str
    fields: dict[str, str]


@dataclass(slots=True)
class ItemUpdate:
    item_id: str
    change_key: str  # the version this update was merged against: a newer one is a CONFLICT
    fields: dict[str, str]  # only the fields to change; "" clears
    stamp: str | None = None  # set the stamp too


@dataclass
class TransportStats:
    #: HTTP requests that went on the wire (retries included)
    requests: int = 0
    throttle_waits: int = 0
    throttle_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)


class SyncStateInvalid(Exception):
    """The server rejected the stored sync state; the engine falls back to a full reconcile."""


class FolderMissing(Exception):
    """The folder with the stored id no longer exists (deleted, or no longer accessible)."""


ThrottleCallback = Callable[[float], None]


class Transport(Protocol):
    """A contacts folder on a server, as the engine drives it. One instance serves one run."""

    stats: TransportStats
    #: items per write batch the engine sends this transport (one store transaction and cancel
    #: point each): EWS takes 250 in one request, Graph's ``$batch`` holds 20 (so a multiple of 20)
    write_batch: int
    #: called with the number of seconds the transport is about to wait because of throttling
    on_throttle: ThrottleCallback | None
    #: ``changes`` may run in a thread of its own while writes go out (the engine then reads its
    #: own writes back during a long run instead of after it, see drain.py)
    confirms_while_writing: bool

    def connect(self) -> None:
        """Check credentials and reachability; raise ``events.ConnectionProblem`` with a clear
        message (what is wrong and what to do) when that fails."""

    def server_info(self) -> ServerInfo:
        """What :meth:`connect` learnt about the server (empty fields when nothing)."""

    def ensure_folder(self, name: str, known_id: str | None, create: bool = True) -> FolderInfo:
        """The sync folder: by ``known_id`` (the id stored by the last run; a transport may trust it
        without a request and let the next call raise FolderMissing), else by ``name`` under the
        Contacts folder, else created when ``create``; otherwise ``FoundBy.MISSING``."""

    def changes(self, folder_id: str, state: str | None, ids_only: bool = False) -> RemoteChanges:
        """All changes since ``state`` (a full listing when None), paging until the end.
        Raises SyncStateInvalid (state rejected), FolderMissing (folder gone).
        ``ids_only``: the items need only their ids and change keys (confirming our own writes)."""

    def get(self, folder_id: str, item_ids: list[str]) -> list[RemoteItem | None]:
        """Current versions of items, in order (None for an item that is gone or no longer in the folder)."""

    def create(self, folder_id: str, items: list[NewItem]) -> list[WriteResult]:
        """Create items carrying their stamps. After a busy/unknown answer the transport may look
        for the stamps itself before sending again; what it cannot confirm is ``UNKNOWN``."""

    def update(self, items: list[ItemUpdate]) -> list[WriteResult]:
        """Updates with the given change keys; a stale key is a CONFLICT, never an overwrite."""

    def delete(self, item_ids: list[str], move_to_deleted_items: bool) -> list[WriteResult]:
        """Delete (or move to Deleted Items); an item already gone answers NOT_FOUND."""

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
