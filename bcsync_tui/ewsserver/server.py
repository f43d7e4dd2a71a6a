"""HTTP transport: authentication (auth.py), request limits, SOAP dispatch, fault injection.

Behaviour a client can rely on (and that exchangelib relies on):

* every SOAP answer carries a ``ServerVersionInfo`` header with a real Exchange build and ``Version``;
* request-level errors are HTTP 500 with a SOAP fault whose body starts with ``<?xml``;
* a wrong or missing password is HTTP 401 with ``WWW-Authenticate: Basic`` and *without*
  ``Connection: close`` (exchangelib reads a closed connection as "server busy");
* the connection is kept alive (HTTP/1.1) as IIS does;
* bodies above ``max_request_bytes`` get 413; malformed or hostile XML (DTDs, entities) gets an
  ErrorSchemaValidation fault; any unexpected exception is logged and answered with
  ErrorInternalServerError -- the serving thread never dies.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import ops_folders, ops_items, ops_sync
from .auth import APP_PREFIX, BASIC, TOKEN_PATH, Authenticator
from .faults import Faults
from .mailbox import Store
from .ops_common import Context
from .soap import (ACCEPTED_REQUEST_VERSIONS, DEFAULT_BUILD, DEFAULT_SCHEMA_VERSION, SoapFault, backoff_xml,
                   Request, envelope, fault_envelope, parse_request)
from .stats import RequestStats

log = logging.getLogger("bcsync_tui.ewsserver")

HANDLERS = {**ops_folders.HANDLERS, **ops_items.HANDLERS, **ops_sync.HANDLERS}
ENDPOINT_PATH = "/EWS/Exchange.asmx"
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
_BUSY = "The server cannot service this request right now. Try again later."
_IIS_500 = (b"<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' Application."
            b"</h1><h2><i>Runtime Error</i></h2></body></html>")
_IIS_401 = (b"<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid "
            b"credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid "
            b"credentials.</h2></body></html>")


class _Drop(Exception):
    """Close the connection without answering."""


class EwsApp:
    """Everything behind the HTTP socket; shared by all handler threads."""

    def __init__(self, store: Store, users: dict[str, str], faults: Faults, stats: RequestStats, *,
                 build: tuple = DEFAULT_BUILD, schema_version: str = DEFAULT_SCHEMA_VERSION,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, impersonators: set[str] | None = None,
                 realm: str = "127.0.0.1", auth_schemes: tuple[str, ...] = (BASIC,),
                 oauth_clients: dict[str, str] | None = None):
        self.store, self.users, self.faults, self.stats = store, users, faults, stats
        self.build, self.schema_version, self.max_request_bytes = build, schema_version, max_request_bytes
        self.impersonators = {u.lower() for u in (impersonators or ())}
        self.realm = realm
        self.auth = Authenticator(users, realm, auth_schemes, oauth_clients)
        self._ids = itertools.count(1)

    # --- one HTTP request ----------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        request_id = next(self._ids)
        self.stats.request()
        path = h.path.split("?", 1)[0].rstrip("/").lower()
        try:
            body = self._read_body(h)
        except _Drop:
            return
        if body is None:
            return
        if path == TOKEN_PATH and h.command == "POST":
            status, answer = self.auth.issue_token(h, body)
            return self._send(h, status, json.dumps(answer).encode(), "application/json",
                              headers={"Cache-Control": "no-store"})
        user, challenge = self.auth.check(h)
        if h.command != "POST" or path != ENDPOINT_PATH.lower():
            if path == ENDPOINT_PATH.lower() and user is None:
                return self._unauthorized(h, challenge)
            status = 404 if path != ENDPOINT_PATH.lower() else 405
            return self._send(h, status, b"", "text/html")
        if user is None:
            return self._unauthorized(h, challenge)
        try:
            req = parse_request(body)
        except SoapFault as f:
            return self._fault(h, f)
        op = req.operation
        self.stats.operation(op)
        self.stats.started()
        try:
            return self._answer(h, req, user, request_id)
        finally:
            self.stats.finished()

    def _answer(self, h: BaseHTTPRequestHandler, req: Request, user: str, request_id: int) -> None:
        op = req.operation
        try:
            if req.request_version not in ACCEPTED_REQUEST_VERSIONS:
                raise SoapFault("ErrorInvalidServerVersion", "The specified server version is invalid.")
            acting = user
            if user.startswith(APP_PREFIX) and req.impersonate is None:
                raise SoapFault("ErrorInvalidExchangeImpersonationHeaderData",
                                "ExchangeImpersonation SOAP header must be present for this type of OAuth token.")
            if req.impersonate is not None:
                target = self.store.mailbox(req.impersonate or "")
                allowed = user.startswith(APP_PREFIX) or user.lower() in self.impersonators
                if not allowed or target is None:
                    raise SoapFault("ErrorImpersonateUserDenied",
                                    "The account does not have permission to impersonate the requested user.")
                acting = target.email
            delay = self.faults.delay_for(op, request_id)
            if delay:
                time.sleep(delay)
            action = self.faults.before(op, request_id)
            if action is not None:
                return self._pre_action(h, action)
            handler = HANDLERS.get(op)
            if handler is None:
                raise SoapFault("ErrorInvalidOperation", f"The operation {op} is not supported by this server.")
            with self.store.lock:
                ctx = Context(self.store, self.store.ensure_mailbox(acting), req, request_id, self.faults,
                              self.stats)
                result = handler(ctx, req.body)
            payload = envelope(result, build=self.build, schema_version=self.schema_version)
        except SoapFault as f:
            return self._fault(h, f)
        except Exception:  # never let a bug kill the serving thread
            log.exception("loopback EWS server: %s failed", op)
            return self._fault(h, SoapFault("ErrorInternalServerError", "An internal server error occurred. "
                                            "The operation failed."))
        after = self.faults.after(op, request_id)
        if after is not None:
            mode = after.params["mode"]
            if mode == "drop":
                return self._drop(h)
            if mode == "500":
                return self._fault(h, SoapFault("ErrorInternalServerError", "An internal server error occurred. "
                                                "The operation failed."))
            time.sleep(after.params["seconds"])
        self._send(h, 200, payload)

    # --- helpers -------------------------------------------------------------------------------------
    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes | None:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                line = h.rfile.readline(65537)
                try:
                    n = int(line.split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    self._send(h, 400, b"", "text/html", close=True)
                    return None
                if n == 0:
                    while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += n
                if size > self.max_request_bytes:
                    self._send(h, 413, b"", "text/html", close=True)
                    return None
                chunks.append(h.rfile.read(n))
                h.rfile.readline(65537)
        try:
            length = int(h.headers.get("Content-Length") or "0")
        except ValueError:
            self._send(h, 400, b"", "text/html", close=True)
            return None
        if length < 0:
            self._send(h, 400, b"", "text/html", close=True)
            return None
        if length > self.max_request_bytes:
            self._send(h, 413, b"", "text/html", close=True)
            return None
        data = h.rfile.read(length) if length else b""
        if len(data) != length:
            raise _Drop()
        return data

    def _unauthorized(self, h: BaseHTTPRequestHandler, ntlm_challenge: str | None = None) -> None:
        offers = [f"NTLM {ntlm_challenge}"] if ntlm_challenge else self.auth.challenges()
        self._send(h, 401, _IIS_401, "text/html", headers=[("WWW-Authenticate", v) for v in offers])

    def _fault(self, h: BaseHTTPRequestHandler, f: SoapFault) -> None:
        self._send(h, f.status, fault_envelope(f.code, f.text, f.message_xml))

    def _pre_action(self, h: BaseHTTPRequestHandler, action) -> None:
        p = action.params
        if action.kind == "drop":
            return self._drop(h)
        if action.kind == "http_500":
            if p.get("html"):
                return self._send(h, 500, _IIS_500, "text/html")
            return self._fault(h, SoapFault("ErrorInternalServerError", "An internal server error occurred. "
                                            "The operation failed."))
        backoff = p.get("backoff_ms")
        if p.get("status"):
            headers = {"Retry-After": str(max(1, math.ceil(backoff / 1000)))} if backoff else {}
            return self._send(h, int(p["status"]), b"", "text/html", headers=headers)
        mx = backoff_xml(backoff) if backoff is not None else None
        return self._fault(h, SoapFault("ErrorServerBusy", _BUSY, message_xml=mx))

    def _drop(self, h: BaseHTTPRequestHandler) -> None:
        self.stats.status(0)
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "text/xml; charset=utf-8",
              *, headers: dict | list[tuple[str, str]] | None = None, close: bool = False) -> None:
        self.stats.status(status)
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("X-AspNet-Version", "4.0.30319")
            h.send_header("X-Powered-By", "ASP.NET")
            for k, v in (headers.items() if isinstance(headers, dict) else headers or ()):
                h.send_header(k, v)
            if close:
                h.send_header("Connection", "close")
                h.close_connection = True
            if getattr(h, "_headers_buffer", None) is not None:
                h._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
                h.flush_headers()
            else:
                h.end_headers()
                h.wfile.write(body)
        except OSError:  # the client went away (timed out): nothing to answer
            h.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after five minutes

    def setup(self) -> None:
        super().setup()
        try:  # answers go out as soon as they are written (no Nagle / delayed-ACK stalls)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.track(self.connection, True)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # noqa: N802
        self.server.app.handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST  # noqa: N815

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s - %s", self.address_string(), fmt % args)


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: EwsApp):
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def serve_in_background(self, name: str) -> threading.Thread:
        """Serve on a daemon thread (the loopback servers' and their tests' way to run)."""
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True)
        thread.start()
        return thread

    def shut_down(self, thread: threading.Thread | None) -> None:
        """Stop serving, cut open client connections, close the socket and wait for ``thread``."""
        self.shutdown()
        self.close_connections()
        self.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        log.debug("loopback EWS server: connection error from %s", client_address, exc_info=True)
