"""The screens' title line (one widget drawing one line): every cell Textual's Header would draw,
at any width and with a title too long to fit; it follows the title as it changes, and its icon
answers the mouse as Textual's does (lit, with a tooltip; a click opens the command palette)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.command import CommandPalette
from textual.widgets import Header as TextualHeader

from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.widgets.header import Header


class Titled(App[None]):
    TITLE = "bcsync"

    def __init__(self, header: type, sub_title: str):
        super().__init__()
        self.header, self.sub_title = header, sub_title

    def compose(self) -> ComposeResult:
        yield self.header(icon="≡")


def cells(app: App) -> list[tuple[str, object, object, bool]]:
    """The first line as the screen draws it: each cell's character and colours (a space's own colour
    shows nowhere: left out)."""
    line = app.screen._compositor.render_update(full=True).strips[0]  # (the strips of the widgets on it)
    return [(ch, None if ch == " " else seg.style.color, seg.style.bgcolor, bool(seg.style.bold))
            for strip in line for seg in strip for ch in seg.text]


async def drawn(header: type, width: int, sub_title: str, hover: bool) -> list[tuple[str, object, object, bool]]:
    app = Titled(header, sub_title)
    async with app.run_test(size=(width, 5)) as pilot:
        await pilot.pause()
        if hover:
            await pilot.hover(offset=(3, 0))
            await pilot.pause()
        return cells(app)


@pytest.mark.parametrize("width", [120, 80, 30, 19, 18, 12, 5])
@pytest.mark.parametrize("sub_title", ["profile ann", "profile " + "a-very-long-profile-name" * 3, ""])
async def test_the_header_draws_the_cells_textuals_header_draws(width, sub_title):
    # (narrower than the icon's and the clock's columns, which overlap then, the mouse is not compared)
    for hover in (False, True) if width >= 18 else (False,):
        ours = await drawn(Header, width, sub_title, hover)
        assert ours == await drawn(TextualHeader, width, sub_title, hover)
        assert len(ours) == width and (width < 12 or ours[1][0] == "≡")


async def test_the_header_follows_the_title_and_its_icon_opens_the_palette(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        header = app.screen.query_one(Header)
        line = "".join(ch for ch, *_ in cells(app))
        assert f"bcsync — profile {app.profile_name}" in line
        app.sub_title = "profile somebody-else"
        await pilot.pause()
        assert "bcsync — profile somebody-else" in "".join(ch for ch, *_ in cells(app))
        await pilot.hover(Header, offset=(50, 0))  # the title: not the icon
        assert header.tooltip is None
        await pilot.hover(Header, offset=(2, 0))
        assert header.tooltip == "Open the command palette"
        await pilot.click(Header, offset=(50, 0))
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        await pilot.click(Header, offset=(2, 0))
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
