"""The contact list's search and sort (pure): whatever the typing history, the rows are exactly the
contacts a plain filter finds, in the chosen order."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from bcsync_tui.tui.contact_view import SEARCH_KEYS, SORT_KEYS, ContactView, fold

WORDS = ["ann", "Anna", "ÅSE", "bergen", "oslo", "ct0001", "x@y.no", "", "Straße"]

# The store's documents leave blank fields out (core/contact_docs.py): any searched field but the
# No. and the name may be missing.
contact = st.fixed_dictionaries({
    "no": st.sampled_from([f"CT{n:06d}" for n in range(1, 40)]),
    "name": st.sampled_from(WORDS + ["Anna Berg", "Ole Ås"]),
}, optional={
    "email": st.sampled_from(WORDS),
    "company_name": st.one_of(st.none(), st.sampled_from(WORDS)),
    "city": st.sampled_from(WORDS),
})


def reference(contacts, search: str, sort: str, reverse: bool):
    words = fold(search.strip()).split()
    view = ContactView(contacts)
    order = view.sorted_by(sort)
    order = order[::-1] if reverse else order
    text = {id(c): fold("\x00".join("" if c.get(k) is None else str(c[k]) for k in SEARCH_KEYS)) for c in contacts}
    return [c for c in order if all(w in text[id(c)] for w in words)]


@settings(max_examples=120, deadline=None)
@given(contacts=st.lists(contact, max_size=30),
       typed=st.lists(st.sampled_from(["a", "n", "s", "e", " ", "å", "o", "BACK", "CLEAR"]), max_size=12),
       sort=st.sampled_from([k for k, _ in SORT_KEYS]), reverse=st.booleans())
def test_rows_match_a_plain_filter_through_any_typing(contacts, typed, sort, reverse):
    view = ContactView(contacts)
    search = ""
    for key in typed:
        search = search[:-1] if key == "BACK" else "" if key == "CLEAR" else search + key
        got = view.rows(search, sort, reverse)
        assert [id(c) for c in got] == [id(c) for c in reference(contacts, search, sort, reverse)], search


def test_numbers_sort_as_numbers_and_blanks_go_last():
    contacts = [{"no": "CT000010", "city": ""}, {"no": "CT000002", "city": "oslo"}, {"no": "CT000001", "city": "Bergen"}]
    view = ContactView(contacts)
    assert [c["no"] for c in view.rows("", "no")] == ["CT000001", "CT000002", "CT000010"]
    assert [c["city"] for c in view.rows("", "city")] == ["Bergen", "oslo", ""]


def test_search_keys_prepared_in_another_thread_give_the_same_rows():
    contacts = [{"no": f"CT{i:06d}", "name": f"Person {i}", "city": "Oslo" if i % 3 else "Bergen"} for i in range(3000)]
    view = ContactView(contacts)
    worker = threading.Thread(target=view.prepare_search)
    worker.start()
    early = view.rows("berg")  # a keystroke racing the preparation
    worker.join()
    assert early == [c for c in view.rows("") if c["city"] == "Bergen"]
    assert view.rows("person 12") == reference(contacts, "person 12", "no", False)
