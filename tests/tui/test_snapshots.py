"""Screenshots of the home screen (and two dialogs) at 80×24 and 120×40 with a small fixed store."""

from __future__ import annotations

from textual.widgets import Input

from .conftest import make_app


def test_home_80x24(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24))


def test_home_120x40(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(120, 40))


def test_home_searching_80x24(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), press=["slash", *"nordlys"])


def _steady_cursor(pilot) -> None:
    """A blinking cursor is drawn or not depending on the moment of the screenshot."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def test_contact_card_80x24(snap_compare, paths, sample_store):
    async def open_card(pilot) -> None:
        await pilot.press("j", "enter")
        await pilot.pause()
        _steady_cursor(pilot)
        await pilot.pause()

    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), run_before=open_card)


def test_filter_editor_with_an_error_80x24(snap_compare, paths, sample_store):
    async def type_bad_city(pilot) -> None:
        await pilot.press("f")
        pilot.app.screen.query_one("#expr-city").focus()
        await pilot.press(*"Oslo|(Ber")
        _steady_cursor(pilot)
        await pilot.pause(0.2)

    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), run_before=type_bad_city)
