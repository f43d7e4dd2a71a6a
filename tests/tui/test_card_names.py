"""The contact card composes a person's Name as the store does: family name first for a name in Han,
Kana or Hangul (issue 15), given name first otherwise."""

from __future__ import annotations

from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contact_card import ContactCard
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.widgets.contact_list import ContactList

from .test_contacts import type_into


async def test_card_composes_east_asian_names_family_name_first(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, ContactCard)
        await type_into(pilot, "#field-first_name", "伟")
        await type_into(pilot, "#field-surname", "张")
        await type_into(pilot, "#field-email", "zhang.wei@example.cn")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert app.screen.query_one(ContactList).highlighted["name"] == "张伟"
        await pilot.press("e")  # edit the given name: the Name follows
        assert app.screen.query_one("#field-name").value == "张伟"
        await type_into(pilot, "#field-first_name", "小伟")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one(ContactList).highlighted["name"] == "张小伟"
        await pilot.press("e")  # Latin parts: given name first again
        await type_into(pilot, "#field-first_name", "Wei")
        await type_into(pilot, "#field-surname", "Zhang")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one(ContactList).highlighted["name"] == "Wei Zhang"
    saved = [c for c in sample_store.contacts_raw() if c["email"] == "zhang.wei@example.cn"]
    assert [(c["name"], c["revision"]) for c in saved] == [("Wei Zhang", 3)]
