"""core.net's one watchdog thread for every request's deadline: a deadline fires even while a
later one is waited for, a watch stopped in time never fires, and requests do not start threads."""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace

from bcsync_tui.core import net


def _watched_socket(watch: net._Watch) -> socket.socket:
    ours, theirs = socket.socketpair()
    watch.add(SimpleNamespace(sock=ours))  # type: ignore[arg-type]  # what the watch uses of a connection
    return theirs


def _wait_until(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_short_deadline_fires_while_a_longer_one_is_still_waited_for():
    long = net._Watch(300.0)
    short = net._Watch(0.2)
    _watched_socket(short)
    try:
        assert _wait_until(lambda: short.fired)
        assert not long.fired
    finally:
        long.stop()
        short.stop()


def test_a_watch_stopped_in_time_never_fires():
    watch = net._Watch(0.1)
    _watched_socket(watch)
    watch.stop()
    later = net._Watch(0.2)  # the thread wakes for this one, past the first one's deadline
    assert _wait_until(lambda: later.fired)
    assert not watch.fired


def test_many_requests_share_one_deadline_thread():
    before = threading.active_count()
    watches = [net._Watch(60.0) for _ in range(200)]
    for w in watches:
        w.stop()
    assert threading.active_count() <= before + 1
