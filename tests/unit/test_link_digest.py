"""The links table's digest (``core/link_digest.py``): a snapshot holds it before its tail, the TUI's
badges and a run's first look (``links_by_contact``, ``link_summary``) read it instead of the table,
and with the journal's changes since it reads exactly as the table would. A digest that is stale or
not one bcsync made is never trusted: the table is read then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcsync_tui.core import link_digest, snapshot_sums, store_format
from bcsync_tui.core.link_digest import DigestLinks
from bcsync_tui.core.records import LinkIndex, LinkRow
from bcsync_tui.core.storage import DIGEST_PREFIX, JournaledStorage
from bcsync_tui.core.store import Store
from tests.store_files import resummed

PROFILES = ["p", "q"]


def settled(profile: str, uuid: str, rev: int | None) -> dict[str, Any]:
    return {"profile": profile, "contact_uuid": uuid, "synced_revision": rev}


@st.composite
def link_docs(draw: Any, start: int = 1) -> dict[str, dict[str, Any]]:
    """A links table: settled links mostly, some pinned, in error, unstamped, unmerged or with a key
    a newer bcsync wrote; document ids with gaps; a contact linked in both profiles at times."""
    ids = draw(st.lists(st.integers(start, start + 300), unique=True, max_size=60))
    docs = {}
    for doc_id in ids:
        profile = draw(st.sampled_from(PROFILES))
        doc = settled(profile, f"u{doc_id}" if draw(st.booleans()) else f"u{doc_id}-{profile}",
                      draw(st.sampled_from([1, 2, 300, None])))
        kind = draw(st.sampled_from(["settled"] * 5 + ["pinned", "error", "stamp", "future", "odd"]))
        if kind in ("pinned", "error", "stamp"):
            doc.update(pinned=kind == "pinned", error="boom" if kind == "error" else None, needs_stamp=kind == "stamp")
        elif kind == "future":
            doc["future"] = [1]
        elif kind == "odd":
            doc["synced_revision"] = "7"  # not the type a settled link's is: kept whole
        docs[str(doc_id)] = doc
    return docs


def from_table(docs: dict[str, dict[str, Any]], profile: str) -> tuple[dict[str, Any], tuple[int, bool, list[str]]]:
    """What ``Store.links_by_contact`` and ``Store.link_summary`` make of the table itself."""
    mine = [d for d in docs.values() if d.get("profile") == profile]
    unsettled = any(d.get("error") or d.get("needs_stamp") or d.get("synced_revision") is None for d in mine)
    return {d["contact_uuid"]: d for d in mine}, (len(mine), unsettled, sorted(d["contact_uuid"] for d in mine
                                                                               if d.get("pinned")))


@given(docs=link_docs(), changes=link_docs(start=200), removed=st.sets(st.integers(1, 300), max_size=20),
       part=st.integers(1, 7))
@settings(max_examples=150, deadline=None)
def test_a_digest_and_the_journal_since_read_as_the_table(docs, changes, removed, part):
    saved, link_digest.PART_LINKS = link_digest.PART_LINKS, part
    try:
        parts = orjson.loads(orjson.dumps(link_digest.link_digest(docs)))  # as the file holds it
    finally:
        link_digest.PART_LINKS = saved
    ops: dict[str, Any] = {**{str(i): None for i in removed}, **changes}
    table = {k: v for k, v in {**docs, **ops}.items() if v is not None}
    for profile in PROFILES:
        digest = DigestLinks(parts, ops, profile)
        expected, (count, unsettled, pinned) = from_table(table, profile)
        assert dict(digest) == expected and len(digest) == len(expected)
        assert (digest.count, digest.unsettled, sorted(digest.pinned)) == (count, unsettled, pinned)
        assert all(u in digest for u in expected) and "nobody" not in digest
        assert digest.get("nobody") is None and digest.get("nobody", 5) == 5
        index = LinkIndex(digest, digest.is_pinned)
        assert [index.pinned(u) for u in expected] == [bool(d.get("pinned")) for d in expected.values()]
        assert not index.pinned("nobody")


def test_settled_links_are_in_columns_and_their_ids_in_runs():
    docs = {str(i): settled("p", f"u{i}", 1) for i in (1, 2, 3, 7, 8)}
    docs["9"] = {**settled("p", "u9", 1), "pinned": True, "error": None, "needs_stamp": False}
    assert link_digest.link_digest(docs) == [
        {"profile": "p", "ids": [[1, 3], [7, 2]], "uuids": ["u1", "u2", "u3", "u7", "u8"], "revs": [1] * 5},
        {"docs": {"9": docs["9"]}}]


@pytest.mark.parametrize("parts", [
    [{"profile": "p", "ids": [[1, 2]], "uuids": ["a"], "revs": [1]}],  # the columns differ in length
    [{"profile": "p", "ids": [[1, 1]], "uuids": [["a"]], "revs": [1]}],  # a uuid that is not hashable
    [{"profile": "p", "uuids": ["a"], "revs": [1]}],
    [["not", "a", "part"]],
    [{"docs": ["x"]}],
])
def test_a_digest_that_bcsync_did_not_make_is_refused(parts):
    with pytest.raises(ValueError):
        DigestLinks(parts, {"5": None}, "p")


# --- in the store ------------------------------------------------------------------------------


@pytest.fixture
def synced(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A store with three contacts linked for "p", one of them pinned, and a snapshot written."""
    path = tmp_path / "store.json"
    with Store(path) as s:
        people = [s.add_contact({"first_name": f"F{i}", "surname": "S", "email": f"p{i}@example.com"}) for i in range(3)]
        for i, c in enumerate(people):
            s.save_link(LinkRow("p", c["uuid"], f"item-{i}", f"ck{i}", None, None, 1, pinned=i == 2))
        s.storage.compact()
    return path, people


