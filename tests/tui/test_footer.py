"""The home screen's footer (one widget drawing one line): it offers what is possible now, follows
the bindings as they change, and its keys answer the mouse as Textual's footer keys do."""

from __future__ import annotations

from bcsync_tui.tui.screens.contact_card import ContactCard
from bcsync_tui.tui.screens.contacts import EDIT, NEW, ContactsScreen
from bcsync_tui.tui.widgets.footer import Footer


def footer_line(app) -> str:
    footer = app.screen.query_one(Footer)
    return "".join(segment.text for segment in footer.render_line(0))


def key_offset(app, display: str) -> tuple[int, int]:
    """Where the footer draws the key ``display`` (its first cell)."""
    footer = app.screen.query_one(Footer)
    footer.render_line(0)
    return next((left, 0) for left, _, key in footer._spans if key.display == display)


async def test_footer_offers_what_is_possible_now(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert line.startswith("n New e Edit d Delete r Sync f Filter h History ? Help q Quit")
        assert line.endswith("▏^p Commands ") and len(line) == 120
        assert "Clear search" not in line
        await pilot.press("slash", *"nobody-has-this-name")
        await pilot.pause()
        line = footer_line(app)
        assert "Edit" not in line and "Delete" not in line  # no contact is highlighted
        assert "esc Clear search" in line
        await pilot.press("escape")  # clears the search
        await pilot.pause()
        assert "e Edit" in footer_line(app) and "Clear search" not in footer_line(app)


async def test_footer_keys_fit_a_narrow_terminal_whole_with_the_palette_key_kept(app):
    async with app.run_test(size=(50, 24)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert len(line) == 50 and line.endswith("▏^p Commands ")


async def test_clicking_a_footer_key_presses_it_and_hovering_shows_its_help(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        await pilot.hover(Footer, offset=key_offset(app, "e"))
        assert footer.tooltip == EDIT.help
        assert footer._hover is not None and footer._hover.description == "Edit"
        await pilot.hover(Footer, offset=(119, 0))  # past the keys: nothing lit
        assert footer._hover is None and footer.tooltip is None
        await pilot.click(Footer, offset=key_offset(app, "n"))
        await pilot.pause()
        assert isinstance(app.screen, ContactCard)
        assert app.screen.uuid is None  # a new contact, as the key n opens it
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert NEW.description in footer_line(app)
