"""The store's one error, and the checks that raise it (kept apart from snapshot_read.py, which
``bcsync status`` never needs: it imports threading, and builds its records' classes when imported)."""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import Any


class StoreCorruptError(RuntimeError):
    """The store file cannot be read. It is left exactly as it is."""

    def __init__(self, path: Path, detail: str, todo: str | None = None):
        self.path, self.detail = path, detail
        super().__init__(
            f"The contact store {path} cannot be read: {detail}. Nothing was changed. "
            + (todo or "Restore a backup with `bcsync backups` / `bcsync restore BACKUP`, "
               "or move the file away to start with an empty store.")
        )


def unreadable(path: Path, exc: OSError) -> StoreCorruptError:
    """An OSError reading a store file, said as what it is (a permission is not damage)."""
    if isinstance(exc, PermissionError):
        return StoreCorruptError(path, "permission denied", "Give your user read and write access to it "
                                 "(it is yours: chmod u+rw), or run bcsync as the user who owns it.")
    if isinstance(exc, IsADirectoryError):
        return StoreCorruptError(path, "it is a directory, not a file", "Move that directory away, then try again.")
    if isinstance(exc, NotADirectoryError):
        return StoreCorruptError(path, f"{path.parent} is a file, not a directory", "Point --home at a directory "
                                 "(or move that file away), then try again.")
    return StoreCorruptError(path, exc.strerror or str(exc), "Check the file and the disk it is on.")


def check_tables(path: Path, tables: Any) -> None:
    for table in tables.values():  # (map: at C speed, 50,000 records in a few ms)
        if not isinstance(table, dict) or not all(map(isinstance, table.values(), repeat(dict))):
            raise StoreCorruptError(path, "a table holds something that is not a record")
        if not all(map(str.isdigit, table)):  # JSON's keys are strings
            raise StoreCorruptError(path, "a record key is not a number")
