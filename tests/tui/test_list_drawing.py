"""What the contact list draws (its rows are kept drawn between frames): always the rows under the
scroll position, with the cursor on the right one, and drawn afresh when the data, the badges or
the width change; the progress panel's lines follow the sync's reports."""

from __future__ import annotations

import time

from bcsync_tui.core.profiles import get_or_new_profile, save_profile
from bcsync_tui.core.store import Store
from bcsync_tui.core.sync.events import Progress
from bcsync_tui.tui.widgets.contact_list import ContactList
from bcsync_tui.tui.widgets.sync_panel import SyncPanel

from .conftest import PROFILE, make_app, person


def drawn(lst: ContactList) -> list[str]:
    """The list's lines as drawn, header first."""
    return ["".join(segment.text for segment in lst.render_line(y)) for y in range(lst.scrollable_content_region.height)]


def drawn_row(lst: ContactList, number: str) -> str:
    return next(line for line in drawn(lst)[1:] if number in line)


def cursor_line(lst: ContactList) -> int:
    """The line drawn with the cursor's background."""
    cursor = lst.get_component_rich_style("contact-list--cursor", partial=True).bgcolor
    lines = [y for y in range(1, lst.scrollable_content_region.height)
             if (segments := list(lst.render_line(y))) and segments[0].style and segments[0].style.bgcolor == cursor]
    assert len(lines) == 1, lines
    return lines[0]


async def test_the_rows_drawn_follow_scrolling_both_ways(paths, store: Store):
    store.add_contacts([person(f"CT{i:06d}", "Test", f"Person{i:03d}", f"p{i}@example.no") for i in range(1, 201)])
    app = make_app(paths, store)
    async with app.run_test(size=(100, 14)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        lst.focus()
        for keys in (["j"] * 25, ["k"] * 20, ["G"], ["k"] * 3, ["g"], ["pagedown"] * 3, ["pageup"]):
            await pilot.press(*keys)
            await pilot.pause()
            top = round(lst.scroll_offset.y)
            lines = drawn(lst)
            assert lines[0].split()[1:3] == ["No.", "▲"]  # the header stays on top
            for y, line in enumerate(lines[1:], start=1):
                assert f"CT{top + y:06d}" in line and f"Person{top + y:03d}" in line, (keys, y, line)
            assert top + cursor_line(lst) - 1 == lst.cursor  # the highlight is on the cursor's row


async def test_the_rows_drawn_follow_an_edit_a_badge_change_and_a_new_width(paths, sample_store: Store):
    app = make_app(paths, sample_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        assert drawn_row(lst, "CT000002").startswith("pending") and "Bjørn Ødegård" in drawn_row(lst, "CT000002")
        assert drawn_row(lst, "CT000008").startswith("out")  # Italy: outside the filter
        uuid = sample_store.find_contact("CT000002")["uuid"]
        sample_store.update_contact(uuid, {"first_name": "Bjarne"})
        app.poll_store()
        await pilot.pause()
        assert "Bjarne Ødegård" in drawn_row(lst, "CT000002")
        profile = get_or_new_profile(sample_store, PROFILE)
        profile.filter = {"territory_code": "ITALY"}
        save_profile(sample_store, profile)
        app.poll_store()
        await pilot.pause()
        assert drawn_row(lst, "CT000002").startswith("out") and drawn_row(lst, "CT000008").startswith("pending")
        wide = drawn_row(lst, "CT000001")
        await pilot.resize_terminal(80, 30)
        await pilot.pause()
        narrow = drawn_row(lst, "CT000001")
        assert len(narrow) < len(wide) and "München" in wide and "München" not in narrow  # fewer columns


async def test_the_progress_panel_is_made_at_the_first_sync_and_its_lines_follow_the_reports(app):
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(SyncPanel)
        assert not panel.children  # nothing of it is built for the first screen
        app.sync_kind = "full sync"
        app.sync_running = True
        await pilot.pause()
        counts = panel.query_one("#sync-counts")
        assert panel.display and "Full sync: starting" in str(panel.query_one("#sync-phase").render())
        for i, (report, rows) in enumerate([({"outlook_created": 5}, 1),
                                            ({"outlook_created": 5000, "outlook_updated": 3000, "outlook_deleted": 12,
                                              "master_created": 30, "master_updated": 4, "conflicts": 2}, 2),
                                            ({"outlook_created": 6000}, 1)]):
            app.sync_progress = (Progress("creating in Outlook", i, 10, counts=report), time.monotonic())
            await pilot.pause()
            assert f"{report['outlook_created']:,} created" in str(counts.render())
            assert counts.size.height == rows  # a text that needs two rows gets them, and gives one back
        app.sync_running = False
        await pilot.pause()
        assert not panel.display


async def test_a_list_styled_with_padding_is_drawn_with_it(app):
    def screen_line(number: str) -> str:
        return next(line for line in ("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())
                    if number in line)

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        assert screen_line("CT000001").startswith("pending  CT000001")  # rows drawn as they are
        lst.styles.padding = (0, 3)
        await pilot.pause()
        assert screen_line("CT000001").startswith("   pending  CT000001")  # Textual's own path draws the padding


async def test_after_a_sync_the_rows_drawn_show_the_store_it_reloaded(paths, synced_setup: Store, exchange):
    from .test_sync import IN_FILTER, run_sync_from_dialog

    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lst = app.screen.query_one(ContactList)
        assert all(drawn_row(lst, number).startswith("pending") for number in IN_FILTER)
        rows_before = lst.rows
        await run_sync_from_dialog(pilot)
        await pilot.press("escape")  # the summary
        await pilot.pause()
        assert lst.rows is not rows_before  # rebuilt from the store caught up after the sync
        assert [c["no"] for c in lst.rows] == sorted(c["no"] for c in synced_setup.contacts_raw())
        assert all(drawn_row(lst, number).startswith("synced") for number in IN_FILTER)
        assert drawn_row(lst, "CT000008").startswith("out")
        assert "last sync" in "".join(s.text for s in app.screen._compositor.render_strips()[-2])
