"""Sync from the TUI against the loopback Exchange server: dialog with filter and dry-run preview,
progress panel, cancel, summary, automatic sync, the lock shared with the CLI, history and conflicts."""

from __future__ import annotations

import time

from textual.widgets import DataTable, Label

from bcsync_tui.core.history import list_conflicts, list_runs
from bcsync_tui.core.profiles import load_profile, save_profile
from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.screens.dialogs import ErrorDialog
from bcsync_tui.tui.screens.history import HistoryScreen
from bcsync_tui.tui.screens.sync import SyncDialog, SyncSummaryScreen
from bcsync_tui.tui.widgets.sync_panel import SyncPanel

from .conftest import EMAIL, PROFILE, make_app, person

IN_FILTER = ["CT000001", "CT000002", "CT000003", "CT000007", "CT000009"]


async def wait_until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


async def summary_text(pilot) -> str:
    """The body of the end-of-sync summary, once it is on screen and composed."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, SyncSummaryScreen)
                     and bool(app.screen.query(".dialog-scroll Static")))
    return str(app.screen.query_one(".dialog-scroll Static").render())


async def run_sync_from_dialog(pilot, *keys: str) -> None:
    app = pilot.app
    await pilot.press("r")
    assert isinstance(app.screen, SyncDialog)
    await pilot.press(*keys, "ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, SyncSummaryScreen))


def badge(app, store: Store, number: str) -> str:
    home = next(s for s in app.screen_stack if isinstance(s, ContactsScreen))
    return home.badges.badge(store.find_contact(number))


async def test_preview_then_sync_with_progress_and_summary(paths, synced_setup: Store, exchange):
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, SyncDialog)
        await pilot.press("ctrl+r")  # preview: a dry run
        await wait_until(pilot, lambda: dialog.query_one("#plan", DataTable).display)
        summary = str(dialog.query_one("#plan-summary").render())
        assert "to Outlook: 5 create" in summary
        assert dialog.query_one("#plan", DataTable).row_count == 5
        assert exchange.outlook(EMAIL).folders() and not list_runs(synced_setup, PROFILE)  # nothing written
        progress_seen: list[str] = []
        panel = app.screen_stack[-2].query_one(SyncPanel)
        app.watch(app, "sync_progress", lambda p: p and progress_seen.append(p[0].phase), init=False)
        app.watch(app, "sync_running", lambda on: on and progress_seen.append(f"panel {panel.display}"), init=False)
        await pilot.press("ctrl+s")
        body = await summary_text(pilot)
        assert "panel True" in progress_seen  # the panel shows while the sync runs
        assert len(progress_seen) >= 2  # and at least one progress report reached the panel
        assert "created  5" in body.replace(",", "")
        await pilot.press("escape")
        assert not app.screen.query_one(SyncPanel).display
        assert [badge(app, synced_setup, n) for n in IN_FILTER] == ["synced"] * 5
        assert badge(app, synced_setup, "CT000008") == "out"
        assert app.last_run is not None and app.last_run.status.value == "ok"
    assert len(exchange.outlook(EMAIL).contacts("Business Central")) == 5


async def test_filter_edited_in_the_sync_dialog_applies(paths, synced_setup: Store, exchange):
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#expr-territory_code").value = "NORDIC"
        await pilot.pause(0.2)
        assert "4 of 10 contacts match" in str(app.screen.query_one("#filter-count").render())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncSummaryScreen))
    assert load_profile(synced_setup, PROFILE).filter == {"territory_code": "NORDIC"}
    names = sorted(c["display_name"] for c in exchange.outlook(EMAIL).contacts("Business Central"))
    assert names == ["Bjørn Ødegård", "Ingrid Haugen", "[b]x[/] [red]Markup[/red]"]


async def test_cancel_stops_the_sync_at_a_safe_point(paths, synced_setup: Store, exchange):
    synced_setup.add_contacts([person(f"CT1{i:05d}", "Test", f"Person {i}", f"p{i}@example.no",
                                      territory_code="NORDIC") for i in range(250)])
    profile = load_profile(synced_setup, PROFILE)
    profile.in_flight = 1  # one batch at a time: a safe point after each (4 in flight send all 255 at once)
    save_profile(synced_setup, profile)
    exchange.faults.slow(1.0, count=None, operation="CreateItem")
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r", "ctrl+s")
        panel = app.screen.query_one(SyncPanel)
        await wait_until(pilot, lambda: "creating in Outlook" in str(panel.query_one("#sync-phase", Label).render()))
        assert "/255" in str(panel.query_one("#sync-phase", Label).render())  # done/total of the phase
        assert panel.phases.phases["creating in Outlook"][1] == 255
        await pilot.press("escape")  # on the list, Esc cancels the sync
        await wait_until(pilot, lambda: isinstance(app.screen, SyncSummaryScreen))
        assert app.screen.record.status.value == "cancelled"
    created = len(exchange.outlook(EMAIL).contacts("Business Central"))
    assert 0 < created < 255
    assert list_runs(synced_setup, PROFILE)[0]["status"] == "cancelled"


async def test_throttling_shows_the_wait_and_the_keyboard_stays_live(paths, synced_setup: Store, exchange):
    exchange.faults.throttle(count=1, backoff_ms=3000, operation="CreateItem")
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r", "ctrl+s")
        panel = app.screen.query_one(SyncPanel)
        await wait_until(pilot, lambda: "resuming in" in str(panel.query_one("#sync-wait", Label).render()))
        await pilot.press("j", "j")  # the list still moves during the wait
        assert app.screen.query_one("#contacts").cursor == 2
        assert "throttled" in await summary_text(pilot)


async def test_a_sync_held_by_another_process_is_reported(paths, synced_setup: Store):
    lock_holder = synced_setup.sync_lock()  # held as `bcsync sync` in another terminal would
    lock_holder.acquire()
    try:
        app = make_app(paths, synced_setup)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("r", "ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorDialog) and bool(app.screen.query(".dialog-title")))
            assert "Another sync is running" in str(app.screen.query_one(".dialog-title").render())
            await pilot.press("escape")
            assert not app.sync_running
            # An automatic sync skips quietly and retries later.
            app.next_auto_sync = 0
            worker = app.start_sync(manual=False)
            await worker.wait()
            assert not isinstance(app.screen, ErrorDialog)
    finally:
        lock_holder.release()


async def test_automatic_sync_runs_when_due(paths, synced_setup: Store, exchange):
    profile = load_profile(synced_setup, PROFILE)
    profile.interval_minutes = 5
    from bcsync_tui.core.profiles import save_profile

    save_profile(synced_setup, profile)
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.next_auto_sync is not None and app.next_auto_sync > time.time() + 200
        app.next_auto_sync = time.time() - 1  # due now
        app.check_auto_sync()
        assert app.sync_running
        await wait_until(pilot, lambda: not app.sync_running)
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)  # no summary dialog for an automatic run
        assert app.last_run.status.value == "ok"
        assert app.next_auto_sync > time.time() + 200


async def test_history_shows_runs_and_conflicts_can_be_reapplied(paths, synced_setup: Store, exchange):
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_sync_from_dialog(pilot)
        await pilot.press("escape")
        # Both sides change Bjørn's city between two syncs: the master wins, Outlook's value is logged.
        outlook = exchange.outlook(EMAIL)
        item = next(c for c in outlook.contacts("Business Central") if c["email1"] == "bjorn@fjord.no")
        outlook.edit_contact(item["id"], business_city="Tromsø")
        synced_setup.update_contact(synced_setup.find_contact("CT000002")["uuid"], {"city": "Drammen"})
        app.poll_store()
        await run_sync_from_dialog(pilot)
        await pilot.press("h")  # from the summary to the history
        assert isinstance(app.screen, HistoryScreen)
        runs = app.screen.query_one("#runs", DataTable)
        assert runs.row_count == 2
        assert "Run " in str(app.screen.query_one("#run-detail").render())
        await pilot.press("2")
        conflicts = app.screen.query_one("#conflicts", DataTable)
        assert conflicts.row_count == 1
        assert "Drammen" in str(app.screen.query_one("#master-value").render())
        assert "Tromsø" in str(app.screen.query_one("#outlook-value").render())
        assert badge(app, synced_setup, "CT000002") == "conflict"
        await pilot.press("a")
        await pilot.click("#yes")
        await pilot.pause()
        assert synced_setup.find_contact("CT000002")["city"] == "Tromsø"
        assert app.screen.check_action("reapply", ()) is False  # already re-applied
        assert list_conflicts(synced_setup, PROFILE)[0]["reapplied"] is True
        await pilot.press("escape")
        assert isinstance(app.screen, ContactsScreen)
        assert badge(app, synced_setup, "CT000002") == "pending"  # goes to Outlook next time


async def test_quit_during_a_blocked_network_call_does_not_hang(paths, synced_setup: Store, exchange):
    exchange.faults.slow(6.0, count=None)
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r", "ctrl+s")
        await wait_until(pilot, lambda: app.sync_running)
        await pilot.pause(0.3)
        started = time.monotonic()
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, timeout=4)
    assert time.monotonic() - started < 4
    exchange.faults.clear()
