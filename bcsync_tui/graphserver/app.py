"""HTTP: sign-in endpoints, bearer checks, request limits, the per-mailbox concurrency limit, faults, JSON.

Every answer is JSON; errors in Graph's shape (``errors.error_body``), never a traceback: bodies above
``max_request_bytes`` get 413, bad JSON 400, an unexpected exception 500 (logged).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from ..ewsserver.mailbox import Store
from ..ewsserver.server import EwsApp
from ..ewsserver.stats import RequestStats
from .auth import TokenService
from .batch import parse_batch, run_batch
from .calls import Call, Reply
from .delta import DeltaRounds
from .devicelogin import device_login
from .errors import GraphError, error_body, throttled, unauthorized
from .faults import GraphFaults
from .routes import find_mailbox, route
from .signin import sign_in

log = logging.getLogger("bcsync_tui.graphserver")

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
#: operations that change the mailbox (``stats.writes`` counts them when they succeed)
WRITES = frozenset({"createContact", "updateContact", "deleteContact", "permanentDeleteContact",
                    "createContactFolder", "updateContactFolder", "deleteContactFolder"})
_BAD_JSON = ("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid "
             "JSON format.")


class Drop(Exception):
    """Close the connection without answering."""


class GraphApp:
    def __init__(self, store: Store, tokens: TokenService, faults: GraphFaults, stats: RequestStats,
                 rounds: DeltaRounds, *, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 concurrency_limit: int | None = 4):
        self.store, self.tokens, self.faults, self.stats, self.rounds = store, tokens, faults, stats, rounds
        self.max_request_bytes, self.concurrency_limit = max_request_bytes, concurrency_limit
        self.ignore_if_match = False
        self.root = ""
        self._ids = itertools.count(1)
        self._in_flight: Counter[str] = Counter()
        self._flight_lock = threading.Lock()

    @property
    def graph_url(self) -> str:
        return self.root + "/v1.0"

    def new_request_id(self) -> int:
        return next(self._ids)

    def in_flight(self, email: str) -> int:
        with self._flight_lock:
            return self._in_flight[email.lower()]

    # --- one HTTP request ---------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        request_id = self.new_request_id()
        self.stats.request()
        rid = str(uuid.uuid4())
        crid = h.headers.get("client-request-id") or rid
        try:
            body = self._read_body(h)
            path, _, qs = h.path.partition("?")
            parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
            if parts and parts[0].lower() == "v1.0":
                reply = self._graph(h, parts[1:], qs, body, request_id)
            elif [p.lower() for p in parts] == ["devicelogin"] and h.command in ("GET", "POST"):
                reply = device_login(self.tokens, h.command, body)
            elif len(parts) >= 2:
                reply = sign_in(self, h, parts, body, request_id)
            else:
                raise GraphError(404, "NotFound", "The requested resource was not found.")
        except Drop:
            return self._drop(h)
        except GraphError as e:
            reply = Reply(e.status, error_body(e.code, e.message, rid, crid), e.headers)
        except Exception:  # never let a bug kill the serving thread, never send a traceback
            log.exception("loopback Graph server: %s %s failed", h.command, h.path)
            reply = Reply(500, error_body("InternalServerError", "An internal server error occurred.", rid, crid))
        self._send(h, reply, rid, crid)

    def _graph(self, h: BaseHTTPRequestHandler, segments: list[str], qs: str, body: bytes, request_id: int) -> Reply:
        principal = self._principal(h)
        query = self._query(qs)
        headers = {k.lower(): v for k, v in h.headers.items()}
        if segments and segments[0].lower() == "$batch":
            self.stats.operation("batch")
            requests = parse_batch(body)
            return self._gated(self._batch_mailbox(principal, requests), "batch", request_id,
                               lambda: run_batch(self, principal, requests, request_id))
        parsed = self._json(body, h.command, h.headers.get("Content-Type") or "")
        url = self.graph_url + "/" + "/".join(urllib.parse.quote(s, safe="$()'=,:@") for s in segments) + (
            "?" + qs if qs else "")
        return self.dispatch(principal, h.command, segments, query, headers, parsed, url, request_id)

    def dispatch(self, principal, method: str, segments: list[str], query: dict[str, str], headers: dict[str, str],
                 body: Any, url: str, request_id: int, *, in_batch: bool = False) -> Reply:
        """One Graph call (a request or a request of a batch): route, gate, faults, run."""
        op = self.dispatch_operation(principal, method, segments)
        with self.store.lock:
            mbx, rest, owner = find_mailbox(self.store, principal, segments)
        self.stats.operation(op)

        def run() -> Reply:
            with self.store.lock:
                rt = route(self.store, mbx, method, rest, self.rounds, lambda: self.ignore_if_match)
                call = Call(method, rest, query, headers, body, self.store, mbx, self.graph_url, owner, url)
                reply = rt.run(call)
            if call.applied:
                reply.headers["Preference-Applied"] = ", ".join(call.applied)
            if reply.status < 300 and op in WRITES:
                self.stats.add_writes(1)
            return reply
        if in_batch:
            return run()
        return self._gated(mbx.email, op, request_id, run)

    def _batch_mailbox(self, principal, requests: list[dict[str, Any]]) -> str | None:
        """The mailbox a batch acts on (that of its first request), for the concurrency limit."""
        segments = [p for p in requests[0]["url"].split("?", 1)[0].split("/") if p and p.lower() != "v1.0"]
        try:
            with self.store.lock:
                return find_mailbox(self.store, principal, segments)[0].email
        except GraphError:
            return None

    def dispatch_operation(self, principal, method: str, segments: list[str]) -> str:
        """The operation a call names; GraphError if it names none."""
        with self.store.lock:
            mbx, rest, _ = find_mailbox(self.store, principal, segments)
            return route(self.store, mbx, method, rest, self.rounds, lambda: self.ignore_if_match).operation

    def _gated(self, email: str | None, op: str, request_id: int, run: Callable[[], Reply]) -> Reply:
        """Concurrency limit, delays and faults around ``run``."""
        key = (email or "").lower()
        with self._flight_lock:
            if email and self.concurrency_limit is not None and self._in_flight[key] >= self.concurrency_limit:
                raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                 {"Retry-After": "1"})
            self._in_flight[key] += 1
        try:
            self.faults.wait_open()
            self.faults_before(op, request_id)
            reply = run()
            after = self.faults.after(op, request_id)
            if after is not None:
                mode = after.params["mode"]
                if mode == "drop":
                    raise Drop()
                if mode == "500":
                    raise GraphError(500, "InternalServerError", "An internal server error occurred.")
                time.sleep(after.params["seconds"])
            return reply
        finally:
            with self._flight_lock:
                self._in_flight[key] -= 1

    def faults_before(self, op: str, request_id: int) -> None:
        """Delays, then the request-level fault that fires for ``op`` (raised as Drop or GraphError)."""
        delay = self.faults.delay_for(op, request_id)
        if delay:
            time.sleep(delay)
        action = self.faults.before(op, request_id)
        if action is None:
            return
        if action.kind == "drop":
            raise Drop()
        if action.kind == "http_500":
            raise GraphError(500, "InternalServerError", "An internal server error occurred. The operation failed.")
        raise throttled(action.params.get("backoff_ms"), action.params.get("status"))

    # --- parsing ------------------------------------------------------------------------------------
    def _principal(self, h: BaseHTTPRequestHandler):
        header = h.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if not header.strip():
            raise unauthorized("Access token is empty.")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
        principal = self.tokens.principal(token.strip())
        if principal is None:
            raise unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
        if principal.expires <= time.time():
            raise unauthorized("Lifetime validation failed, the token is expired.")
        return principal

    @staticmethod
    def _query(qs: str) -> dict[str, str]:
        try:
            pairs = urllib.parse.parse_qsl(qs, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
        except ValueError:
            raise GraphError(400, "BadRequest", "The query string is not valid.") from None
        out: dict[str, str] = {}
        for k, v in pairs:
            name = k if not k.startswith("$") else k.lower()
            if name in out:
                raise GraphError(400, "BadRequest", f"Query option '{k}' was specified more than once.")
            out[name] = v
        return out

    @staticmethod
    def _json(body: bytes, method: str, content_type: str) -> Any:
        if method in ("GET", "DELETE") or not body.strip():
            return None
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise GraphError(400, "BadRequest", _BAD_JSON)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise GraphError(400, "BadRequest", _BAD_JSON) from None

    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            h.close_connection = True
            raise GraphError(411, "LengthRequired", "Chunked request bodies are not accepted; send Content-Length.")
        try:
            length = int(h.headers.get("Content-Length") or "0")
        except ValueError:
            h.close_connection = True
            raise GraphError(400, "BadRequest", "The Content-Length header is not valid.") from None
        if length < 0:
            h.close_connection = True
            raise GraphError(400, "BadRequest", "The Content-Length header is not valid.")
        if length > self.max_request_bytes:
            h.close_connection = True
            _discard(h, length)  # read it first: closing on unread data resets the connection, answer and all
            raise GraphError(413, "RequestEntityTooLarge", f"The request body is larger than "
                             f"{self.max_request_bytes} bytes.")
        data = h.rfile.read(length) if length else b""
        if len(data) != length:
            raise Drop()
        return data

    # --- answers ------------------------------------------------------------------------------------
    def _drop(self, h: BaseHTTPRequestHandler) -> None:
        """As the EWS server does it: count a status 0 and shut the socket without an answer."""
        EwsApp._drop(self, h)  # type: ignore[arg-type]  # it needs only ``stats``

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply, rid: str, crid: str) -> None:
        self.stats.status(reply.status)
        data = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        if reply.html is not None:
            data = reply.html.encode("utf-8")
        try:
            h.send_response(reply.status)
            if reply.html is not None:
                h.send_header("Content-Type", "text/html; charset=utf-8")
                h.send_header("Content-Security-Policy", "default-src 'none'; form-action 'self'")
            elif reply.body is not None:
                h.send_header("Content-Type", JSON_TYPE if reply.body.get("@odata.context") or "error" not in
                              reply.body else "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("request-id", rid)
            h.send_header("client-request-id", crid)
            h.send_header("x-ms-ags-diagnostic", '{"ServerInfo":{"DataCenter":"Loopback","Slice":"E",'
                          '"Ring":"0","ScaleUnit":"000","RoleInstance":"127.0.0.1"}}')
            h.send_header("OData-Version", "4.0")
            h.send_header("Strict-Transport-Security", "max-age=31536000")
            for k, v in reply.headers.items():
                h.send_header(k, v)
            if h.close_connection:
                h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client went away
            h.close_connection = True


_MAX_DISCARD = 64 * 1024 * 1024


def _discard(h: BaseHTTPRequestHandler, length: int) -> None:
    """Read and drop up to 64 MiB of a refused body, so the client reads the refusal."""
    left = min(length, _MAX_DISCARD)
    while left > 0:
        chunk = h.rfile.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)
