"""Fault injection: make the loopback server misbehave the way real Exchange does, on demand.

Every rule fires for ``count`` requests (``None``: until :meth:`Faults.clear`) and only for requests of
``operation`` (a SOAP operation name such as ``"CreateItem"``; ``None``: any operation). Rules are
checked in the order they were added. Authentication happens first: a request refused with 401 never
consumes a rule. ``Faults.applied`` records what fired, as ``(kind, operation)`` tuples.

Request-level faults (the request is not executed):

* :meth:`Faults.throttle` -- ErrorServerBusy as real Exchange sends it: HTTP 500 with a SOAP fault whose
  ``MessageXml`` carries ``BackOffMilliseconds`` (exchangelib turns it into ``ErrorServerBusy.back_off``);
  or, with ``http_status=503`` / ``429``, a bare HTTP status with a ``Retry-After`` header.
* :meth:`Faults.http_500` -- an HTTP 500: a SOAP ``ErrorInternalServerError`` fault (body starts with
  ``<?xml``), or with ``html=True`` IIS's "Server Error in '/EWS' Application" page (which exchangelib
  treats as transient and retries under FaultTolerance).
* :meth:`Faults.drop_connection` -- the connection is closed without an answer.

Delays and lost answers (the request IS executed):

* :meth:`Faults.slow` -- sleep before executing and answering, so a client with a shorter timeout gives up
  while the server still performs the request ("unknown outcome").
* :meth:`Faults.ghost_write` -- execute and store the change, then lose the answer: drop the connection
  (``mode="drop"``), answer HTTP 500 (``mode="500"``), or sleep ``seconds`` first (``mode="timeout"``).

Per-item errors inside a batch:

* :meth:`Faults.item_errors` -- fail chosen items of CreateItem / UpdateItem / DeleteItem / MoveItem /
  CopyItem / GetItem with a ResponseCode (``ErrorItemSave``, ``ErrorServerBusy`` -- with
  BackOffMilliseconds --, ``ErrorQuotaExceeded``, ...) while the other items succeed; results keep
  request order.

Sync states:

* :meth:`Faults.expire_sync_states` -- every sync state handed out so far becomes invalid
  (ErrorInvalidSyncStateData), as after a mailbox move or a store reset.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

ItemMatcher = int | str | Callable[[dict], bool]


@dataclass
class Rule:
    kind: str
    operation: str | None
    remaining: int | None
    params: dict = field(default_factory=dict)
    last_request: int = -1

    def matches(self, operation: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and self.operation in (None, operation)

    def consume(self, request_id: int) -> None:
        if self.last_request != request_id:
            self.last_request = request_id
            if self.remaining is not None:
                self.remaining -= 1


@dataclass
class Action:
    """What the HTTP layer must do for one request."""

    kind: str  # throttle | http_500 | drop | ghost_write
    params: dict


class Faults:
    def __init__(self, expire_sync_states: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._expire = expire_sync_states
        self.applied: list[tuple[str, str]] = []

    # --- the API tests use -----------------------------------------------------------------------
    def throttle(self, count: int | None = 1, backoff_ms: int | None = 2000, *, operation: str | None = None,
                 http_status: int | None = None, http_503: bool = False) -> None:
        """Answer the next ``count`` requests with ErrorServerBusy (``backoff_ms=None``: no BackOffMilliseconds
        value), or with a bare HTTP 503/429 plus ``Retry-After`` when ``http_503`` / ``http_status`` is given."""
        status = 503 if http_503 else http_status
        self._add(Rule("throttle", operation, count, {"backoff_ms": backoff_ms, "status": status}))

    def http_500(self, count: int | None = 1, *, operation: str | None = None, html: bool = False) -> None:
        """Answer the next ``count`` requests with HTTP 500 without executing them."""
        self._add(Rule("http_500", operation, count, {"html": html}))

    def drop_connection(self, count: int | None = 1, *, operation: str | None = None) -> None:
        """Close the connection of the next ``count`` requests without executing or answering them."""
        self._add(Rule("drop", operation, count))

    def slow(self, seconds: float, count: int | None = 1, *, operation: str | None = None) -> None:
        """Sleep ``seconds`` before executing and answering the next ``count`` requests."""
        self._add(Rule("slow", operation, count, {"seconds": float(seconds)}))

    def ghost_write(self, count: int | None = 1, operation: str | None = "CreateItem", *, mode: str = "drop",
                    seconds: float = 5.0) -> None:
        """Execute the next ``count`` requests of ``operation`` (their changes are stored), then lose the answer:
        ``mode="drop"`` closes the connection, ``"500"`` answers HTTP 500, ``"timeout"`` sleeps ``seconds``
        before answering (set it above the client's timeout)."""
        if mode not in ("drop", "500", "timeout"):
            raise ValueError("mode must be 'drop', '500' or 'timeout'")
        self._add(Rule("ghost_write", operation, count, {"mode": mode, "seconds": float(seconds)}))

    def item_errors(self, rules: dict[ItemMatcher, str] | None = None, *, operation: str | None = None,
                    count: int | None = None, backoff_ms: int = 2000, email: str | None = None,
                    code: str = "ErrorItemSave", message: str | None = None) -> None:
        """Fail single items of a batch. ``rules`` maps a matcher to a ResponseCode; a matcher is the item's
        0-based index in the request, an e-mail address (matched case-insensitively against EmailAddress1-3),
        or a predicate called with the item as an Outlook-user dict (see ``contact_dict.props_to_dict``; for
        CreateItem the dict of the item being created, otherwise the stored item). ``email=`` and ``code=``
        are a shortcut for one e-mail rule. ``count`` limits the number of requests in which a rule fires
        (None: until cleared). ErrorServerBusy items carry BackOffMilliseconds=``backoff_ms``."""
        matchers: list[tuple[ItemMatcher, str]] = list((rules or {}).items())
        if email is not None:
            matchers.append((email, code))
        if not matchers:
            raise ValueError("item_errors needs at least one rule")
        self._add(Rule("item_errors", operation, count, {"matchers": matchers, "backoff_ms": backoff_ms,
                                                         "message": message}))

    def before_executing(self, callback: Callable[[], None], count: int | None = 1, *,
                         operation: str | None = "UpdateItem") -> None:
        """Call ``callback()`` just before each of the next ``count`` requests of ``operation`` is executed
        (outside the mailbox lock, so it may act as an Outlook user: e.g. edit the item a client read and
        is about to write)."""
        self._add(Rule("callback", operation, count, {"callback": callback}))

    def expire_sync_states(self) -> None:
        """Invalidate every sync state issued so far: the next SyncFolderItems with one of them fails with
        ErrorInvalidSyncStateData; a sync without a state starts over."""
        if self._expire is not None:
            self._expire()
        with self._lock:
            self.applied.append(("expire_sync_states", ""))

    def clear(self) -> None:
        """Remove every pending rule (the ``applied`` log is kept)."""
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"kind": r.kind, "operation": r.operation, "remaining": r.remaining, **r.params}
                    for r in self._rules if r.remaining is None or r.remaining > 0]

    # --- hooks the server calls -------------------------------------------------------------------
    def _add(self, rule: Rule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("count must be at least 1 (or None)")
        with self._lock:
            self._rules.append(rule)

    def delay_for(self, operation: str, request_id: int) -> float:
        total = 0.0
        with self._lock:
            for r in self._rules:
                if r.kind == "slow" and r.matches(operation):
                    r.consume(request_id)
                    total += r.params["seconds"]
                    self.applied.append(("slow", operation))
        return total

    def before(self, operation: str, request_id: int) -> Action | None:
        with self._lock:
            callbacks = [r for r in self._rules if r.kind == "callback" and r.matches(operation)]
            for r in callbacks:
                r.consume(request_id)
                self.applied.append(("callback", operation))
        for r in callbacks:
            r.params["callback"]()
        with self._lock:
            for r in self._rules:
                if r.kind in ("throttle", "http_500", "drop") and r.matches(operation):
                    r.consume(request_id)
                    self.applied.append((r.kind, operation))
                    return Action(r.kind, dict(r.params))
        return None

    def after(self, operation: str, request_id: int) -> Action | None:
        with self._lock:
            for r in self._rules:
                if r.kind == "ghost_write" and r.matches(operation):
                    r.consume(request_id)
                    self.applied.append(("ghost_write", operation))
                    return Action("ghost_write", dict(r.params))
        return None

    def has_item_rules(self, operation: str, request_id: int) -> bool:
        with self._lock:
            return any(r.kind == "item_errors" and (r.matches(operation) or (
                r.last_request == request_id and r.operation in (None, operation))) for r in self._rules)

    def item_error(self, operation: str, request_id: int, index: int,
                   info: Callable[[], dict]) -> tuple[str, str | None, int | None] | None:
        """(code, message, backoff_ms) when the item at ``index`` must fail, else None."""
        with self._lock:
            rules = [r for r in self._rules if r.kind == "item_errors" and
                     (r.matches(operation) or (r.last_request == request_id and r.operation in (None, operation)))]
        if not rules:
            return None
        data: dict | None = None
        for r in rules:
            for matcher, code in r.params["matchers"]:
                if isinstance(matcher, bool):
                    continue
                if isinstance(matcher, int):
                    hit = matcher == index
                else:
                    if data is None:
                        data = info()
                    if isinstance(matcher, str):
                        m = matcher.strip().lower()
                        hit = any((data.get(k) or "").strip().lower() == m for k in ("email1", "email2", "email3"))
                    else:
                        try:
                            hit = bool(matcher(data))
                        except Exception:  # a broken predicate must not crash the server
                            hit = False
                if hit:
                    with self._lock:
                        r.consume(request_id)
                        self.applied.append(("item_error:" + code, operation))
                    backoff = r.params["backoff_ms"] if code == "ErrorServerBusy" else None
                    return code, r.params.get("message"), backoff
        return None
