"""The filter editor: errors at their position, a live count and preview, saving into the profile."""

from __future__ import annotations

from bcsync_tui.core.profiles import load_profile
from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.screens.filter_editor import FilterScreen
from bcsync_tui.tui.widgets.filter_form import FilterForm, caret_text
from bcsync_tui.core.filters import validate_expression

from .conftest import PROFILE


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_caret_points_at_the_error():
    text = caret_text(validate_expression("city", "Oslo|(Bergen")).plain
    expr, caret = text.splitlines()
    assert expr == "Oslo|(Bergen"
    assert caret == " " * 12 + "^ unclosed '(' (column 13)"  # the column the CLI names too


async def test_errors_show_inline_and_the_count_follows_each_keystroke(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, FilterScreen)
        await pilot.pause(0.2)
        assert "8 of 10 contacts match" in text_of(app, "#filter-count")
        assert "5 will sync" in text_of(app, "#filter-count")
        app.screen.query_one("#expr-city").focus()
        await pilot.press(*"Oslo|(")
        await pilot.pause(0.2)
        caret = app.screen.query_one("#caret-city")
        assert caret.has_class("-shown")
        assert "^ unclosed '('" in str(caret.render())
        assert "Fix the expression in City" in text_of(app, "#filter-count")
        await pilot.press("backspace", *"Bergen")
        await pilot.pause(0.2)
        assert not app.screen.query_one("#caret-city").has_class("-shown")
        assert "2 of 10 contacts match" in text_of(app, "#filter-count")
        preview = text_of(app, "#filter-preview")
        assert "Bjørn Ødegård" in preview and "[b]x[/] [red]Markup[/red]" in preview  # literal, not markup
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
    saved = load_profile(sample_store, PROFILE).filter
    assert saved == {"territory_code": "NORDIC|DACH|FRANCE|CEE", "city": "Oslo|Bergen"}


async def test_a_bad_filter_cannot_be_saved(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f")
        app.screen.query_one("#expr-post_code").focus()
        await pilot.press(*"9..1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)
        assert app.focused.id == "expr-post_code"
        assert "starts after it ends" in str(app.screen.query_one("#caret-post_code").render())
        await pilot.press("escape")
    assert load_profile(sample_store, PROFILE).filter == {"territory_code": "NORDIC|DACH|FRANCE|CEE"}


async def test_any_field_can_be_added(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        from textual.widgets import Select

        app.screen.query_one("#add-field", Select).value = "name"
        await pilot.pause()
        assert app.focused.id == "expr-name"
        await pilot.press(*"@*ø*")
        await pilot.pause(0.2)
        assert "1 of 10 contacts match" in text_of(app, "#filter-count")
        await pilot.click("#clear")
        await pilot.pause(0.2)
        assert "10 of 10 contacts match (no filter: all)" in text_of(app, "#filter-count")
        assert app.screen.query_one(FilterForm).expressions() == {}
        await pilot.click("#save")
        await pilot.pause()
    assert load_profile(sample_store, PROFILE).filter == {}


async def test_saving_the_filter_updates_the_badges(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        home = app.screen
        assert home.badges.badge(sample_store.find_contact("CT000008")) == "out"  # ITALY
        await pilot.press("f")
        app.screen.query_one("#expr-territory_code").value = ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert home.badges.badge(sample_store.find_contact("CT000008")) == "pending"
