"""What a store's files are on disk, as (inode, size, mtime): the storage's test for another process's
writes, and ``bcsync status``'s for whether its status file is current, without importing the storage
(TinyDB and the snapshot format: a few ms of every `bcsync status`)."""

from __future__ import annotations

import os
from pathlib import Path

from .store_errors import unreadable

Signature = tuple[int, int, int]


def file_signature(path: Path) -> Signature | None:
    """(inode, size, mtime) of a file, None if it is missing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreadable(path, exc) from exc
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def open_signature(fd: int) -> Signature:
    """(inode, size, mtime) of an open file (``file_signature`` of the file it is)."""
    st = os.fstat(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def files_signature(path: Path) -> tuple[Signature | None, Signature | None]:
    """(snapshot, journal) of a store on disk, None for a missing file: what
    ``JournaledStorage.signature`` reports once its memory holds exactly these files."""
    return file_signature(path), file_signature(path.with_name(path.name + ".wal"))
