"""The store's two on-disk formats: journal lines and the snapshot (see storage.py).

* a journal line is ``<json> <crc32 hex>\\n``, one transaction;
* the snapshot is one JSON document laid out one record per line, so that both writing and reading
  go a chunk of records at a time: one C call over 50,000 records would hold the GIL for ~0.3 s and
  freeze the TUI's input while another thread works (or while it reloads).

The snapshot carries checksums in its head (``snapshot_sums.py``); snapshots written before them
still load, and the next compaction writes them with them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from itertools import islice, repeat
from typing import Any

from .snapshot_sums import CHECKSUM_HEAD, head_fields, snapshot_patches

FORMAT = "bcsync-store"
#: the keys of a snapshot written before the checksum
LEGACY_KEYS = frozenset({"format", "seq", "tables"})

_orjson: Any = None


def _lib() -> Any:
    """orjson, imported when first needed: `bcsync status` answered from status.json reads no store
    file, and orjson imports uuid and platform (~5 ms of every command)."""
    global _orjson
    if _orjson is None:
        import orjson

        _orjson = orjson
    return _orjson


def _encode(value: Any) -> bytes:
    """Compact JSON, UTF-8 (orjson: ~6x json's speed; a snapshot encodes every record). json reads
    it back (``_decode``)."""
    lib = _orjson or _lib()
    return lib.dumps(value, option=lib.OPT_NON_STR_KEYS)  # type: ignore[no-any-return]


def _decode(text: str | bytes) -> Any:
    """JSON from the store's files: orjson (~3x json's speed on its own); what it refuses (a lone surrogate
    escape an older version may have written) is read by json, which then decides."""
    lib = _orjson or _lib()
    try:
        return lib.loads(text)
    except lib.JSONDecodeError:
        return json.loads(text)


def encode_line(payload: dict[str, Any]) -> bytes:
    body = _encode(payload)
    return body + b" %08x\n" % zlib.crc32(body)


def decode_line(line: bytes) -> dict[str, Any] | None:
    body, _, crc = line.rpartition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(body):
            return None
        record = _decode(body)
    except (ValueError, RecursionError):
        return None
    return record if _is_record(record) else None


def _is_record(record: Any) -> bool:
    """A journal entry of the shape ``encode_line`` writes: {"seq": int, "ops": [[table, id|None, doc|None]]}."""
    if not isinstance(record, dict) or type(record.get("seq")) is not int or not isinstance(record.get("ops"), list):
        return False
    for op in record["ops"]:
        if not (isinstance(op, list) and len(op) == 3 and isinstance(op[0], str)):
            return False
        doc_id, doc = op[1], op[2]
        if doc_id is not None and not (isinstance(doc_id, str) and doc_id.isdigit()):
            return False
        if doc is not None and not isinstance(doc, dict):
            return False
    return True


def _record(doc_id: str, doc: Any) -> bytes:
    """``"id":{...}``, compact UTF-8 JSON."""
    key = b'"' + doc_id.encode() + b'":' if type(doc_id) is str and doc_id.isdigit() else _encode(doc_id) + b":"
    return key + _encode(doc)


def snapshot_bytes(seq: int, tables: dict[str, dict[str, Any]], last: Sequence[str] = ()) -> bytes:
    """The snapshot: one JSON document, laid out one record per line so that both writing and
    reading go a few hundred records at a time. A single C call over 50,000 records would hold the
    GIL for ~0.3 s and freeze the TUI's input while another thread (or a reload) works.

        {"format":"bcsync-store","seq":7,"tables":{
        "contacts":{
        "1":{...},
        "2":{...}
        },
        "meta":{
        }
        }}
    """
    where: dict[str, int] = {}
    raw = bytearray(b"".join(snapshot_chunks(seq, tables, last, where)))
    for at, data in snapshot_patches(zlib.crc32(raw), where):
        raw[at:at + len(data)] = data
    return bytes(raw)


#: records per chunk of ``snapshot_chunks``
CHUNK_RECORDS = 500


def snapshot_chunks(seq: int, tables: dict[str, dict[str, Any]], last: Sequence[str] = (),
                    where: dict[str, int] | None = None) -> Iterator[bytes]:
    """``snapshot_bytes`` in pieces of a few hundred records, its checksum field zeroed: written to
    a file as they come (``paths.write_private_stream``), a snapshot of 50,000 contacts never needs
    the whole file in memory (several copies of it did: half a first sync's peak). The CRC-32 of
    all the pieces is the file's checksum (the field is zeroed in it); ``snapshot_patches`` (given
    ``where`` as these pieces filled it in) puts it in.

    The tables named in ``last`` (those present) come after all others, in that order, and the head
    says so (``"tail":[...]``) and where the first of them begins (``tail_start``): a reader that
    leaves them for later reads the file only up to there (``parse_snapshot_lines(partial=True)``)."""
    tail = [name for name in last if name in tables]
    order = [name for name in tables if name not in tail] + tail
    declared = f'"tail":{_encode(tail).decode()},' if tail else ""
    # the tail's fields (zeros as written), and the bytes and CRC-32 before the tail, then of the tail;
    # without ``where`` to report them in, none (a reader then searches the tail, and checks it whole)
    track = bool(tail) and where is not None
    head = head_fields(track) + f'","seq":{seq},{declared}"tables":{{\n'.encode()
    written, crc = len(head), zlib.crc32(head) if track else 0
    yield head
    for n, (name, docs) in enumerate((name, tables[name]) for name in order):
        if track and name == tail[0]:
            where["tail_at"], where["head_crc"] = written, crc  # type: ignore[index]
            written, crc = 0, 0
        for piece in _table_pieces(name, docs, n < len(tables) - 1):
            if track:
                written, crc = written + len(piece), zlib.crc32(piece, crc)
            yield piece
    if track:
        where["tail_crc"], where["length"] = zlib.crc32(b"}}\n", crc), where["tail_at"] + written + 3  # type: ignore[index]
    yield b"}}\n"


def _table_pieces(name: str, docs: dict[str, Any], more: bool) -> Iterator[bytes]:
    """One table of a snapshot: its name line, its records a chunk at a time, its closing line."""
    yield _encode(name) + b":{\n"
    items = iter(docs.items())
    lead = b""
    while part := list(islice(items, CHUNK_RECORDS)):
        records = _records(part)
        records[0] = lead + records[0]  # (not lead + the joined chunk: a copy of it)
        yield b",\n".join(records)
        lead = b",\n"
    if lead:
        yield b"\n"
    yield b"},\n" if more else b"}\n"


def _records(part: list[tuple[str, Any]]) -> list[bytes]:
    """``_record`` of each (document id, record), in one list comprehension when every id is a number
    in text (as the store's ids are) and every key in the records is text (as JSON's are): half the
    time of a snapshot. (orjson reads an option argument slower than it encodes a small record.)"""
    lib = _orjson or _lib()
    try:
        if all(map(str.isdigit, [doc_id for doc_id, _ in part])):
            dumps = lib.dumps
            return [b'"%s":%s' % (doc_id.encode(), dumps(doc)) for doc_id, doc in part]
    except TypeError:  # an id that is not text, or a key in a record that is not (OPT_NON_STR_KEYS)
        pass
    return [_record(doc_id, doc) for doc_id, doc in part]


#: bytes of records parsed per call when reading a snapshot (~1,000 contacts, a few ms)
_PARSE_BYTES = 1 << 19


def tail_names(raw: bytes) -> list[str]:
    """The tables a snapshot's head says come last (``snapshot_chunks``'s ``last``); [] if none, or
    if the head (in ``raw``, a file's first bytes) is not one bcsync wrote with its checksum."""
    first = raw.find(b"\n")
    if not raw.startswith(CHECKSUM_HEAD) or first < 0 or b'"tail":[' not in raw[:first]:
        return []
    try:
        head = _decode(raw[:first] + b"}}")
    except ValueError:
        return []
    tail = head.get("tail") if isinstance(head, dict) else None
    return tail if isinstance(tail, list) and all(isinstance(n, str) for n in tail) else []


def tail_marker(name: str) -> bytes:
    """The bytes that begin a table named ``name`` in a snapshot: the end of the line before, its name line."""
    return b"\n" + _encode(name) + b":{\n"


def parse_snapshot_lines(raw: bytes, compact: bool = True, chunk_bytes: int = _PARSE_BYTES,
                         partial: bool = False) -> dict[str, Any] | None:
    """Read the layout ``snapshot_bytes`` writes, a chunk of records at a time (never the whole file
    in one decode, nor a copy of it cut into lines: 50,000 small byte strings would outlive the read
    as fragmented memory); None if the file is not in that layout (the caller then parses it in one
    piece, which names any damage). A raw newline cannot occur inside JSON text, so every newline
    between a table's name line and its closing line ends one record. Each record is rebuilt into a
    dict of json's size: orjson makes its dicts roomier (a fifth more memory for a store held in
    memory); with that, reading a 50,000-contact store takes about a third less CPU than json alone.
    ``compact=False`` keeps orjson's dicts: ~40% less CPU again (the rebuild), ~16 MiB more at 50,000
    contacts; for a process that wants its first screen more than the last megabytes (the TUI).

    A table's end is looked for only in the chunk that holds it: a chunk of whole lines that ends
    with a comma and decodes as one object cannot hold a table's closing line (that line would close
    the object early, and the text after it would not decode), so only a chunk that fails is searched
    (a search over every table's bytes took a tenth of the read).

    ``partial``: ``raw`` is the file only up to its tail (``tail_names``): it ends with the closing
    line of the table before the tail's first (``},``), or with the head line if all are in the tail.

    Every table read is a table of records (``store_errors.check_tables``), or None is returned
    (the one-piece parse then names the fault)."""
    try:
        return _parse_snapshot_lines(raw, compact, chunk_bytes, partial)
    except _NotRecords:
        return None


def _parse_snapshot_lines(raw: bytes, compact: bool, chunk_bytes: int, partial: bool) -> dict[str, Any] | None:
    first = raw.find(b"\n")
    head = _decode(raw[:first] + b"}}") if first > 0 and raw[:first].endswith(b'"tables":{') else None
    ended = (raw.endswith(b",\n") or len(raw) == first + 1) if partial else raw.endswith(b"\n}}\n")
    if not isinstance(head, dict) or not ended:
        return None
    tables: dict[str, dict[str, Any]] = head["tables"]
    pos, stop = first + 1, len(raw) - (0 if partial else 3)  # stop: where the closing "}}" line begins
    while pos < stop:
        name_end = raw.find(b"\n", pos)
        if name_end < 0 or raw[name_end - 2:name_end] != b":{" or name_end - 2 <= pos:
            return None
        docs: dict[str, Any] = tables.setdefault(_decode(raw[pos:name_end - 2]), {})
        end = _read_records(raw, name_end + 1, stop, docs, compact, chunk_bytes)
        if end is None:
            return None
        close_end = raw.find(b"\n", end + 1)
        closing = raw[end + 1:close_end]
        if closing not in (b"}", b"},") or (closing == b"}") != (close_end == stop - 1 and not partial):
            return None
        pos = close_end + 1
    return head


class _NotRecords(ValueError):
    """A table that holds something else than records by number (``store_errors.check_tables``)."""


def _read_records(raw: bytes, start: int, stop: int, docs: dict[str, Any], compact: bool,
                  chunk_bytes: int) -> int | None:
    """Decode the record lines of one table from ``start`` into ``docs``; return where the newline
    before the table's closing line is (None: not the layout, or damaged)."""
    def put(decoded: dict[str, Any]) -> None:
        # (checked here, while the chunk is in the cache: a pass over 50,000 less; a chunk of lines holds
        # a record at least: an empty one is a line of nothing but a separator, damage json refuses)
        if not (decoded and all(map(str.isdigit, decoded)) and all(map(isinstance, decoded.values(), repeat(dict)))):
            raise _NotRecords
        docs.update({k: dict(v.items()) for k, v in decoded.items()} if compact else decoded)

    def braced(begin: int, end: int) -> bytes:
        """The records ``raw[begin:end]`` as one JSON object's text (one copy, not two)."""
        return b"".join((b"{", memoryview(raw)[begin:end], b"}"))

    lib = _orjson or _lib()
    while True:
        last = raw.find(b"\n", start + chunk_bytes, stop)  # a chunk of whole lines, the table going on
        if last > 0 and raw[last - 1] == 44:  # b","
            text = braced(start, last - 1)
            try:
                decoded = lib.loads(text)
            except lib.JSONDecodeError:  # the table ends in this chunk, or json must read it
                decoded = None if raw.find(b"\n}", start - 1, last + 2) >= 0 else _decode(text)
            if decoded is not None:
                put(decoded)
                start = last + 1
                continue
        end = raw.find(b"\n}", start - 1, stop if last < 0 else last + 2)
        if end < 0:
            return None
        while start <= end:  # what is left of the table: a chunk or two
            last = raw.find(b"\n", min(start + chunk_bytes, end))
            more = last < end
            if (raw[last - 1] == 44) != more:  # b","
                return None  # a separator missing or too many: damaged
            put(_decode(braced(start, last - 1 if more else last)))
            start = last + 1
        return end
