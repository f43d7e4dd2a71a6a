"""Messages that go up from workers and widgets to the app and screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ..core.records import RunRecord


@dataclass
class SyncProgressed(Message):
    """Progress from the sync thread, coalesced by ``events.Coalescer`` (a new phase is never
    coalesced away: the panel lists each)."""

    progress: Any  # events.Progress
    at: float


@dataclass
class SyncFinished(Message):
    """A sync run (real or dry) ended with this run record."""

    record: RunRecord
    manual: bool
