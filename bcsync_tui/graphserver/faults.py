"""Fault injection for the loopback Graph server: the EWS server's rules (``ewsserver.faults.Faults``),
answered the way Graph answers, plus what only Graph has.

Operations are named like Graph's: ``createContact``, ``getContact``, ``listContacts``, ``updateContact``,
``deleteContact``, ``permanentDeleteContact``, ``contactsDelta``, ``listContactFolders``,
``createContactFolder``, ``getContactFolder``, ``updateContactFolder``, ``deleteContactFolder``, ``getUser``,
``batch`` (the envelope) and, for sign-in, ``token`` and ``deviceCode`` (sign-in requests are only hit by rules
that name them). Requests inside a ``$batch`` meet the rules one by one, under their own operation.

* ``throttle(count, backoff_ms)`` -- 429 ``TooManyRequests`` with ``Retry-After`` (``http_status=503``:
  503 ``ServiceUnavailable``); inside a batch, the throttled request gets its own 429 inside the 200.
* :meth:`GraphFaults.throttle_every` -- every Nth request is throttled.
* ``http_500``, ``drop_connection``, ``slow``, ``ghost_write`` (default operation ``createContact``) -- as
  for EWS.
* ``item_errors({matcher: code})`` -- single requests of a batch fail (matcher: index in the batch, an
  e-mail address of the contact, or a predicate on its Outlook-user dict); codes in :data:`ITEM_STATUS` get
  their status (``TooManyRequests`` / ``ErrorServerBusy``: 429 with Retry-After), others 500.
* ``before_executing(callback)`` (default operation ``updateContact``) -- as for EWS: act as an Outlook
  user just before a request is executed.
* :meth:`GraphFaults.pause` / :meth:`GraphFaults.resume` -- hold requests once they have their
  concurrency slot (to show the per-mailbox concurrency limit deterministically).
"""

from __future__ import annotations

import threading

from ..ewsserver.faults import Action, Faults

#: HTTP status of a per-request error code from ``item_errors``
ITEM_STATUS = {"TooManyRequests": 429, "ErrorServerBusy": 429, "ApplicationThrottled": 429,
               "ErrorItemNotFound": 404, "ErrorIrresolvableConflict": 412, "ErrorQuotaExceeded": 507,
               "ErrorInvalidRequest": 400, "ErrorAccessDenied": 403, "ServiceUnavailable": 503,
               "ErrorItemSave": 500, "InternalServerError": 500}
SIGN_IN = frozenset({"token", "deviceCode", "openidConfiguration"})


class GraphFaults(Faults):
    def __init__(self, expire_sync_states=None):
        super().__init__(expire_sync_states=expire_sync_states)
        self._every: list[tuple[int, int, str | None]] = []  # (n, retry-after ms, operation)
        self._seen = 0
        self._open = threading.Event()
        self._open.set()

    def ghost_write(self, count: int | None = 1, operation: str | None = "createContact", *, mode: str = "drop",
                    seconds: float = 5.0) -> None:
        super().ghost_write(count, operation, mode=mode, seconds=seconds)

    def before_executing(self, callback, count: int | None = 1, *, operation: str | None = "updateContact") -> None:
        super().before_executing(callback, count, operation=operation)

    def throttle_every(self, n: int, retry_after_ms: int = 1000, *, operation: str | None = None) -> None:
        """Throttle every ``n``-th request (of ``operation``) with 429 and Retry-After, until cleared."""
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._every.append((n, retry_after_ms, operation))

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._every.clear()
        self.resume()

    def pause(self) -> None:
        """Hold every request (after it took its concurrency slot) until :meth:`resume`."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def wait_open(self, timeout: float = 60.0) -> None:
        self._open.wait(timeout)

    # --- hooks ------------------------------------------------------------------------------------
    def before(self, operation: str, request_id: int) -> Action | None:
        with self._lock:
            if operation not in SIGN_IN:
                self._seen += 1
                for n, backoff, op in self._every:
                    if op in (None, operation) and self._seen % n == 0:
                        self.applied.append(("throttle_every", operation))
                        return Action("throttle", {"backoff_ms": backoff, "status": None})
            if operation in SIGN_IN and not any(r.operation == operation for r in self._rules):
                return None  # sign-in meets only the rules that name it
        return super().before(operation, request_id)

    def delay_for(self, operation: str, request_id: int) -> float:
        if operation in SIGN_IN:
            with self._lock:
                if not any(r.kind == "slow" and r.operation == operation for r in self._rules):
                    return 0.0
        return super().delay_for(operation, request_id)

    def after(self, operation: str, request_id: int) -> Action | None:
        if operation in SIGN_IN:
            return None
        return super().after(operation, request_id)
