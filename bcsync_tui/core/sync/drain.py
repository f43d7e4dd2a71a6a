"""Confirming a run's own writes (NO-ECHO): the sync state moved past them, so they do not come
back as Outlook edits, and whatever else changed meanwhile is re-read next run.

A change listing is paged (EWS: 512 changes per SyncFolderItems), each page asked with the state
the last one gave: 10,000 creates are 20 requests one after another. ``Confirmation`` can page
while the writes are still going out (a thread that takes the next pages after each written batch),
so only the last few pages are left when the writes end. What it finds is the same as one listing
after the writes: every item seen, with the change key it was last seen with, and every deletion;
the caller compares them with the links as the run left them. An item seen exactly as this run last
linked it (``ours``: item id -> the change key its link was saved with) is confirmed there and then
and not kept: a first sync of 50,000 would otherwise hold a second copy of every id and change key.
A later change to it (the user's edit, or this run writing it again) is listed again after it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .transport import SyncStateInvalid, Transport


class Confirmation:
    """The changes since ``state`` in ``folder_id``, read once at the end (``finish``), or also
    while the writes go out (``start``, then ``written`` after each batch)."""

    def __init__(self, t: Transport, folder_id: str, state: str):
        self.t, self.folder_id, self.state = t, folder_id, state
        self.seen: dict[str, str] = {}  # item id -> change key, as last seen (unless it was ours)
        #: item id -> change key of each link this run saved (the executor's, filled as it writes)
        self.ours: Mapping[str, str] = {}
        self.deleted: set[str] = set()
        self.invalid = False  # the server rejected the state: nothing can be confirmed this run
        self._wake = threading.Event()
        self._ending = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="bcsync-confirm", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """A batch of writes is done: there is more to read."""
        self._wake.set()

    def stop(self) -> None:
        """End the reading thread (after its current request)."""
        if self._thread is not None:
            self._ending.set()
            self._wake.set()
            self._thread.join()
            self._thread = None

    def finish(self) -> tuple[str, dict[str, str], set[str]]:
        """Read the rest (in the caller's thread, so a failure is the caller's): the final state,
        the items seen with their change keys, the ids deleted. State "" when it was rejected."""
        self.stop()
        if not self.invalid:
            try:
                self._read()
            except SyncStateInvalid:
                self.invalid = True
        return ("" if self.invalid else self.state), self.seen, self.deleted

    def _follow(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._ending.is_set():
                return
            try:
                self._read()
            except SyncStateInvalid:
                self.invalid = True
                return
            except Exception:  # noqa: BLE001 - a failure here is met again (and reported) by finish()
                return

    def _read(self) -> None:
        after = self.t.changes(self.folder_id, self.state, ids_only=True)
        ours, seen = self.ours, self.seen
        for item in after.items:
            if ours.get(item.item_id) == item.change_key:
                seen.pop(item.item_id, None)  # as this run linked it: confirmed
            else:
                seen[item.item_id] = item.change_key
            self.deleted.discard(item.item_id)
        for item_id in after.deleted_ids:
            self.deleted.add(item_id)
            self.seen.pop(item_id, None)
        self.state = after.state
