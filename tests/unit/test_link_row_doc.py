"""A link's stored form is written field by field (asdict() cost a fifth of a first sync's CPU):
it must stay exactly asdict()'s, every field included. The bases (flat str -> str projections) go in
as they are: a base is replaced, never changed in place, so the row, the plan and the stored
document share one dict (a first sync of 50,000 keeps 100,000 fewer dicts)."""

from __future__ import annotations

from dataclasses import asdict, fields

from hypothesis import given
from hypothesis import strategies as st

from bcsync_tui.core.records import LinkRow

PROJECTION = st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=5)
ROWS = st.builds(LinkRow, profile=st.text(), contact_uuid=st.text(), item_id=st.text(), change_key=st.text(),
                 base_master=PROJECTION, base_remote=PROJECTION, synced_revision=st.none() | st.integers(),
                 pinned=st.booleans(), error=st.none() | st.text(), needs_stamp=st.booleans())


@given(ROWS)
def test_link_doc_is_asdicts_with_the_bases_shared(row):
    doc = row.to_doc()
    assert doc == asdict(row) and list(doc) == [f.name for f in fields(LinkRow)]
    assert doc["base_master"] is row.base_master and doc["base_remote"] is row.base_remote
    assert LinkRow.from_doc(row.to_doc()) == row
