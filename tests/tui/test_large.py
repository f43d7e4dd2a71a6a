"""The app over a 50,000-contact store: every contact listed, search, jump to the end, edit, and a
reload after another process compacted the store, all without the list being rebuilt wrongly.
(Times are measured by bench/tui.py, not asserted here.)"""

from __future__ import annotations

import pytest

from bcsync_tui.core.store import Store
from bcsync_tui.tui.app import BcsyncApp
from bcsync_tui.tui.widgets.contact_list import ContactList

from .conftest import PROFILE

N = 50_000


def fill(paths) -> None:
    store = Store.open(paths)
    store.add_contacts([{"first_name": f"First{i}", "surname": f"Surname{i}", "email": f"p{i}@big.example",
                         "city": ("Oslo", "Bergen", "Tromsø")[i % 3]} for i in range(N)])
    store.close()


async def test_fifty_thousand_contacts(paths):
    fill(paths)
    app = BcsyncApp(paths, PROFILE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        assert len(lst.rows) == N
        await pilot.press("G")
        assert lst.highlighted["no"] == f"CT{N:06d}"
        await pilot.press("slash", *"surname4999", "9")
        await pilot.pause()
        assert [c["no"] for c in lst.rows] == ["CT050000"]  # Surname49999 only
        await pilot.press("escape")
        await pilot.pause()
        assert len(lst.rows) == N
        # Another process edits and compacts: the app reloads in a thread and shows the change.
        other = Store.open(paths)
        uuid = other.find_contact("CT000001")["uuid"]
        other.update_contact(uuid, {"city": "Hammerfest"})
        other.storage.compact()
        other.close()
        for _ in range(100):
            await pilot.pause(0.05)
            if lst.rows[0]["city"] == "Hammerfest":
                break
        assert lst.rows[0]["city"] == "Hammerfest"
        assert len(lst.rows) == N


async def test_the_collector_rests_until_the_first_screen_is_up_and_never_after(paths, sample_store):
    """start_app pauses the cyclic collector while the store and the first screen are made (all of
    it lives on); the contacts screen takes it up again once painted, and a store that cannot be
    opened does not leave it paused either."""
    import gc

    from bcsync_tui.core.store_errors import StoreCorruptError
    from bcsync_tui.tui.app import close_app, start_app

    sample_store.close()
    assert gc.isenabled()
    app = start_app(paths, PROFILE)
    try:
        assert not gc.isenabled()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert app.screen.query_one(ContactList).rows
            assert gc.isenabled()
    finally:
        close_app(app)
        gc.unfreeze()
        gc.enable()
    paths.store_file.write_bytes(b"\x00not a store")
    with pytest.raises(StoreCorruptError):
        start_app(paths, PROFILE)
    assert gc.isenabled()
