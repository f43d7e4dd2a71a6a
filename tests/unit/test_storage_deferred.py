"""A deferred table (``JournaledStorage(deferred_tables=...)``: the links' merge bases, which only a sync
reads) is not decoded when the store is loaded, only when first used, and is then exactly what a
storage that decoded it at once holds: with the journal's changes to it since, another process's
compaction meanwhile, and its damage named when it is read."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcsync_tui.core import snapshot_sums, store_format
from bcsync_tui.core.snapshot_read import Tail
from bcsync_tui.core.storage import JournaledStorage, StoreCorruptError
from bcsync_tui.core.tables import StoreDB
from tests.store_files import resummed

NAME = "link_details"


def storage(path: Path, deferred: bool = True) -> JournaledStorage:
    return JournaledStorage(path, compact_min_bytes=1 << 30, deferred_tables=(NAME,) if deferred else ())


def base(i: int) -> dict[str, object]:
    return {"base_master": {"email": f"p{i}@example.com", "note": "line\nbreak \"quoted\" ÆØÅ"}, "base_remote": "x"}


def write(st_: JournaledStorage, table: str, docs: dict[str, object | None]) -> None:
    """Put (or, for None, remove) documents of ``table`` in one transaction."""
    with st_.transaction():
        data = st_.table_data(table)
        for doc_id, doc in docs.items():
            if doc is None:
                data.pop(doc_id, None)
            else:
                data[doc_id] = doc
        st_.record(table, docs)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "store.json"
    w = storage(p)  # (a deferring storage writes those tables last: its snapshot's tail)
    write(w, "links", {str(i): {"item_id": f"i{i}"} for i in range(1, 1200)})
    write(w, NAME, {str(i): base(i) for i in range(1, 1200)})
    write(w, "meta", {"1": {"key": "schema"}})
    w.compact()
    return p


def test_a_deferred_table_is_read_only_when_used_and_is_then_the_same(path: Path):
    eager, lazy = storage(path, deferred=False), storage(path)
    assert NAME in eager.read() and NAME not in lazy.read()  # not decoded at load
    assert lazy.read()["links"] == eager.read()["links"]
    assert lazy.table(NAME) == eager.table(NAME) and len(lazy.table(NAME) or {}) == 1199
    assert NAME in lazy.read()


def test_the_journals_changes_to_a_deferred_table_are_kept_until_it_is_read(path: Path):
    lazy, other = storage(path), storage(path, deferred=False)
    lazy.read()
    write(other, NAME, {"5": {"base_master": None, "base_remote": None}, "6": None, "5000": base(5000)})
    write(other, "links", {"5000": {"item_id": "i5000"}})
    assert lazy.read()["links"]["5000"] == {"item_id": "i5000"}  # the journal read: the bases still not decoded
    assert NAME not in lazy.read()
    docs = lazy.table(NAME) or {}
    assert docs == other.table(NAME)
    assert docs["5"] == {"base_master": None, "base_remote": None} and "6" not in docs and "5000" in docs


def test_a_deferred_table_dropped_in_the_journal_is_gone_unread(path: Path):
    lazy, other = storage(path), storage(path, deferred=False)
    lazy.read()
    db = StoreDB(path, deferred_tables=())
    db.drop_table(NAME)
    write(other, NAME, {"1": base(1)})  # and begun again
    lazy.refresh()
    assert lazy.table(NAME) == {"1": base(1)}


def test_a_snapshot_replaced_by_another_process_before_the_table_is_read_is_loaded_again(path: Path):
    lazy, other = storage(path), storage(path)
    lazy.read()
    write(other, NAME, {"7": None})
    other.compact()  # a new snapshot file: lazy's offsets are of the old one
    lazy.materialize(NAME)  # (without the refresh a read does first: the file no longer matches)
    assert lazy.table(NAME) == other.table(NAME) and "7" not in (lazy.table(NAME) or {})


def test_writing_a_snapshot_from_a_deferring_storage_keeps_the_table(path: Path):
    lazy = storage(path)
    write(lazy, "links", {"1": {"item_id": "changed"}})
    lazy.compact()
    assert storage(path, deferred=False).table(NAME) == storage(path, deferred=False).table(NAME)
    assert len(storage(path, deferred=False).table(NAME) or {}) == 1199


def test_a_loaded_copy_and_adopt_carry_the_deferral(path: Path):
    ui = storage(path)
    ui.read()
    write(storage(path, deferred=False), NAME, {"3": None})
    copy = ui.loaded_copy()
    assert NAME not in copy.read()
    assert ui.adopt(copy)
    assert NAME not in ui.read() and "3" not in (ui.table(NAME) or {}) and "4" in (ui.table(NAME) or {})


def where(tail: Tail | None) -> Tail | None:
    """A tail's place and tables (not the sums it is to be checked against)."""
    return None if tail is None else Tail(tail.start, tail.size, tail.names)


