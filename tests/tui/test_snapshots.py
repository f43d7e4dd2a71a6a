"""Screenshots of the home screen (and two dialogs) at 80×24 and 120×40 with a small fixed store."""

from __future__ import annotations

from .conftest import make_app


def test_home_80x24(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24))


def test_home_120x40(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(120, 40))


def test_home_searching_80x24(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), press=["slash", *"nordlys"])


def test_contact_card_80x24(snap_compare, paths, sample_store):
    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), press=["j", "enter"])


def test_filter_editor_with_an_error_80x24(snap_compare, paths, sample_store):
    async def type_bad_city(pilot) -> None:
        await pilot.press("f")
        pilot.app.screen.query_one("#expr-city").focus()
        await pilot.press(*"Oslo|(Ber")
        await pilot.pause(0.2)

    assert snap_compare(make_app(paths, sample_store), terminal_size=(80, 24), run_before=type_bad_city)