def index_rows(s: Store, profile: str = "p") -> dict[str, LinkRow]:
    index = s.links_by_contact(profile)
    return {u: index[u] for u in index}


def test_the_store_reads_the_digest_and_leaves_both_link_tables_unread(synced):
    path, people = synced
    raw = path.read_bytes()
    assert raw.index(b'\n"' + DIGEST_PREFIX.encode() + b'links":{\n') < snapshot_sums.tail_start(raw)
    with Store(path) as s:
        rows, summary = index_rows(s), s.link_summary("p")
        assert {"links", "link_details"} <= s.storage._deferred and DIGEST_PREFIX + "links" not in s.storage.read()
        assert summary.count == 3 and summary.pinned_uuids == [people[2]["uuid"]] and not summary.unsettled
        s.storage.materialize("links")
        assert index_rows(s) == rows and s.link_summary("p") == summary  # the table itself: the same
        assert s.storage.digest("links") is None


def test_links_changed_in_the_journal_since_the_snapshot_show_as_changed(synced):
    path, people = synced
    with Store(path) as ui, Store(path) as sync:
        assert len(index_rows(ui)) == 3
        sync.remove_links([min(sync.links_of("p"))])
        sync.save_link(LinkRow("p", people[0]["uuid"], "item-new", "ck", None, None, None, error="boom"))
        rows = index_rows(ui)  # the journal read; the tables still not
        assert {"links", "link_details"} <= ui.storage._deferred
        assert rows[people[0]["uuid"]].error == "boom" and len(rows) == 3 and ui.link_summary("p").unsettled
        assert rows == index_rows(sync)


@pytest.mark.parametrize("made_at", [-1, 0])
def test_a_digest_left_by_a_writer_that_did_not_know_it_is_stale_and_ignored(synced, made_at):
    """A bcsync from before digests keeps a ``digest:`` table as data and writes it back as it was,
    however the links change since: it holds the seq of the snapshot it was made for, so it is not
    trusted in another. (``made_at`` 0: the same digest in its own snapshot is.)"""
    path, people = synced
    with Store(path) as s:
        s.remove_links(list(s.links_of("p")))
        s.storage.materialize_all()
        tables, seq = dict(s.storage.read()), s.storage._seq
    made = link_digest.link_digest({str(i): settled("p", c["uuid"], 1) for i, c in enumerate(people, 1)})
    tables[DIGEST_PREFIX + "links"] = {"1": {"seq": seq + made_at, "part": made[0]}}
    path.write_bytes(store_format.snapshot_bytes(seq, tables, last=["link_details", "links"]))
    path.with_name(path.name + ".wal").write_bytes(b"")
    with Store(path) as s:
        if made_at:
            assert s.storage.digest("links") is None and index_rows(s) == {} and s.link_summary("p").count == 0
        else:
            assert len(index_rows(s)) == 3


def test_a_digest_bcsync_did_not_make_is_passed_over_for_the_table(synced):
    path, people = synced
    raw = path.read_bytes()
    marker = b'"uuids":['
    at = raw.index(marker) + len(marker)
    bad = raw[:at] + b'["x"],' + raw[at:]  # a list where a uuid goes: no digest link_digest writes
    path.write_bytes(resummed(bad))
    with Store(path) as s:
        assert s.storage.digest("links") is not None  # (the storage holds it; the store does not believe it)
        assert set(index_rows(s)) == {c["uuid"] for c in people} and s.link_summary("p").count == 3
