"""Blocking calls (the sync engine, connection checks) run in daemon threads awaited from async workers.

Textual's ``thread=True`` workers run in asyncio's default executor, whose threads are joined when
the app exits: a network call stuck in its timeout would then hold the terminal after ``q``. A
daemon thread is never joined; cancelling the awaiting worker lets the app quit at once, and the
store stays consistent because every store write is an atomic journal append.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting worker was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def in_daemon_thread(fn: Callable[..., T], *args: Any, name: str = "bcsync-worker", **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` in a new daemon thread and await its result or exception."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting coroutine, which decides
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:
            pass  # the app's loop is already closed: nobody is waiting any more

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future
