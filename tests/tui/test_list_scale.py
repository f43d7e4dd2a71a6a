"""What keeps the list quick at 50,000 contacts must show the same thing as the plain way: the
order by No., the badges from a lazily built link index, a cursor move that redraws two rows."""

from __future__ import annotations

import random
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment

from bcsync_tui.core.filters import ContactFilter
from bcsync_tui.core.records import NO_DETAILS, LinkIndex, LinkRow
from bcsync_tui.core.store import Store
from bcsync_tui.core.sync.eligibility import kept_outside_filter
from bcsync_tui.tui.badges import count_kept
from bcsync_tui.tui.contact_view import _MARKS, FOLD_TABLE, SEARCH_KEYS, ContactView, _text, fold, search_texts
from bcsync_tui.tui.widgets.contact_list import ContactList

from .conftest import make_app


def plain_order(contacts):
    return sorted(contacts, key=lambda c: (len(_text(c, "no")), _text(c, "no")))


NUMBERS = st.one_of(st.text("CT0123456789", max_size=9), st.integers(0, 999), st.none())


@given(st.lists(NUMBERS, max_size=40), st.booleans())
def test_the_order_by_number_is_the_plain_one(numbers, drop_some):
    contacts = [({} if drop_some and i % 5 == 0 else {"no": n}) | {"i": i} for i, n in enumerate(numbers)]
    assert [c["i"] for c in ContactView(contacts).sorted_by("no")] == [c["i"] for c in plain_order(contacts)]


def test_one_number_series_in_any_order_sorts_by_number():
    contacts = [{"no": f"CT{i:06d}", "i": i} for i in range(2000)]
    random.Random(7).shuffle(contacts)
    assert [c["i"] for c in ContactView(contacts).sorted_by("no")] == list(range(2000))
    assert ContactView(contacts).rows("", "no", reverse=True)[0]["no"] == "CT001999"


def one_by_one(text: str) -> str:
    """The quick search's folding as it was written first: one text at a time, str.translate."""
    text = text.casefold()
    return text if text.isascii() else _MARKS.sub("", unicodedata.normalize("NFKD", text).translate(FOLD_TABLE))


CELL = st.one_of(st.none(), st.integers(), st.text("aøæœßÉé\u0301\u0308İıǅﬁẞŁΣς Ǆ\x00\x01xyZ", max_size=6))


@given(st.lists(st.fixed_dictionaries({}, optional={k: CELL for k in SEARCH_KEYS}), max_size=12))  # (any left out)
def test_the_search_texts_folded_in_bulk_are_each_contacts_own(contacts):
    assert search_texts(contacts) == [one_by_one("\x00".join(_text(c, k) for k in SEARCH_KEYS)) for c in contacts]
    assert all(fold(t) == one_by_one(t) for c in contacts for t in (_text(c, "name"), _text(c, "city")))


LINKS = st.builds(LinkRow, profile=st.just("ann"), contact_uuid=st.sampled_from("abcdef"), item_id=st.text(max_size=4),
                  change_key=st.text(max_size=3), base_master=st.none(), base_remote=st.none(),
                  synced_revision=st.none() | st.integers(0, 5), pinned=st.booleans(),
                  error=st.none() | st.just("refused"), needs_stamp=st.booleans())


@given(st.lists(LINKS, max_size=8), st.sampled_from([{}, {"city": "Oslo"}]))
def test_the_link_index_reads_as_the_rows_and_counts_kept_alike(rows, filt):
    docs = {row.contact_uuid: row.to_doc() for row in rows}
    index = LinkIndex(docs)
    assert dict(index) == {u: LinkRow.from_doc(d, NO_DETAILS) for u, d in docs.items()} and len(index) == len(docs)
    assert all(index[row.contact_uuid].synced_revision == docs[row.contact_uuid]["synced_revision"] for row in rows)
    assert all(index.pinned(u) == index[u].pinned for u in docs) and not index.pinned("zz") and "zz" not in index
    contacts = [{"uuid": u, "name": u, "email": f"{u}@x.example", "city": "Bergen"} for u in "abcdefg"]
    cf = ContactFilter(filt)
    expected = sum(1 for c in contacts if c["uuid"] in docs and kept_outside_filter(c, cf, docs[c["uuid"]].get("pinned", False)))
    assert count_kept(contacts, cf, index) == expected


def test_a_link_written_by_hand_or_by_an_old_version_reads_as_before():
    row = LinkRow("ann", "u1", "I1", "CK", None, None, 3, pinned=True)
    written = row.to_doc() | row.details_doc()  # as a schema-2 bcsync wrote it: one document
    assert LinkRow.from_doc(written) == LinkRow("ann", "u1", "I1", "CK", None, None, 3, pinned=True)
    odd = {**written, "change_key": None, "pinned": 1, "needs_stamp": 0}
    assert LinkRow.from_doc(odd) == LinkRow("ann", "u1", "I1", "", None, None, 3, pinned=True, needs_stamp=False)
    old = {"contact_uuid": "u1", "item_id": "I1"}
    assert LinkRow.from_doc(old) == LinkRow("", "u1", "I1", "", None, None)


def _cursor_rows(lst: ContactList) -> list[int]:
    """The rows on screen drawn with the cursor's background."""
    cursor = lst.get_component_rich_style("contact-list--cursor", partial=True).bgcolor
    shown = []
    for y in range(1, lst.scrollable_content_region.height):
        segments = list(lst.render_line(y))
        if segments and isinstance(segments[0], Segment) and segments[0].style and segments[0].style.bgcolor == cursor:
            shown.append(round(lst.scroll_offset.y) + y - 1)
    return shown


async def test_moving_the_cursor_redraws_the_rows_it_leaves_and_reaches(paths, sample_store: Store):
    app = make_app(paths, sample_store)
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        lst.focus()
        await pilot.press("j", "j")
        await pilot.pause()
        assert lst.cursor == 2 and _cursor_rows(lst) == [2]
        await pilot.press(*"j" * 12)  # past the bottom: the list scrolls and is drawn whole
        await pilot.pause()
        assert lst.scroll_offset.y > 0 and _cursor_rows(lst) == [lst.cursor]
