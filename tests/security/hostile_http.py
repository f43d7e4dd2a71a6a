"""HTTP servers that misbehave on purpose, on 127.0.0.1: one that answers one byte a second
(never hitting a per-read timeout), one that accepts and never answers. Each stops with its context."""

from __future__ import annotations

import socket
import threading


class HostileServer:
    def __init__(self, mode: str, byte_every: float = 1.0):
        assert mode in ("trickle", "frozen")
        self.mode, self.byte_every = mode, byte_every
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stop = threading.Event()
        self.connections = 0
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/EWS/Exchange.asmx"

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: 100000\r\n\r\n"
                  + b"<?xml version='1.0'?>" + b" " * 99_979)
        with conn:
            try:
                conn.recv(1 << 20)
                for i in range(len(answer)):
                    if self._stop.wait(self.byte_every):
                        return
                    if self.mode == "trickle":
                        conn.sendall(answer[i:i + 1])
            except OSError:
                return
