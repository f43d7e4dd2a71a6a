"""Helpers for tests that write a store's snapshot file by hand."""

from __future__ import annotations

import zlib

from bcsync_tui.core import snapshot_sums, store_format


def resummed(raw: bytes) -> bytes:
    """A snapshot's bytes with its sums made to match them again, as if bcsync had written them: the
    whole file's checksum and, in one with a tail, where it begins and the sum of the bytes before it
    (an edit that rewrote them all: what no checksum can catch)."""
    names = store_format.tail_names(raw)
    where = {}
    if names and snapshot_sums.tail_sums(raw) is not None:  # (where the tail begins now: the edit may move it)
        start = raw.index(store_format.tail_marker(names[0])) + 1
        where = {"tail_at": start, "head_crc": snapshot_sums.head_part_crc(raw[:start]),
                 "tail_crc": zlib.crc32(raw[start:]), "length": len(raw)}
    zeroed = bytearray(raw)
    for at, data in snapshot_sums.snapshot_patches(0, where):  # (the fields' places)
        zeroed[at:at + len(data)] = b"0" * len(data)
    out = bytearray(zeroed)
    for at, data in snapshot_sums.snapshot_patches(zlib.crc32(zeroed), where):
        out[at:at + len(data)] = data
    return bytes(out)
