"""A snapshot's checksum and its tail's sums (the snapshot's layout: store_format.py).

The snapshot carries a CRC-32 of the whole file (computed with its own eight digits as ``0``) in its
head: ``{"format":"bcsync-store","checksum":"crc32:1a2b3c4d","seq":7,"tables":{``. A file changed
after it was written (bit rot, a stray edit) is refused instead of loaded as a different store.
A snapshot whose last tables are left unread when it is loaded (its tail, ``store_format.
snapshot_chunks``) also says where they begin, the CRC-32 of the bytes before them and that of
theirs, right behind the checksum (``"tail_at":"000025505615","head_crc":"5e6f7a8b","tail_crc":
"9c0d1e2f"``): loading checks only the bytes it reads, and the tail is checked when it is read
(or, unread, before anything is written).
"""

from __future__ import annotations

import zlib

#: how every snapshot written now begins; the eight hex digits of its CRC-32 follow
CHECKSUM_HEAD = b'{"format":"bcsync-store","checksum":"crc32:'
_CRC_AT = len(CHECKSUM_HEAD)
_ZERO_CRC = b"00000000"
#: A snapshot's tail fields: digits put in once the file is written, like the checksum's. The checksum
#: still covers the whole file, these fields included, as every bcsync computes it (an older one reads
#: the file whole and finds it intact); the head part's sum counts all four fields' digits as ``0``. A
#: damaged offset is caught where it is used: the tail's first line must be there.
TAIL_KEYS = (b'","tail_at":"', b'","head_crc":"', b'","tail_crc":"')
_TAIL_FIELDS = b"%s%%012d%s%%08x%s%%08x" % TAIL_KEYS  # (the digits of tail_at, head_crc and tail_crc)
_TAIL_AT = _CRC_AT + 8 + len(TAIL_KEYS[0])
_HEAD_CRC_AT = _TAIL_AT + 12 + len(TAIL_KEYS[1])
_TAIL_CRC_AT = _HEAD_CRC_AT + 8 + len(TAIL_KEYS[2])
_FIELDS_END = _TAIL_CRC_AT + 8
_ZERO_TAIL_FIELDS = _TAIL_FIELDS % (0, 0, 0)


def head_fields(tail: bool) -> bytes:
    """How a snapshot begins, up to its seq: its checksum and (``tail``) its tail's fields, all digits
    ``0`` until the file is written (``snapshot_patches``)."""
    return CHECKSUM_HEAD + _ZERO_CRC + (_ZERO_TAIL_FIELDS if tail else b"")


class ChecksumMismatch(ValueError):
    """The snapshot's bytes are not the ones that were written."""


def _file_crc(raw: bytes) -> int:
    view = memoryview(raw)
    crc = zlib.crc32(view[:_CRC_AT])
    crc = zlib.crc32(_ZERO_CRC, crc)
    return zlib.crc32(view[_CRC_AT + 8:], crc)


def _has_tail_fields(raw: bytes) -> bool:
    return (raw[_CRC_AT + 8:_TAIL_AT] == TAIL_KEYS[0] and raw[_TAIL_AT + 12:_HEAD_CRC_AT] == TAIL_KEYS[1]
            and raw[_HEAD_CRC_AT + 8:_TAIL_CRC_AT] == TAIL_KEYS[2])


def _digits(raw: bytes, at: int, size: int, base: int) -> int | None:
    digits = raw[at:at + size]
    try:
        return int(digits, base) if len(digits) == size and digits.isascii() and digits.isalnum() else None
    except ValueError:
        return None


def tail_start(raw: bytes) -> int | None:
    """Where the tail of a snapshot begins by its head (``raw``: at least its first line), if it says."""
    return _digits(raw, _TAIL_AT, 12, 10) if _has_tail_fields(raw) else None


def tail_sums(raw: bytes) -> tuple[int, int] | None:
    """The CRC-32s a snapshot's head holds of the bytes before its tail (``head_part_crc``) and of its
    tail, if it holds them."""
    if not _has_tail_fields(raw):
        return None
    head, tail = _digits(raw, _HEAD_CRC_AT, 8, 16), _digits(raw, _TAIL_CRC_AT, 8, 16)
    return None if head is None or tail is None else (head, tail)


def head_part_crc(head_part: bytes) -> int:
    """The CRC-32 of the bytes before a snapshot's tail, the digits of its checksum and tail fields
    counted as ``0`` (``tail_sums``' first)."""
    view = memoryview(head_part)
    crc = zlib.crc32(_ZERO_TAIL_FIELDS, zlib.crc32(_ZERO_CRC, zlib.crc32(view[:_CRC_AT])))
    return zlib.crc32(view[_FIELDS_END:], crc)


_ZEROS = bytes(1 << 20)


def _crc_on_zeros(crc: int, count: int) -> int:
    """``zlib.crc32`` of ``count`` zero bytes, continuing ``crc``."""
    while count > 0:
        crc = zlib.crc32(memoryview(_ZEROS)[:min(count, len(_ZEROS))], crc)
        count -= len(_ZEROS)
    return crc


def patched_crc(crc: int, length: int, patches: list[tuple[int, bytes]]) -> int:
    """The CRC-32 of ``length`` bytes once ``patches`` (offset, bytes) replace ASCII zeros in them, from
    the CRC-32 (``crc``) they had before. CRC-32 is affine: crc(a ^ b) = crc(a) ^ crc(b) ^ crc(zeros)
    for equal lengths, and the difference is zero but for the patches (a pass over zeros: ~20 ms for
    a 60 MB snapshot, never its bytes again)."""
    end = max(at + len(data) for at, data in patches)
    delta = bytearray(end)
    for at, data in patches:
        delta[at:at + len(data)] = bytes(b ^ 0x30 for b in data)
    return crc ^ _crc_on_zeros(zlib.crc32(delta), length - end) ^ _crc_on_zeros(zlib.crc32(bytes(end)), length - end)


def has_checksum(raw: bytes) -> bool:
    return raw.startswith(CHECKSUM_HEAD)


def stored_checksum(raw: bytes) -> int:
    """The checksum a file's head (``raw``: at least its first line) holds; ChecksumMismatch if unreadable."""
    stored = _digits(raw, _CRC_AT, 8, 16)
    if stored is None:
        raise ChecksumMismatch("its checksum is unreadable")
    return stored


def head_crc(head_part: bytes) -> int:
    """The CRC-32 of a file's first bytes (at least its first line) as its checksum counts them: the
    rest of the file's bytes continue it (``zlib.crc32(rest, head_crc(head_part))``)."""
    return _file_crc(head_part)


def crc_patch(crc: int) -> tuple[int, bytes]:
    """Where the checksum goes in a snapshot and its text, given the CRC-32 of the zeroed file."""
    return _CRC_AT, b"%08x" % crc


def snapshot_patches(crc: int, where: dict[str, int]) -> list[tuple[int, bytes]]:
    """What goes into a snapshot written by ``snapshot_chunks`` (``where``: as it filled it in) once
    all of it is, given the CRC-32 of all its pieces: (offset, bytes) of its tail fields and of its
    checksum, which counts them as they are then."""
    if "tail_at" not in where:
        return [crc_patch(crc)]
    fields = [(_TAIL_AT, b"%012d" % where["tail_at"]), (_HEAD_CRC_AT, b"%08x" % where["head_crc"]),
              (_TAIL_CRC_AT, b"%08x" % where["tail_crc"])]
    return [*fields, crc_patch(patched_crc(crc, where["length"], fields))]
