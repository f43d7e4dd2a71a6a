"""Messages that go up from workers and widgets to the app and screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


class SyncProgressed(Message):
    """New progress from the sync thread is waiting in ``app.sync_progress_latest`` (coalesced)."""


@dataclass
class SyncPhaseChanged(Message):
    """The sync began a new phase (a handful per run, so never coalesced: the panel lists each)."""

    progress: Any  # events.Progress
    at: float


@dataclass
class SyncFinished(Message):
    """A sync run (real or dry) ended with this run record."""

    record: dict[str, Any]
    manual: bool
