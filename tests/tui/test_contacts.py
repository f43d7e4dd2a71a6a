"""The contact list and the contact card: search, sort, badges, create / edit / delete with validation."""

from __future__ import annotations

from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contact_card import ContactCard
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.screens.dialogs import ConfirmDialog
from bcsync_tui.tui.widgets.contact_list import ContactList
from bcsync_tui.tui.widgets.status_line import StatusLine

from .conftest import SAMPLE


def numbers(app) -> list[str]:
    return [c["no"] for c in app.screen.query_one(ContactList).rows]


def screen_text(app) -> str:
    return "\n".join("".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips())


async def type_into(pilot, selector: str, text: str) -> None:
    """Fill an input (as a paste would: one Changed event, like typing's last one)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = text
    await pilot.pause()


async def test_the_search_texts_are_prepared_in_the_background_after_a_reload(app):
    from bcsync_tui.tui.screens.contacts import SEARCH_PREP_DELAY

    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(SEARCH_PREP_DELAY + 0.2)
        await app.workers.wait_for_complete()
        assert app.screen.view.search_ready


async def test_opening_the_search_bar_prepares_the_search_texts_at_once(app):
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = app.screen.view
        await pilot.press("slash")
        await app.workers.wait_for_complete()
        assert view.search_ready
        await pilot.press(*"CT000001")
        await pilot.pause()
        assert numbers(app) == ["CT000001"]


async def test_home_screen_lists_every_contact_with_badges(app):
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert app.focused is app.screen.query_one(ContactList)
        assert numbers(app) == [r["no"] for r in SAMPLE]
        badges = {c["no"]: app.screen.badges.badge(c) for c in app.screen.query_one(ContactList).rows}
        assert badges["CT000001"] == "pending"  # DACH person with e-mail, never synced
        assert badges["CT000004"] == "out"  # a company
        assert badges["CT000005"] == "out"  # no e-mail
        assert badges["CT000006"] == "out"  # privacy blocked
        assert badges["CT000008"] == "out"  # ITALY is outside the filter
        text = screen_text(app)
        assert "[b]x[/] [red]Markup[/red]" in text  # contact data is never markup
        assert "10 contacts" in text


async def test_search_is_incremental_and_escape_clears_it(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash")
        assert app.focused.id == "search"
        await pilot.press("o", "s")
        assert "CT000002" in numbers(app) and len(numbers(app)) < len(SAMPLE)
        await pilot.press("l", "o")  # "oslo": the city
        assert numbers(app) == ["CT000002"]
        assert app.screen.query_one(StatusLine).shown == (1, len(SAMPLE))
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"LISBOA")  # case-insensitive
        assert numbers(app) == ["CT000010"]
        await pilot.press("enter")
        assert isinstance(app.focused, ContactList)
        await pilot.press("escape")  # on the list: clears the search
        assert len(numbers(app)) == len(SAMPLE)
        await pilot.press("slash", *"zzz-nothing")
        assert numbers(app) == []
        assert "No contact matches" in screen_text(app)
        await pilot.press("escape")
        assert len(numbers(app)) == len(SAMPLE) and isinstance(app.focused, ContactList)


async def test_search_matches_email_company_and_number(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", *"lumiere.fr")
        assert numbers(app) == ["CT000003"]
        await type_into(pilot, "#search", "baltic logistics")
        assert numbers(app) == ["CT000004", "CT000005"]
        await type_into(pilot, "#search", "ct000009")
        assert numbers(app) == ["CT000009"]


async def test_sort_cycles_and_is_remembered(app, paths, sample_store):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")  # No. → Name
        names = [c["name"] for c in app.screen.query_one(ContactList).rows]
        assert names == sorted(names, key=str.casefold)
        await pilot.press("S")  # reversed
        assert [c["name"] for c in app.screen.query_one(ContactList).rows] == names[::-1]
        await pilot.press("s")  # Name → Company: blanks last
        companies = [c.get("company_name", "") for c in app.screen.query_one(ContactList).rows]
        assert companies[-1] == "" and companies[0] == "Alpen Maschinenbau GmbH"
    from bcsync_tui.tui.app import BcsyncApp

    again = BcsyncApp(paths, "ann", sample_store)
    async with again.run_test(size=(100, 30)):
        assert again.screen.query_one(ContactList).sort_key == "company_name"


async def test_keyboard_navigation(app):
    async with app.run_test(size=(100, 12)) as pilot:
        contacts = app.screen.query_one(ContactList)
        await pilot.press("j", "j", "down")
        assert contacts.highlighted["no"] == "CT000004"
        await pilot.press("k")
        assert contacts.highlighted["no"] == "CT000003"
        await pilot.press("G")
        assert contacts.highlighted["no"] == "CT000010"
        assert contacts.scroll_offset.y > 0  # the cursor row is scrolled into view
        await pilot.press("g")
        assert contacts.highlighted["no"] == "CT000001" and contacts.scroll_offset.y == 0
        await pilot.press("pagedown")
        assert contacts.cursor > 3


async def test_mouse_selects_and_header_click_sorts(app):
    async with app.run_test(size=(100, 30)) as pilot:
        contacts = app.screen.query_one(ContactList)
        await pilot.click(ContactList, offset=(12, 3))  # third data row
        assert contacts.highlighted["no"] == "CT000003"
        await pilot.click(ContactList, offset=(20, 0))  # the Name header
        assert contacts.sort_key == "name"
        await pilot.click(ContactList, offset=(12, 1), times=2)  # double click opens the card
        assert isinstance(app.screen, ContactCard)


async def test_create_contact_shows_validation_errors_then_saves(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, ContactCard)
        await type_into(pilot, "#field-email", "not-an-address")
        error = app.screen.query_one("#error-email")
        assert "not an e-mail address" in str(error.render()) and error.has_class("-shown")
        await pilot.press("ctrl+s")  # no name, bad e-mail: stays open, both marked
        assert isinstance(app.screen, ContactCard)
        assert "needs a name" in str(app.screen.query_one("#error-name").render())
        assert app.focused.id == "field-name"  # the first bad field
        await type_into(pilot, "#field-first_name", "Ana")
        await type_into(pilot, "#field-surname", "Santos")
        await type_into(pilot, "#field-email", "ana@brisa.pt")
        assert not app.screen.query_one("#error-email").has_class("-shown")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
    created = [c for c in sample_store.contacts_raw() if c.get("email") == "ana@brisa.pt"]
    assert len(created) == 1 and created[0]["name"] == "Ana Santos" and created[0]["no"] == "CT000011"


async def test_new_contact_is_highlighted_after_save(app):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await type_into(pilot, "#field-name", "Aurora AB")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one(ContactList).highlighted["name"] == "Aurora AB"


async def test_edit_contact_saves_only_the_changed_field(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("j", "e")  # CT000002
        assert isinstance(app.screen, ContactCard)
        card = app.screen
        assert card.query_one("#field-city").value == "Oslo"
        await type_into(pilot, "#field-phone", "not a phone ☎")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ContactCard)
        assert "digits" in str(card.query_one("#error-phone").render())
        await type_into(pilot, "#field-phone", "+47 22 00 00 00")
        await type_into(pilot, "#field-city", "Bergen")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert app.screen.query_one(ContactList).highlighted["city"] == "Bergen"
    saved = sample_store.find_contact("CT000002")
    assert saved["city"] == "Bergen" and saved["phone"] == "+47 22 00 00 00" and saved["revision"] == 2


async def test_escape_on_a_changed_card_asks_before_discarding(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("enter")
        await type_into(pilot, "#field-city", "Graz")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # keep editing
        assert isinstance(app.screen, ContactCard)
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
    assert sample_store.find_contact("CT000001")["city"] == "München"


async def test_delete_asks_for_confirmation(app, sample_store: Store):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("j", "j", "d")  # CT000003
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # keep
        await pilot.pause()
        assert "CT000003" in numbers(app)
        await pilot.press("d")
        await pilot.click("#yes")
        await pilot.pause()
        assert "CT000003" not in numbers(app)
        assert app.screen.query_one(StatusLine).shown == (9, 9)
    assert all(c["no"] != "CT000003" for c in sample_store.contacts_raw())


async def test_edits_by_another_process_appear_without_a_restart(app, paths, sample_store: Store):
    async with app.run_test(size=(100, 30)) as pilot:
        other = Store.open(paths)  # e.g. `bcsync contacts add` in another terminal
        other.add_contact({"name": "Polar Solar Oy", "type": "Company"})
        other.close()
        app.poll_store()
        await pilot.pause()
        assert "CT000011" in numbers(app)


async def test_edit_and_delete_are_hidden_when_the_list_is_empty(paths, store: Store):
    from .conftest import make_app

    app = make_app(paths, store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.screen.check_action("edit", ()) is False
        assert app.screen.check_action("delete", ()) is False
        assert app.screen.check_action("sync", ()) is True  # offered: without a profile it opens the setup
        assert "No contacts yet" in screen_text(app)
        assert "not set up" in screen_text(app)
