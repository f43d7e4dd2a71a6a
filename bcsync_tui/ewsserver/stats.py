"""Request counters that tests and benchmarks read (``LoopbackExchange.stats``)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestStats:
    """Thread-safe counters of what the server received.

    * ``total``: every HTTP request on any path (401s, faults and dropped connections included);
    * ``by_operation``: SOAP operation name -> requests that got past authentication and parsing;
    * ``by_status``: HTTP status -> responses sent (a dropped connection counts as status 0);
    * ``writes``: item and folder changes made by clients (created, updated, deleted, moved, copied);
    * ``unauthorized``: requests refused with 401;
    * ``peak_concurrent``: the most SOAP operations being answered at the same time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.total = 0
            self.by_operation: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.writes = 0
            self.unauthorized = 0
            self.concurrent = 0
            self.peak_concurrent = 0

    @property
    def requests(self) -> int:
        return self.total

    def count(self, operation: str | None = None) -> int:
        """Requests of one operation, or all SOAP requests when ``operation`` is None."""
        with self._lock:
            return sum(self.by_operation.values()) if operation is None else self.by_operation[operation]

    def __getitem__(self, operation: str) -> int:
        return self.count(operation)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self.total, "by_operation": dict(self.by_operation),
                    "by_status": dict(self.by_status), "writes": self.writes, "unauthorized": self.unauthorized}

    # --- recorders ---------------------------------------------------------------------------------
    def request(self) -> None:
        with self._lock:
            self.total += 1

    def operation(self, name: str) -> None:
        with self._lock:
            self.by_operation[name] += 1

    def started(self) -> None:
        """An operation is being answered (``finished`` when its answer is sent)."""
        with self._lock:
            self.concurrent += 1
            self.peak_concurrent = max(self.peak_concurrent, self.concurrent)

    def finished(self) -> None:
        with self._lock:
            self.concurrent -= 1

    def status(self, code: int) -> None:
        with self._lock:
            self.by_status[code] += 1
            if code == 401:
                self.unauthorized += 1

    def add_writes(self, n: int) -> None:
        with self._lock:
            self.writes += n

    def __repr__(self) -> str:
        s = self.snapshot()
        return f"RequestStats(total={s['total']}, writes={s['writes']}, by_operation={s['by_operation']})"
