"""The snapshot's one-record-per-line layout (read and written in chunks, so a big store never holds
the GIL for long) and catching a reader up with a copy loaded in another thread."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bcsync_tui.core import store_format
from bcsync_tui.core.storage import JournaledStorage, StoreCorruptError
from bcsync_tui.core.store_format import FORMAT
from bcsync_tui.core.store import Store

TABLES = {
    "contacts": {str(i): {"uuid": f"u{i}", "name": f"Person {i}", "note": "line\nbreak \"quoted\" ÆØÅ",
                          "deleted": i % 7 == 0} for i in range(1, 2600)},
    "links": {},
    "meta": {"1": {"kind": "schema", "version": 1}},
}


def snapshot(tables=TABLES, seq: int = 42) -> bytes:
    return store_format.snapshot_bytes(seq, tables)


def test_the_snapshot_is_one_json_document_with_one_record_per_line():
    raw = snapshot()
    doc = json.loads(raw)
    assert doc.pop("checksum").startswith("crc32:") and doc == {"format": FORMAT, "seq": 42, "tables": TABLES}
    lines = raw.split(b"\n")
    assert re.fullmatch(rb'\{"format":"bcsync-store","checksum":"crc32:[0-9a-f]{8}","seq":42,"tables":\{', lines[0])
    assert sum(1 for line in lines if line.startswith(b'"') and b'"uuid"' in line) == len(TABLES["contacts"])
    assert store_format.parse_snapshot_lines(raw) == json.loads(raw)  # > one chunk of records


def test_records_read_without_compacting_are_the_same_data(tmp_path: Path):
    raw = snapshot()
    assert store_format.parse_snapshot_lines(raw, compact=False) == json.loads(raw)
    path = tmp_path / "store.json"
    _fill(Store(path), 30)
    quick, lean = Store(path, compact_records=False), Store(path)
    assert not quick.storage.compact_records and lean.storage.compact_records
    assert quick.all_contacts(True) == lean.all_contacts(True)
    lean.add_contact({"first_name": "Later", "surname": "Write"})
    lean.storage.compact()
    copy = quick.storage.loaded_copy()  # a reload in a thread keeps the choice
    assert not copy.compact_records and quick.storage.adopt(copy)
    assert quick.all_contacts(True) == lean.all_contacts(True)


@pytest.mark.parametrize("tables", [{}, {"empty": {}}, {"a": {}, "b": {"1": {}}}, {"a": {"1": {"x": [1, {"y": None}]}}}])
def test_edge_shapes_round_trip(tables):
    raw = snapshot(tables)
    assert json.loads(raw)["tables"] == tables
    assert store_format.parse_snapshot_lines(raw) == json.loads(raw)


def test_a_record_with_a_key_that_is_not_text_is_written_with_it_as_text():
    raw = snapshot({"a": {"1": {"x": 1}, "2": {7: "seven", "n": {8: [1]}}}})
    assert json.loads(raw)["tables"] == {"a": {"1": {"x": 1}, "2": {"7": "seven", "n": {"8": [1]}}}}


def test_a_store_written_in_the_one_line_layout_still_loads(tmp_path):
    path = tmp_path / "store.json"
    path.write_bytes(json.dumps({"format": FORMAT, "seq": 3, "tables": TABLES}, separators=(",", ":")).encode())
    s = JournaledStorage(path)
    assert s.read() == TABLES
    s.compact()  # the next compaction writes the new layout, with its checksum
    assert path.read_bytes() == snapshot(TABLES, 3)
    assert JournaledStorage(path).read() == TABLES


def legacy(raw: bytes) -> bytes:
    """A snapshot as bcsync wrote it before the checksum (same layout, no ``checksum`` key)."""
    return re.sub(rb'"checksum":"crc32:[0-9a-f]{8}",', b"", raw, count=1)


def test_a_snapshot_from_before_the_checksum_still_loads(tmp_path):
    path = tmp_path / "store.json"
    path.write_bytes(legacy(snapshot(TABLES, 5)))
    assert JournaledStorage(path).read() == TABLES


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 10_000), length=st.integers(0, 40), insert=st.binary(max_size=6))
def test_a_damaged_snapshot_reads_exactly_as_one_json_document_would(tmp_path_factory, cut, length, insert):
    """Whatever the damage, the chunked reader agrees with a one-piece json.loads: the same data,
    or StoreCorruptError; never a different, silently accepted store."""
    small = {"contacts": dict(list(TABLES["contacts"].items())[:40]), "meta": TABLES["meta"]}
    raw = legacy(snapshot(small))  # unchecked, so that the parsers meet the damage
    cut %= len(raw)
    damaged = raw[:cut] + insert + raw[cut + length:]
    path = tmp_path_factory.mktemp("damage") / "store.json"
    path.write_bytes(damaged)
    try:
        expected = json.loads(damaged)
        ok = (isinstance(expected, dict) and expected.get("format") == FORMAT and type(expected.get("seq", 0)) is int
              and isinstance(expected.get("tables"), dict) and expected.keys() <= {"format", "seq", "tables"}
              and all(isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) and all(
                  k.isdigit() for k in t) for t in expected["tables"].values()))
    except (ValueError, UnicodeDecodeError):
        ok = False
    if ok:
        assert JournaledStorage(path).read() == expected["tables"]
    else:
        with pytest.raises(StoreCorruptError):
            JournaledStorage(path).read()
    assert path.read_bytes() == damaged  # never rewritten


SEVERAL = {"contacts": dict(list(TABLES["contacts"].items())[:60]), "empty": {},
           "links": {str(i): {"item_id": f"AAMk{i}=", "uuid": f"u{i}"} for i in range(1, 31)}, "meta": TABLES["meta"]}


@settings(max_examples=60, deadline=None)
@given(chunk=st.integers(1, 3000))
def test_any_chunk_size_reads_every_table_whole(chunk):
    raw = snapshot(SEVERAL)
    assert store_format.parse_snapshot_lines(raw, True, chunk) == json.loads(raw)
    assert store_format.parse_snapshot_lines(raw, False, chunk) == json.loads(raw)
    # a record orjson refuses (a lone surrogate escape, as json wrote them) is read by json
    odd = legacy(raw).replace(b'"Person 7"', b'"Person \\ud800"').replace(b'"u3"', b'"\\udfff"')
    assert store_format.parse_snapshot_lines(odd, True, chunk) == json.loads(odd)


@settings(max_examples=300, deadline=None)
@example(cut=8358, length=0, chunk=1, insert=b",\n")  # (a line of a separator alone: was taken for no records)
@given(cut=st.integers(0, 20_000), length=st.integers(0, 40), chunk=st.integers(1, 3000),
       insert=st.binary(max_size=6) | st.sampled_from([b"\n}", b"},\n", b"\n},\n", b",\n", b"\n", b"\n}\n"]))
def test_the_chunked_reader_never_accepts_what_json_reads_differently(cut, length, chunk, insert):
    """Chunks end wherever the size falls (a table's end inside one, or between two): whatever the
    damage, what the reader returns is what one json.loads of the file returns."""
    raw = legacy(snapshot(SEVERAL))
    cut %= len(raw)
    damaged = raw[:cut] + insert + raw[cut + length:]
    try:
        parsed = store_format.parse_snapshot_lines(damaged, True, chunk)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None  # the caller then reads it in one piece, which names the damage
    if parsed is not None:
        assert parsed == json.loads(damaged)


def _fill(store: Store, n: int, start: int = 0) -> None:
    store.add_contacts([{"first_name": f"F{i}", "surname": "Reader", "email": f"r{i}@example.com"}
                        for i in range(start, start + n)])


def test_a_reader_catches_up_with_a_copy_loaded_elsewhere(tmp_path: Path):
    path = tmp_path / "store.json"
    ui, writer = Store(path), Store(path)
    _fill(writer, 50)
    assert len(ui.contacts_raw()) == 50 and not ui.storage.reload_needed()
    _fill(writer, 5, 50)
    assert not ui.storage.reload_needed()  # only a journal tail to read: cheap, done in place
    writer.storage.compact()
    assert ui.storage.reload_needed()  # the snapshot changed under it
    copy = ui.storage.loaded_copy()  # what the TUI does in a thread
    generation = ui.storage.generation
    assert ui.storage.adopt(copy)
    assert ui.storage.generation > generation and not ui.storage.reload_needed()
    assert sorted(c["uuid"] for c in ui.contacts_raw()) == sorted(c["uuid"] for c in writer.contacts_raw())
    ui.add_contact({"first_name": "After", "surname": "Adopt"})  # and it writes on from there
    assert Store(path).find_contact(ui.contacts_raw()[-1]["no"])["surname"] == "Adopt"
    writer.close()
    ui.close()


def test_an_older_copy_is_refused(tmp_path: Path):
    path = tmp_path / "store.json"
    ui = Store(path)
    _fill(ui, 3)
    stale = ui.storage.loaded_copy()
    ui.add_contact({"first_name": "Newer", "surname": "Edit"})  # made after the copy was loaded
    assert not ui.storage.adopt(stale)
    assert any(c["first_name"] == "Newer" for c in ui.contacts_raw())
    ui.close()


def test_a_snapshot_written_in_pieces_is_the_snapshot_byte_for_byte(tmp_path):
    """Compaction streams the snapshot to disk a few hundred records at a time (never the whole file
    in memory); the file is exactly ``snapshot_bytes`` of the same data, checksum included."""
    from bcsync_tui.core.snapshot_sums import head_crc, stored_checksum
    from bcsync_tui.core.store_format import CHUNK_RECORDS, snapshot_bytes

    s = Store(tmp_path / "store.json")
    s.add_contacts([{"first_name": f"Zoë{i}", "surname": "Ström", "email": f"z{i}@example.com"}
                    for i in range(2 * CHUNK_RECORDS + 7)])
    s.add_contact({"first_name": "One", "surname": "More", "email": "one@example.com"})
    s.storage.compact()
    raw = (tmp_path / "store.json").read_bytes()
    assert raw == snapshot_bytes(s.storage._seq, s.storage.read())
    assert head_crc(raw) == stored_checksum(raw)
    assert len(Store(tmp_path / "store.json").contacts_raw()) == 2 * CHUNK_RECORDS + 8


def test_files_written_by_json_still_read(tmp_path):
    """The store is read and written with orjson now. What json wrote before (what orjson refuses,
    like a lone surrogate escape, or spells differently, like 1e-07) still loads, value for value."""
    path = tmp_path / "store.json"
    s = Store(path)
    s.add_contact({"first_name": "Ann", "surname": "Lee", "email": "ann@example.com"})
    s.close()
    payload = {"seq": 99, "ops": [["meta", "77", {"key": "old", "note": "\ud800x", "tiny": 1e-07, "big": 1e16}]]}
    body = json.dumps(payload, separators=(",", ":")).encode()  # as json wrote it (ensure_ascii)
    assert b"\\ud800" in body and b"1e-07" in body
    wal = path.with_name(path.name + ".wal")
    with open(wal, "ab") as f:
        f.write(body + b" %08x\n" % store_format.zlib.crc32(body))
    again = Store(path)
    doc = again.meta.raw()["77"]
    assert doc == {"key": "old", "note": "\ud800x", "tiny": 1e-07, "big": 1e16}
    assert again.find_contact("CT000001")["surname"] == "Lee"


@pytest.mark.parametrize("bad, fault", [(b'"x1":{"a":1}', "record key is not a number"),
                                        (b'"2":5', "not a record"), (b'"2":["a"]', "not a record")])
@pytest.mark.parametrize("where", ["head", "tail"])
def test_a_table_of_other_things_than_records_is_refused_whatever_its_checksum_says(tmp_path, bad, fault, where):
    """The chunked reader checks each chunk's records as it decodes them (no second pass over the
    store): anything else in a table, behind a checksum that matches (an edit that rewrote it), is
    named, at load for the head part and when the tail is first read for the tail."""
    from bcsync_tui.core.storage import JournaledStorage, StoreCorruptError
    from tests.store_files import resummed

    table = "contacts" if where == "head" else "links"
    tables = {"contacts": {"1": {"n": 1}, "2": {"n": 2}, "3": {"n": 3}}, "links": {"1": {"l": 1}, "2": {"l": 2}, "3": {"l": 3}}}
    raw = store_format.snapshot_bytes(5, tables, last=["links"])
    at = raw.index(b'\n"%s":{\n' % table.encode())
    line = raw.index(b'"2":', at)
    raw = raw[:line] + bad + raw[raw.index(b",\n", line):]
    assert store_format.parse_snapshot_lines(raw) is None
    path = tmp_path / "store.json"
    path.write_bytes(resummed(raw))
    lazy = JournaledStorage(path, deferred_tables=("links",))
    if where == "head":
        with pytest.raises(StoreCorruptError, match=fault):
            lazy.read()
    else:
        assert lazy.read()["contacts"] == tables["contacts"]
        with pytest.raises(StoreCorruptError, match="damaged records"):
            lazy.table("links")
    with pytest.raises(StoreCorruptError, match=fault):
        JournaledStorage(path).read()  # read whole: the one-piece parse names it
