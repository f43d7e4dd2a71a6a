"""Loading a store's snapshot file (see storage.py): whole, or only up to its tail.

A snapshot written by a storage with deferred tables puts those last and says so in its head
(``store_format.tail_names``). Loading then reads and decodes the file only up to them, while
another thread reads the rest a megabyte at a time for the whole file's checksum (reads and zlib
let go of the GIL: on a second core that costs no time). The tail is decoded when first used
(``read_tail``), from the same file: the storage checks it is still the one it loaded.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from .snapshot_sums import (ChecksumMismatch, has_checksum, head_crc, head_part_crc, stored_checksum, tail_start,
                            tail_sums)
from .store_errors import StoreCorruptError, check_tables, unreadable
from .store_format import FORMAT, LEGACY_KEYS, parse_snapshot_lines, tail_marker, tail_names
from .store_signature import open_signature

#: bytes read first (the head line is far shorter), then at a time while looking for a snapshot's tail
_HEAD_BLOCK = 1 << 16
_READ_BLOCK = 1 << 22
#: bytes read at a time for the checksum while the main thread decodes. Few and large: each read and
#: each CRC gives up the GIL, and getting it back waits for the decoding thread's switch interval (5 ms)
_CHECK_BLOCK = 1 << 23


@dataclass(frozen=True)
class Tail:
    """Where a loaded snapshot's tail lies (not decoded yet), and the tables it holds; ``crc``: its
    bytes' CRC-32 as the head says (None: checked with the whole file when it was loaded)."""

    start: int
    size: int
    names: frozenset[str]
    crc: int | None = None


@dataclass(frozen=True)
class Loaded:
    tables: dict[str, dict[str, Any]]
    seq: int
    tail: Tail | None = None