def test_the_snapshot_puts_deferred_tables_last_and_loading_reads_only_up_to_them(path: Path):
    raw = path.read_bytes()
    assert store_format.tail_names(raw) == [NAME]
    assert raw.index(b'\n"link_details":{\n') > raw.index(b'\n"meta":{\n') > raw.index(b'\n"links":{\n')
    lazy = storage(path)
    assert lazy.read().keys() == {"links", "meta"}
    assert where(lazy._tail) == Tail(raw.index(b'"link_details":{'), len(raw), frozenset({NAME}))


def test_a_snapshot_with_a_tail_is_whole_by_the_checksum_every_bcsync_computes(path: Path):
    """The checksum covers every byte but its own eight digits, the tail's fields included, as bcsync
    always computed it: an older one reads the file whole and finds it intact. The head's two sums
    are of the bytes before the tail (its fields counted as zeros) and of the tail."""
    raw = path.read_bytes()
    at = len(snapshot_sums.CHECKSUM_HEAD)
    assert zlib.crc32(raw[:at] + b"00000000" + raw[at + 8:]) == int(raw[at:at + 8], 16)
    start = snapshot_sums.tail_start(raw)
    assert snapshot_sums.tail_sums(raw) == (snapshot_sums.head_part_crc(raw[:start]), zlib.crc32(raw[start:]))
    fields = re.search(rb'"tail_at":"(\d{12})","head_crc":"([0-9a-f]{8})","tail_crc":"([0-9a-f]{8})"', raw[:200])
    assert fields is not None and int(fields[1]) == start


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=3000), spots=st.lists(st.tuples(st.integers(0, 2999), st.binary(max_size=9)),
                                                                  max_size=4))
def test_a_patched_files_crc_follows_from_the_crc_before(data, spots):
    patches, taken = [], set()
    for at, digits in spots:
        place = set(range(at, at + len(digits)))
        if digits and at + len(digits) <= len(data) and not place & taken:
            patches.append((at, digits))
            taken |= place
    if not patches:
        return
    zeroed, patched = bytearray(data), bytearray(data)
    for at, digits in patches:
        zeroed[at:at + len(digits)] = b"0" * len(digits)
        patched[at:at + len(digits)] = digits
    assert snapshot_sums.patched_crc(zlib.crc32(zeroed), len(data), patches) == zlib.crc32(patched)


