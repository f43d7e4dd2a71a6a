"""A link's stored form is written field by field (asdict() cost a fifth of a first sync's CPU):
its two documents (the link, and its item id and bases in ``link_details``) must together stay
exactly asdict()'s, every field included (a settled link leaves pinned, error and needs_stamp out,
at their defaults). The bases (flat str -> str projections) go in as they are, or, when they hold
exactly the synced fields (as a sync's do), packed with their values shared: a base is replaced,
never changed in place, so the row, the plan and the stored document share its values."""

from __future__ import annotations

from dataclasses import asdict, fields, replace

from hypothesis import given
from hypothesis import strategies as st

import sys

import orjson

from bcsync_tui.core.model import SYNCED_KEYS
from bcsync_tui.core.records import DETAIL_KEYS, NO_DETAILS, SAME_BASE, LinkRow
from bcsync_tui.core.store import Store
from bcsync_tui.core.sync.merge import project

PROJECTION = st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=5)
ROWS = st.builds(LinkRow, profile=st.text(), contact_uuid=st.text(), item_id=st.text(), change_key=st.text(),
                 base_master=PROJECTION, base_remote=PROJECTION, synced_revision=st.none() | st.integers(),
                 pinned=st.booleans(), error=st.none() | st.text(), needs_stamp=st.booleans())


@given(ROWS, st.booleans())
def test_link_doc_is_asdicts_with_the_bases_shared(row, agree):
    if agree and row.base_master is not None:  # both sides hold the same: one dict, or two equal ones
        row.base_remote = row.base_master if len(row.base_master) % 2 else dict(row.base_master)
    doc, details = row.to_doc(), row.details_doc()
    same = row.base_remote is not None and row.base_remote == row.base_master
    settled = not row.pinned and row.error is None and not row.needs_stamp
    defaults = {"pinned": False, "error": None, "needs_stamp": False} if settled else {}
    assert {**doc, **defaults, **details} == {**asdict(row), **({"base_remote": SAME_BASE} if same else {})}
    assert list(details) == list(DETAIL_KEYS) and not doc.keys() & details.keys()
    assert list(doc) == [f.name for f in fields(LinkRow) if f.name not in details and f.name not in defaults]
    assert details["base_master"] is row.base_master and (same or details["base_remote"] is row.base_remote)  # (not packed)
    back = LinkRow.from_doc(doc, details)
    assert back == row
    assert not same or back.base_remote is back.base_master  # read back: one dict for both
    shown = LinkRow.from_doc(doc, NO_DETAILS)  # for badges: the link without its item id and bases
    assert shown == replace(row, item_id="", change_key="", base_master=None, base_remote=None)


def test_a_link_document_from_before_schema_3_or_damaged_reads_safely():
    base = {"email": "a@example.com"}
    row = LinkRow("p", "u", "i", "ck", base, dict(base))
    old = row.to_doc() | {"item_id": "i", "change_key": "ck", "base_master": base, "base_remote": dict(base)}  # schema 1
    assert LinkRow.from_doc(old) == row
    assert LinkRow.from_doc(old | {"base_remote": SAME_BASE}) == row  # schema 2
    damaged = LinkRow.from_doc(old | {"base_remote": "garbage"})
    assert damaged.base_remote is None  # no base: the next run merges it afresh
    assert LinkRow.from_doc(old | {"base_master": 7}).base_master is None
    assert LinkRow.from_doc(old | {"change_key": 7}).change_key == ""
    details = row.details_doc()
    assert LinkRow.from_doc(row.to_doc(), details | {"base_master": [1]}).base_master is None
    # A link's own details document wins over details an older one left in the link
    assert LinkRow.from_doc(old, details | {"item_id": "new", "base_master": None}) == replace(
        row, item_id="new", base_master=None, base_remote=None)


SYNCED_PROJECTION = st.fixed_dictionaries({k: st.text() for k in SYNCED_KEYS})


@given(SYNCED_PROJECTION, SYNCED_PROJECTION, st.booleans())
def test_a_projection_of_the_synced_fields_is_held_packed_and_written_as_its_dict(master, remote, agree):
    """A base of exactly the synced fields (every base a sync makes) is held in the store's memory
    packed: smaller than its dict, its values shared, and written to the file as that dict would be."""
    row = LinkRow("p", "u", "i", "ck", master, master if agree else remote, 3)
    details = row.details_doc()
    packed = details["base_master"]
    assert packed.__class__ is not dict and sys.getsizeof(packed) < sys.getsizeof(master) / 2
    assert all(getattr(packed, k) is master[k] for k in SYNCED_KEYS)  # shared, not copied
    as_dicts = {**details, "base_master": master, "base_remote": SAME_BASE if agree or remote == master else remote}
    assert orjson.loads(orjson.dumps(details)) == as_dicts
    projected = project({k: master[k] for k in reversed(SYNCED_KEYS)})  # as a sync makes one: the same bytes
    assert orjson.dumps(LinkRow("p", "u", "i", "ck", projected, None).details_doc()) == orjson.dumps(
        {"item_id": "i", "change_key": "ck", "base_master": projected, "base_remote": None})
    back = LinkRow.from_doc(row.to_doc(), details)
    assert back == row and back.base_master.__class__ is dict and back.base_remote.__class__ is dict
    assert not agree or back.base_remote is back.base_master


def test_a_linked_store_reads_its_packed_bases_back_alike_in_memory_and_from_disk(tmp_path):
    path = tmp_path / "store.json"
    store = Store(path)
    base = {k: f"{k} ÿ€😀" for k in SYNCED_KEYS}
    other = {**base, "city": "Bergen"}
    rows = [LinkRow("p", "u1", "i1", "ck1", base, base, 1), LinkRow("p", "u2", "i2", "ck2", base, other, 2),
            LinkRow("p", "u3", "i3", "ck3", {"email": "old@example.com"}, None)]  # not every field: a dict
    with store.transaction():
        ids = [store.save_link(r) for r in rows]
    assert [store.link_at(i) for i in ids] == rows  # this process: packed in memory
    store.storage.compact()
    store.close()
    again = Store(path)  # another process: the file's dicts
    assert [again.link_at(i) for i in ids] == rows
    again.close()
