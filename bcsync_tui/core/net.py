"""A whole-request deadline for HTTP through ``requests``, for every transport (EWS, Graph).

``requests``' ``timeout`` bounds each socket read, not the request: a server that sends one byte a
second never trips it, and a validate or a sync would wait for ever. ``DeadlineAdapter`` (mount it on
a ``requests.Session``, or make it an adapter class a client library installs) starts a watchdog with
each request; when the request (headers and body) has not finished by its deadline, the watchdog shuts
the request's socket down, and the request fails with ``RequestDeadlineExceeded`` (a
``requests.exceptions.Timeout``), whatever the server is still sending.

The sockets are found through urllib3's documented extension points: the pool manager's
``pool_classes_by_scheme`` and a pool's ``ConnectionCls``.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
import warnings
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InsecureRequestWarning

#: seconds a whole HTTP request may take by default (documented in docs/cli.md, Limits)
DEFAULT_DEADLINE = 120.0
#: overrides DEFAULT_DEADLINE (seconds), for a very slow server or link
DEADLINE_ENV = "BCSYNC_HTTP_DEADLINE"

_local = threading.local()


def default_deadline() -> float:
    try:
        value = float(os.environ.get(DEADLINE_ENV, ""))
    except ValueError:
        return DEFAULT_DEADLINE
    return value if value > 0 else DEFAULT_DEADLINE


class RequestDeadlineExceeded(requests.exceptions.Timeout):
    """The server did not finish answering within the request's deadline."""

    def __init__(self, seconds: float, url: str = ""):
        self.seconds = seconds
        super().__init__(f"the server did not finish answering within {seconds:.0f} s (request deadline)"
                         + (f": {url}" if url else ""))


def last_request_overran() -> bool:
    """Whether the latest request of this thread was stopped by its deadline (a client library that
    wraps exceptions, as exchangelib does, loses the type; this flag survives)."""
    return bool(getattr(_local, "overran", False))


class _Watch:
    """One request's watchdog: the connections it used, shut down when the deadline passes."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self._lock = threading.Lock()
        self.done = False
        self._conns: list[HTTPConnection] = []
        _watchdog.watch(self, time.monotonic() + seconds)

    def add(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conns.append(conn)

    def _fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for conn in self._conns:
                sock = conn.sock
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
                    except OSError:
                        pass

    def stop(self) -> None:
        with self._lock:
            self.done = True
            self._conns.clear()


class _Watchdog:
    """One thread that fires every request's deadline (a timer thread per request cost ~0.4 ms of
    CPU each, and a Graph first sync sends hundreds). Deadlines wait in a heap; a request that
    ended in time leaves its watch there, dropped when the thread next looks."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, watch: _Watch, at: float) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="bcsync-http-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (at, next(self._order), watch))
            if self._heap[0][2] is watch:  # sooner than the one the thread waits for
                self._cond.notify()

    def _due(self) -> _Watch:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            self._due()._fire()


_watchdog = _Watchdog()


def _new_watchdog() -> None:
    """In a forked child the parent's thread does not exist (and its lock may be held): a new one."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog)


class _Watched:
    """Mixed into urllib3's connections: each request puts its connection under the current watch."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.add(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedResponse(requests.Response):
    """A response whose body is read under the request's deadline (the watchdog stops once the body
    has been read or the response closed)."""

    _watch: _Watch | None = None

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False):
        chunks = super().iter_content(chunk_size, decode_unicode)  # type: ignore[call-overload]
        watch = self._watch
        if watch is None:
            return chunks
        return self._watched(chunks, watch)

    def _watched(self, chunks: Any, watch: _Watch):
        try:
            yield from chunks
        except Exception as exc:
            if watch.fired:
                _local.overran = True
                raise RequestDeadlineExceeded(watch.seconds, self.url or "") from exc
            raise
        finally:
            watch.stop()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
        super().close()


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that gives every request a whole-request deadline (``deadline`` seconds,
    a class attribute so that a library that instantiates the adapter itself can be given one through
    a subclass; ``None``: ``default_deadline()``)."""

    deadline: float | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # urllib3 repeats its "Unverified HTTPS request" warning for every request (30+ lines a sync
        # on a profile with TLS verification off): once per process and host is the point made.
        warnings.filterwarnings("once", category=InsecureRequestWarning)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        if type(response) is requests.Response:
            response.__class__ = WatchedResponse
        return response

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        seconds = self.deadline if self.deadline is not None else default_deadline()
        watch = _Watch(seconds)
        outer, _local.watch = getattr(_local, "watch", None), watch
        _local.overran = False
        try:
            response = super().send(request, *args, **kwargs)
        except Exception as exc:
            watch.stop()
            if watch.fired:
                _local.overran = True
                raise RequestDeadlineExceeded(seconds, request.url or "") from exc
            raise
        finally:
            _local.watch = outer
        if isinstance(response, WatchedResponse):
            response._watch = watch  # the body is read under the same deadline
        else:
            watch.stop()
        return response