def test_the_head_says_where_the_tail_begins_and_a_wrong_offset_is_only_slower(path: Path):
    """The offset sits beside the checksum, written once the file is (the checksum counts it; the sums of
    the head part and of the tail do not). Wrong, it is not trusted (the tail's first line must be
    there): the head part is then found by searching, as in a snapshot from before the offset; read
    whole, the file is refused by its checksum like any other damage."""
    from bcsync_tui.core import snapshot_read

    raw = path.read_bytes()
    start = raw.index(b'"link_details":{')
    assert snapshot_sums.tail_start(raw) == start
    whole = storage(path, deferred=False)
    eager, details = {k: v for k, v in whole.read().items() if k != NAME}, whole.table(NAME)
    digits_at = raw.index(b'"tail_at":"') + len(b'"tail_at":"')
    for wrong in (0, 1, start - 1, start + 1, raw.index(b'"links":{'), len(raw), 10 ** 11):
        path.write_bytes(raw[:digits_at] + b"%012d" % wrong + raw[digits_at + 12:])
        loaded = snapshot_read.read_snapshot(path, frozenset({NAME}), True)
        assert where(loaded.tail) == Tail(start, len(raw), frozenset({NAME})) and loaded.tables == eager
        assert storage(path).table(NAME) == details
        with pytest.raises(StoreCorruptError, match="checksum does not match"):
            storage(path, deferred=False).read()


def test_damage_in_the_tail_is_found_by_the_checksum_when_the_tail_is_read(path: Path):
    """Loading checks the bytes it reads (the head says their sum); the tail's are checked against the
    whole file's checksum when they are read: by a storage that reads all at once, at load."""
    raw = path.read_bytes()
    at = raw.index(b'"p600@example.com"')
    path.write_bytes(raw[:at] + b"{" + raw[at + 1:])
    lazy = storage(path)
    assert lazy.read()["links"]["1"] == {"item_id": "i1"}
    with pytest.raises(StoreCorruptError, match="checksum of its last part does not match"):
        lazy.table(NAME)
    with pytest.raises(StoreCorruptError, match="checksum does not match"):
        storage(path, deferred=False).read()
    with pytest.raises(StoreCorruptError, match="checksum of its last part does not match"):
        lazy.write_backup(path.with_name("copy.json"))  # (not a copy of the damaged bytes)
    assert not path.with_name("copy.json").exists()
    journal = path.with_name(path.name + ".wal").read_bytes()
    writer = storage(path)
    writer.read()
    with pytest.raises(StoreCorruptError, match="checksum of its last part does not match"):
        write(writer, "meta", {"2": {"key": "x"}})  # nothing is written to a damaged store
    assert path.with_name(path.name + ".wal").read_bytes() == journal
    assert path.read_bytes() == raw[:at] + b"{" + raw[at + 1:]


def test_a_write_checks_the_tail_once_without_decoding_it(path: Path):
    lazy = storage(path)
    lazy.read()
    write(lazy, "meta", {"2": {"key": "x"}})
    assert NAME in lazy._deferred and lazy._tail is not None and lazy._tail.crc is None  # checked, still unread
    write(lazy, "meta", {"3": {"key": "y"}})
    assert lazy.table(NAME) == storage(path, deferred=False).table(NAME)


def test_damage_before_the_tail_is_found_at_load_by_the_head_parts_sum(path: Path):
    raw = path.read_bytes()
    at = raw.index(b'"i600"')
    path.write_bytes(raw[:at + 1] + b"j" + raw[at + 2:])
    for deferred in (True, False):
        with pytest.raises(StoreCorruptError, match="checksum does not match"):
            storage(path, deferred).read()


def test_damage_in_the_tail_behind_a_matching_checksum_is_named_when_it_is_read(path: Path):
    raw = path.read_bytes()
    at = raw.index(b'"p600@example.com"')
    path.write_bytes(resummed(raw[:at] + b"{" + raw[at + 1:]))
    lazy = storage(path)
    assert lazy.read()["links"]["1"] == {"item_id": "i1"}
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError, match="damaged records"):
        lazy.table(NAME)
    assert path.read_bytes() == before
    with pytest.raises(StoreCorruptError, match="not valid JSON"):  # read whole, the parser names the fault
        storage(path, deferred=False).read()


