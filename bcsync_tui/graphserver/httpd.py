"""The socket side: the EWS server's threading HTTP server (connection tracking, clean shutdown) with the
methods Graph uses (GET, POST, PATCH, PUT, DELETE) and, optionally, TLS per connection."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import ThreadingHTTPServer

from ..ewsserver.server import HttpServer, _Handler


class GraphHandler(_Handler):
    server_version = "Microsoft-HTTPAPI/2.0"
    timeout = 120

    def do_PATCH(self) -> None:  # noqa: N802
        self.server.app.handle(self)  # type: ignore[attr-defined]

    do_PUT = do_DELETE = do_PATCH  # noqa: N815


class GraphHttpServer(HttpServer):
    def __init__(self, address: tuple[str, int], app, tls: ssl.SSLContext | None = None):
        self.app = app
        self.tls = tls
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        ThreadingHTTPServer.__init__(self, address, GraphHandler)

    def get_request(self):
        conn, addr = super().get_request()
        if self.tls is not None:  # the handshake happens in the handler thread, on the first read
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address) -> None:
        pass  # a client that goes away or fails the TLS handshake is not an error of the server
