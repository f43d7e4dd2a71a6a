"""The store's two on-disk formats: journal lines and the snapshot (see storage.py).

* a journal line is ``<json> <crc32 hex>\\n``, one transaction;
* the snapshot is one JSON document laid out one record per line, so that both writing and reading
  go a chunk of records at a time: one C call over 50,000 records would hold the GIL for ~0.3 s and
  freeze the TUI's input while another thread works (or while it reloads).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

FORMAT = "bcsync-store"


def encode_line(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return body + b" %08x\n" % zlib.crc32(body)


def decode_line(line: bytes) -> dict[str, Any] | None:
    body, _, crc = line.rpartition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        return json.loads(body)
    except ValueError:
        return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def snapshot_bytes(seq: int, tables: dict[str, dict[str, Any]]) -> bytes:
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
    parts = [f'{{"format":{_dumps(FORMAT)},"seq":{seq},"tables":{{\n']
    for n, (name, docs) in enumerate(tables.items()):
        parts.append(_dumps(name) + ":{\n")
        if docs:
            parts.append(",\n".join(_dumps(doc_id) + ":" + _dumps(doc) for doc_id, doc in docs.items()))
            parts.append("\n")
        parts.append("},\n" if n < len(tables) - 1 else "}\n")
    parts.append("}}\n")
    return "".join(parts).encode()


#: records parsed per json.loads call when reading a snapshot (~0.3 MB, a few ms)
_PARSE_CHUNK = 1000


def parse_snapshot_lines(raw: bytes) -> dict[str, Any] | None:
    """Read the layout ``snapshot_bytes`` writes, a chunk of records at a time; None if the file
    is not in that layout (the caller then parses it in one piece, which names any damage)."""
    lines = raw.decode().split("\n")
    head = json.loads(lines[0] + "}}") if lines[0].endswith('"tables":{') else None
    if not isinstance(head, dict) or lines[-1] != "" or lines[-2] != "}}":
        return None
    tables: dict[str, dict[str, Any]] = head["tables"]
    body = lines[1:-2]
    i = 0
    while i < len(body):
        name_line = body[i]
        if not name_line.endswith(":{"):
            return None
        docs: dict[str, Any] = tables.setdefault(json.loads(name_line[:-2]), {})
        i += 1
        start = i
        while i < len(body) and not body[i].startswith("}"):
            i += 1
        if i == len(body) or body[i] not in ("}", "},") or (body[i] == "}") != (i == len(body) - 1):
            return None
        for at in range(start, i, _PARSE_CHUNK):
            last = min(at + _PARSE_CHUNK, i)
            if body[last - 1].endswith(",") != (last < i):
                return None  # a separator missing or too many: damaged
            joined = "\n".join(body[at:last])  # the newlines, so one inside a string stays an error
            docs.update(json.loads("{" + (joined[:-1] if last < i else joined) + "}"))
        i += 1
    return head
