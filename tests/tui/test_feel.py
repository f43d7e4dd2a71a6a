"""What a terminal user expects: help on ? and F1, a command palette that offers what is possible
now, a theme that is remembered (in a user-only file), and a quit key."""

from __future__ import annotations

import stat

from textual.command import CommandPalette

from bcsync_tui.tui.app import BcsyncApp
from bcsync_tui.tui.screens.help import HelpScreen

from .conftest import PROFILE


async def test_help_opens_on_question_mark_and_f1(app):
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            text = " ".join(str(w.render()) for w in app.screen.query("Static"))
            assert "synced" in text and "pending" in text  # the badges are explained
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)


async def test_palette_offers_the_screens_commands_that_are_possible_now(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any("New contact" in t for t in titles)
        assert not any("Cancel the running sync" in t for t in titles)  # nothing runs
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")


async def test_the_theme_is_remembered_in_a_private_file(paths, sample_store):
    app = BcsyncApp(paths, PROFILE, store=sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "nord"
        await pilot.pause()
        await pilot.press("q")
    assert stat.S_IMODE(paths.settings_file.stat().st_mode) == 0o600
    again = BcsyncApp(paths, PROFILE, store=sample_store)
    async with again.run_test(size=(80, 24)):
        assert again.theme == "nord"