def read_snapshot(path: Path, deferred: frozenset[str], compact: bool) -> Loaded:
    """The snapshot at ``path``: its tail left unread if every table in it is in ``deferred``."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return Loaded({}, 0)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    with fh:
        try:
            raw, tail = _read_up_to_tail(fh, deferred)
            if tail is not None:
                loaded = _load_head_part(path, fh, raw, tail, compact)
                if loaded is not None:
                    return loaded
                fh.seek(0)  # damaged, or not the layout: read whole, the one-piece parser names the fault
                raw = fh.read()
        except OSError as exc:
            raise unreadable(path, exc) from exc
    return _load_whole(path, raw, compact)


def read_tail(path: Path, tail: Tail, signature: tuple[int, int, int] | None, compact: bool
              ) -> dict[str, dict[str, Any]] | None:
    """The tables in the tail of the snapshot loaded (``signature``: its inode, size and mtime);
    None if the file at ``path`` is another snapshot now."""
    # The tail goes straight behind a head line of its own, in one buffer (not a copy of it made
    # to put the head before it): the layout parse_snapshot_lines reads.
    head = b'{"tables":{\n'
    raw = bytearray(len(head) + tail.size - tail.start)
    raw[:len(head)] = head
    try:
        with open(path, "rb") as fh:
            if open_signature(fh.fileno()) != signature:
                return None
            fh.seek(tail.start)
            if fh.readinto(memoryview(raw)[len(head):]) != tail.size - tail.start:
                return None  # shorter than the snapshot loaded: not that file
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if tail.crc is not None and zlib.crc32(memoryview(raw)[len(head):]) != tail.crc:
        raise _tail_checksum_error(path)
    doc = _parsed(raw, compact)  # (its tables are tables of records: parse_snapshot_lines checks)
    if doc is None or not tail.names.issuperset(doc["tables"]):
        raise StoreCorruptError(path, "damaged records at its end")
    return doc["tables"]  # type: ignore[no-any-return]


def check_tail(path: Path, tail: Tail, signature: tuple[int, int, int] | None) -> bool:
    """Check the bytes of a loaded snapshot's tail against the sum its head holds of them (``tail.crc``)
    without decoding them; StoreCorruptError if they do not match, False if the file at ``path`` is
    another snapshot now."""
    try:
        with open(path, "rb") as fh:
            if open_signature(fh.fileno()) != signature:
                return False
            crc = _tail_crc(fh, tail, 0)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if crc != tail.crc:
        raise _tail_checksum_error(path)
    return True


def _tail_crc(fh: BinaryIO, tail: Tail, crc: int) -> int | None:
    """``zlib.crc32`` of the tail's bytes, continuing ``crc``, read a block at a time; None if the file
    ends before the tail does."""
    offset = tail.start
    while offset < tail.size and (block := os.pread(fh.fileno(), _CHECK_BLOCK, offset)):
        crc, offset = zlib.crc32(block, crc), offset + len(block)
    return crc if offset == tail.size else None


def _tail_checksum_error(path: Path) -> StoreCorruptError:
    return _checksum_error(path, ChecksumMismatch("the checksum of its last part does not match its content"))


def _read_up_to_tail(fh: BinaryIO, deferred: frozenset[str]) -> tuple[bytes, Tail | None]:
    """The file's bytes, or only those before its tail when all the tail's tables are ``deferred``
    (then also where the tail lies)."""
    first = fh.read(_HEAD_BLOCK)
    while b"\n" not in first and (more := fh.read(_READ_BLOCK)):  # (the head is its first line)
        first += more
    names = tail_names(first)
    if not names or not deferred.issuperset(names):
        if len(first) < _HEAD_BLOCK or not fh.read(1):
            return first, None
        fh.seek(0)  # (reading the first block again costs less than a copy of the whole file)
        return fh.read(), None
    size, marker = os.fstat(fh.fileno()).st_size, tail_marker(names[0])
    start = tail_start(first)
    if start is not None and 0 < start < size and os.pread(fh.fileno(), len(marker), start - 1) == marker:
        fh.seek(0)  # the head says where the tail begins, and its first line is there: one read
        return _head_part(fh, start), Tail(start, size, frozenset(names))
    at, read = first.find(marker), len(first)  # at: where the marker begins in the file
    recent = first[1 - len(marker):]  # the last bytes read: the marker may straddle blocks
    while at < 0:
        more = fh.read(_READ_BLOCK)
        if not more:
            fh.seek(0)
            return fh.read(), None  # the whole file: the parser names what is wrong with it
        if (in_seam := (recent + more[:len(marker) - 1]).find(marker)) >= 0:  # (a few bytes, not a block)
            at = read - len(recent) + in_seam
        elif (in_more := more.find(marker)) >= 0:
            at = read + in_more
        recent = more[1 - len(marker):] if len(more) >= len(marker) else (recent + more)[1 - len(marker):]
        read += len(more)
    # The blocks searched are let go as they come, and the head part read again in one piece: that
    # is no more work than joining them, and the file is never in memory twice (the TUI's peak).
    fh.seek(0)
    return _head_part(fh, at + 1), Tail(at + 1, size, frozenset(names))


def _head_part(fh: BinaryIO, size: int) -> bytes:
    head_part = fh.read(size)
    if len(head_part) != size:
        raise OSError(errno.EIO, "the file is shorter than it was a moment ago")
    return head_part


def _load_head_part(path: Path, fh: BinaryIO, head_part: bytes, tail: Tail, compact: bool) -> Loaded | None:
    """Decode the tables before the tail while another thread checks their bytes against the sum the
    head holds of them (the tail is checked when it is read: ``read_tail``), or, in a snapshot without
    that sum, the whole file's checksum; None if the head part is not in the layout (the caller reads
    the file whole)."""
    if (sums := tail_sums(head_part)) is not None:
        tail = replace(tail, crc=sums[1])
        doc = _parsed_while_checking(path, head_part, lambda: head_part_crc(head_part), compact, partial=True,
                                     expected=sums[0])
    else:
        doc = _parsed_while_checking(path, head_part, lambda: _tail_crc(fh, tail, head_crc(head_part)), compact,
                                     partial=True)
    if doc is None:
        return None
    tables, seq = _checked(path, doc, True, records_checked=True)
    return Loaded(tables, seq, tail)


def _parsed_while_checking(path: Path, raw: bytes, crc: Callable[[], int | None], compact: bool,
                           partial: bool = False, expected: int | None = None) -> dict[str, Any] | None:
    """``_parsed`` while another thread computes the file's checksum (``crc``: None if the file
    ended early); StoreCorruptError unless it is the one ``raw``'s head holds (or ``expected``). (zlib
    and reads let go of the GIL: on a second core the check costs the decoding no time.)"""
    try:
        stored = stored_checksum(raw) if expected is None else expected
    except ChecksumMismatch as exc:
        raise _checksum_error(path, exc) from exc
    found: list[Any] = []

    def check() -> None:
        try:
            found.append(crc())
        except Exception as exc:  # (raised in this thread, below)
            found.append(exc)

    checker = threading.Thread(target=check, name="bcsync-checksum", daemon=True)
    checker.start()
    try:
        doc = _parsed(raw, compact, partial=partial)
    finally:
        checker.join()
    if isinstance(found[0], Exception):
        raise found[0]
    if found[0] != stored:
        raise _checksum_error(path, ChecksumMismatch("its checksum does not match its content"))
    return doc


def _parsed(raw: bytes, compact: bool, partial: bool = False) -> dict[str, Any] | None:
    """``parse_snapshot_lines``, None also where the bytes do not decode (damage: the caller says so)."""
    try:
        return parse_snapshot_lines(raw, compact, partial=partial)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _checksum_error(path: Path, exc: ChecksumMismatch) -> StoreCorruptError:
    return StoreCorruptError(path, f"{exc}: the file changed after bcsync wrote it (a disk error, or an edit)")


def _load_whole(path: Path, raw: bytes, compact: bool) -> Loaded:
    if not raw or raw.isspace():  # (not strip(): a copy of the whole file)
        return Loaded({}, 0)  # an empty file holds nothing; the sync's guards catch an emptied store
    checked = has_checksum(raw)
    doc = _parsed_while_checking(path, raw, lambda: head_crc(raw), compact) if checked else _parsed(raw, compact)
    records_checked = doc is not None
    if doc is None:  # another layout, or damaged: the one-piece parser names the fault
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreCorruptError(path, f"not valid JSON ({exc})") from exc
        except RecursionError as exc:
            raise StoreCorruptError(path, "nested too deeply to be a bcsync store") from exc
    return Loaded(*_checked(path, doc, checked, records_checked))


def _checked(path: Path, doc: Any, checked: bool,
             records_checked: bool = False) -> tuple[dict[str, dict[str, Any]], int]:
    """The tables and seq of a decoded snapshot, if it is one (``records_checked``: its tables are
    known to be tables of records, as ``parse_snapshot_lines`` returns them)."""
    if (not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("tables"), dict)
            or type(doc.get("seq", 0)) is not int or (not checked and not doc.keys() <= LEGACY_KEYS)):
        raise StoreCorruptError(path, "not a bcsync store file")
    tables = doc["tables"]
    if not records_checked:
        check_tables(path, tables)
    return tables, int(doc.get("seq", 0))
