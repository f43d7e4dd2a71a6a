"""The contact card composes a person's Name as the store does: family name first for a name in Han,
Kana or Hangul (issue 15), given name first otherwise."""

from __future__ import annotations

from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contact_card import ContactCard
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.widgets.contact_list import ContactList

from .test_contacts import type_into


async def _fill_and_save(pilot, key: str, **fields: str) -> str:
    """Open the card with ``key`` (n: new, e: the highlighted contact), fill ``fields``, save; the
    Name the list then shows for the saved contact."""
    await pilot.press(key)
    assert isinstance(pilot.app.screen, ContactCard)
    for field, value in fields.items():
        await type_into(pilot, f"#field-{field}", value)
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ContactsScreen)
    return str(pilot.app.screen.query_one(ContactList).highlighted["name"])


async def test_card_composes_east_asian_names_family_name_first(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        assert await _fill_and_save(pilot, "n", first_name="伟", surname="张", email="zhang.wei@example.cn") == "张伟"
        assert await _fill_and_save(pilot, "e", first_name="小伟") == "张小伟"  # the Name follows its parts
        assert await _fill_and_save(pilot, "e", first_name="Wei", surname="Zhang") == "Wei Zhang"
    saved = [c for c in sample_store.contacts_raw() if c.get("email") == "zhang.wei@example.cn"]
    assert [(c["name"], c["revision"]) for c in saved] == [("Wei Zhang", 3)]
