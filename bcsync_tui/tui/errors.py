"""Turn an exception from a worker or a store write into a dialog title and what to do about it."""

from __future__ import annotations

from ..core.lock import LockedError
from ..core.model import ValidationError
from ..core.store import NotFoundError, StoreCorruptError
from ..core.sync.events import ConfigurationProblem, ConnectionProblem, GuardTripped, StoreLocked, SyncError


def explain(error: BaseException) -> tuple[str, str]:
    if isinstance(error, StoreLocked):
        return ("Another sync is running",
                f"{error}\n\nAnother bcsync (for example `bcsync sync` from a terminal or a scheduled "
                "sync) is syncing this contact store. Wait for it to finish, then sync again.")
    if isinstance(error, LockedError):
        return ("The contact store is busy", f"{error}\n\nYour change was not saved; try again in a moment.")
    if isinstance(error, ConnectionProblem):
        return ("Cannot reach Exchange",
                f"{error}\n\nCheck the Exchange setup (key x): server, user name, password and TLS option.")
    if isinstance(error, ConfigurationProblem):
        return ("The sync setup is incomplete", f"{error}\n\nOpen the Exchange setup (x) or the filter (f).")
    if isinstance(error, GuardTripped):
        return ("The sync stopped before writing anything", str(error))
    if isinstance(error, SyncError):
        return ("The sync failed", str(error))
    if isinstance(error, StoreCorruptError):
        return ("The contact store cannot be read", str(error))
    if isinstance(error, ValidationError):
        return ("Invalid contact", str(error))
    if isinstance(error, NotFoundError):
        return ("Not found", f"{error}\n\nIt may have been deleted by another bcsync; the list is refreshed.")
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return ("A file could not be read or written",
                f"{error.strerror or error}{where}\n\nCheck the free disk space and the permissions of the "
                "bcsync data directory.")
    return ("Something went wrong",
            f"{type(error).__name__}: {error}\n\nThis is a bug in bcsync. Your data is safe (every write is "
            "atomic). Please report it with the steps that led here.")