def test_a_head_part_not_in_the_layout_is_read_whole(path: Path):
    """Damage before the tail (behind a matching checksum): the whole file goes to the one-piece parser."""
    raw = path.read_bytes()
    at = raw.index(b'"i600"')
    path.write_bytes(resummed(raw[:at] + b"[" + raw[at + 1:]))
    with pytest.raises(StoreCorruptError, match="not valid JSON"):
        storage(path).read()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "remove", "drop", "compact", "read", "use"]),
                          st.integers(1, 1300)), max_size=12))
def test_any_history_reads_the_same_as_decoding_at_once(tmp_path_factory, steps):
    """Another process changes the store (journal lines, compactions, a drop) while this one reads,
    decoding the table at some point or never: what it reads is what a storage decoding all holds."""
    path = tmp_path_factory.mktemp("deferred") / "store.json"
    w = storage(path)
    write(w, NAME, {str(i): base(i) for i in range(1, 40)})
    w.compact()
    lazy = storage(path)
    lazy.read()
    for what, i in steps:
        if what == "put":
            write(w, NAME, {str(i): base(i)})
        elif what == "remove":
            write(w, NAME, {str(i): None, str(i + 1): None})
        elif what == "drop":
            StoreDB(path, deferred_tables=()).drop_table(NAME)
        elif what == "compact":
            w.compact()
        elif what == "read":
            lazy.refresh()
        else:
            lazy.table(NAME)
    assert (lazy.table(NAME) or {}) == (storage(path, deferred=False).table(NAME) or {})


@given(st.lists(st.sampled_from(["a", "b", NAME, "z"]), unique=True), st.integers(1, 3000))
@settings(max_examples=60, deadline=None)
def test_the_head_part_of_any_snapshot_reads_as_its_tables_but_the_tail(names, chunk_bytes):
    tables = {n: {str(i): {"n": n, "i": i, "s": "x\n\"}" * (i % 3)} for i in range(1, 1 + len(n) * 7)} for n in names}
    raw = store_format.snapshot_bytes(3, tables, last=[NAME])
    assert store_format.parse_snapshot_lines(raw, chunk_bytes=chunk_bytes)["tables"] == tables
    if NAME not in tables:
        assert store_format.tail_names(raw) == []
        return
    assert store_format.tail_names(raw) == [NAME]
    at = raw.index(store_format.tail_marker(NAME)) + 1
    head = store_format.parse_snapshot_lines(raw[:at], chunk_bytes=chunk_bytes, partial=True)
    assert head is not None and head["tables"] == {n: t for n, t in tables.items() if n != NAME}
    assert store_format.parse_snapshot_lines(b'{"tables":{\n' + raw[at:])["tables"] == {NAME: tables[NAME]}
    assert store_format.parse_snapshot_lines(raw[:at - 2], partial=True) is None  # cut inside a line


def test_tinydbs_drop_table_and_drop_tables_reach_the_disk(path: Path):
    """(TinyDB's own drop_table edits the dict read() returned, then writes it: the drop was never seen.)"""
    db = StoreDB(path, deferred_tables=(NAME,))
    assert db.tables() == {"links", NAME, "meta"}
    db.drop_table("links")
    assert storage(path, deferred=False).read().keys() == {NAME, "meta"}
    db.drop_tables()
    assert storage(path, deferred=False).read() == {} and db.tables() == set()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(block=st.integers(1, 70_000))  # (the file is only read: one for every example is right)
def test_the_tail_is_found_whatever_blocks_the_file_is_read_in(path, block):
    """The head part is read a block at a time until the tail's first line: the line may straddle two."""
    from bcsync_tui.core import snapshot_read

    saved = snapshot_read._READ_BLOCK
    snapshot_read._READ_BLOCK = block
    try:
        loaded = snapshot_read.read_snapshot(path, frozenset({NAME}), True)
    finally:
        snapshot_read._READ_BLOCK = saved
    raw = path.read_bytes()
    assert where(loaded.tail) == Tail(raw.index(b'"link_details":{'), len(raw), frozenset({NAME}))
    eager = storage(path, deferred=False).read()
    assert loaded.tables == {k: v for k, v in eager.items() if k != NAME}
