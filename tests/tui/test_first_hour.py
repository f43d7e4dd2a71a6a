"""What a new user tripped over in the TUI (issue 15 part 3), each as a Pilot test: the card's cursor,
the progress panel after a preview, `r` without a profile, Esc in the setup, checkboxes, plurals, the
status bar at 120 columns, accent-blind search, skipped items by name, and contacts kept in the
user's Outlook folder outside the filter."""

from __future__ import annotations

from textual.widgets import Input, Label

from bcsync_tui.cli.common import plural
from bcsync_tui.core.profiles import Profile, load_profile, save_profile
from bcsync_tui.core.records import ItemNote, PlanRow, RunCounts, RunRecord
from bcsync_tui.core.store import Store
from bcsync_tui.tui.badges import KEPT, KEPT_TEXT, BadgeSource, count_kept
from bcsync_tui.tui.contact_view import ContactView, fold
from bcsync_tui.tui.screens.contact_card import ContactCard
from bcsync_tui.tui.screens.dialogs import ConfirmDialog
from bcsync_tui.tui.screens.history import HistoryScreen
from bcsync_tui.tui.screens.setup import ContactSyncSetupScreen, ExchangeSetupScreen
from bcsync_tui.tui.screens.sync import SyncDialog, SyncSummaryScreen
from bcsync_tui.tui.widgets.contact_list import ContactList
from bcsync_tui.tui.widgets.status_line import StatusLine, run_summary, who
from bcsync_tui.tui.widgets.sync_panel import PhaseProgress, SyncPanel, counts_text
from bcsync_tui.tui.widgets.tickbox import TickBox

from .conftest import EMAIL, PROFILE, make_app, person
from .test_sync import summary_text, wait_until


async def test_the_card_opens_with_the_cursor_at_the_end_of_the_name(app):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("j", "enter")
        assert isinstance(app.screen, ContactCard)
        await pilot.pause()
        name = app.screen.query_one("#field-name", Input)
        assert app.focused is name
        before = name.value
        assert before and name.selection.is_empty and name.cursor_position == len(before)
        await pilot.press("x")
        assert name.value == before + "x"  # the first key adds, it does not replace the name


async def test_after_a_preview_the_real_sync_shows_its_mode_and_progress(paths, synced_setup: Store, exchange):
    synced_setup.add_contacts([person(f"CT1{i:05d}", "Test", f"Person {i}", f"p{i}@example.no",
                                      territory_code="NORDIC") for i in range(30)])
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncDialog))
        await pilot.press("ctrl+r")  # preview (a dry run)
        await wait_until(pilot, lambda: "to Outlook" in str(app.screen.query_one("#plan-summary").render()))
        exchange.faults.slow(0.3, count=None, operation="CreateItem")
        await pilot.press("ctrl+s")
        panel = app.screen.query_one(SyncPanel)
        phase = panel.query_one("#sync-phase", Label)
        await wait_until(pilot, lambda: "creating in Outlook" in str(phase.render()))
        shown = str(phase.render())
        assert shown.startswith("Incremental sync: creating in Outlook 0/35") and "Dry run" not in shown
        assert "done: " in shown and "reading Outlook" in shown  # the phases behind it
        bar = panel.query_one("#sync-bar")
        assert bar.total == 100 and 0 < bar.progress < 100  # a real share, never "--%"
        await summary_text(pilot)


def test_phase_progress_marks_a_phase_done_when_the_next_starts():
    from bcsync_tui.core.sync.events import Progress

    phases = PhaseProgress()
    phases.add(Progress("reading Outlook"))
    phases.add(Progress("writing master", 0, 7))
    low = phases.fraction()
    phases.add(Progress("updating Outlook", 0, 66))
    assert phases.phases["writing master"] == (7, 7)
    assert phases.line() == "updating Outlook 0/66 · done: writing master 7/7, reading Outlook"
    phases.add(Progress("updating Outlook", 33, 66))
    assert low < phases.fraction() < 1


async def test_r_without_a_profile_says_what_is_missing_and_opens_the_setup(paths, store: Store):
    store.add_contacts([person("CT000001", "Ann", "Berg", "ann@example.com")])
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ExchangeSetupScreen)
        (note,) = [n for n in app._notifications if "no mailbox" in str(n.message)]
        assert "e-mail" in str(note.message) and PROFILE in str(note.message)


async def test_escape_in_the_exchange_setup_asks_before_discarding(app, sample_store: Store):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        assert isinstance(app.screen, ExchangeSetupScreen)
        await pilot.press("escape")  # nothing typed: closes at once
        assert not isinstance(app.screen, ExchangeSetupScreen)
        await pilot.press("x")
        email = app.screen.query_one("#email", Input)
        email.value = "someone.else@example.com"
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # keep editing: the typed value is still there
        assert isinstance(app.screen, ExchangeSetupScreen) and email.value == "someone.else@example.com"
        await pilot.press("escape")
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, ExchangeSetupScreen)
    assert load_profile(sample_store, PROFILE).email == EMAIL  # thrown away, as asked


async def test_a_typed_password_counts_as_a_change(app):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        app.screen.query_one("#password", Input).value = "new secret"
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)


async def test_checked_and_unchecked_boxes_look_different(app):
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncDialog))
        full = app.screen.query_one("#full", TickBox)
        off = str(full.render())
        full.value = True
        await pilot.pause()
        on = str(full.render())
        assert "▐ ▌" in off and "▐X▌" in on


def test_counts_read_in_proper_plural():
    assert plural(1, "conflict") == "1 conflict" and plural(2, "conflict") == "2 conflicts"
    assert plural(1_204, "contact") == "1,204 contacts" and plural(0, "error") == "0 errors"
    assert counts_text({"conflicts": 1, "errors": 1, "outlook_created": 1}) == "1 created · 1 conflict · 1 error"
    assert run_summary(RunRecord.from_doc({"status": "ok", "counts": {"conflicts": 1, "errors": 2}})) == \
        "ok: 0 to Outlook, 0 to master, 1 conflict, 2 errors"


async def test_the_status_bar_fits_120_columns(paths, sample_store: Store):
    save_profile(sample_store, Profile(name=PROFILE, email=EMAIL, interval_minutes=30,
                                       server_url="https://exchange-frontend-01.corp.very-long-company-name.example/"
                                                  "EWS/Exchange.asmx"))
    from bcsync_tui.core.sync.engine import new_run

    run = new_run(PROFILE, "incremental", False)
    run.update(status="partial", ended_at=run["started_at"])
    run["counts"].update(outlook_created=1204, master_created=12, conflicts=1, errors=3)
    with sample_store.transaction():
        sample_store.runs.insert(run)
    app = make_app(paths, sample_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        line = app.screen.query_one(StatusLine)
        text = str(line.render())
        assert len(text) <= line.content_size.width
        assert "…" not in text
        assert text.startswith(PROFILE) and text.endswith("10 contacts")
        assert "1 conflict" in text and "3 errors" in text
        # with room to spare, the server shows as its host
        await pilot.resize_terminal(200, 30)
        await pilot.pause()
        assert "exchange-frontend-01.corp.very-long-company-name.example" in str(line.render())
        assert "/EWS/" not in str(line.render())


def test_search_folds_accents_both_ways():
    contacts = [{"no": "CT1", "name": "Søren Kierkegaard", "city": "København"},
                {"no": "CT2", "name": "Soren Plain", "city": "Kobenhavn"},
                {"no": "CT3", "name": "Łukasz Straße", "city": "Đakovo"},
                {"no": "CT4", "name": "Æsa Œuvre", "city": "Ålesund"}]
    view = ContactView(contacts)

    def found(search: str) -> list[str]:
        return [c["no"] for c in view.rows(search)]

    assert found("kobenhavn") == ["CT1", "CT2"] and found("København") == ["CT1", "CT2"]
    assert found("soren") == ["CT1", "CT2"] and found("SØREN") == ["CT1", "CT2"]
    assert found("lukasz strasse") == ["CT3"] and found("dakovo") == ["CT3"]
    assert found("aesa oeuvre alesund") == ["CT4"]
    assert fold("Ørsted Ðuro Þór") == "orsted duro thor"


async def test_search_in_the_list_ignores_accents(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", *"odegard")
        await pilot.pause()
        assert [c["no"] for c in app.screen.query_one(ContactList).rows] == ["CT000002"]  # Bjørn Ødegård


async def test_skipped_items_are_shown_by_name(app):
    item_id = "AAMkADAwATNiZmYAZC1hYjk1LTQ1NjYtODQxMS1iOWJkYjg4NzNmOWMARgAAAAAAFUAAA=="
    record = RunRecord(id="r1", profile=PROFILE, mode="incremental", dry_run=False, started_at="2026-12-01T08:59:00+00:00",
                       ended_at="2026-12-01T09:00:00+00:00", counts=RunCounts(skipped=2),
                       skipped=[ItemNote(item_id, "Reception desk", "no e-mail address; not imported"),
                                ItemNote(item_id, "", "no name; not imported")])
    assert who(item_id, "Reception desk") == "Reception desk" and who("CT000001", "Ann") == "CT000001 Ann"
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(SyncSummaryScreen(record))
        body = await summary_text(pilot)
        lines = body.splitlines()
        assert "  Reception desk: no e-mail address; not imported" in lines  # no id tail before the name
        assert "  …AFUAAA==: no name; not imported" in lines  # only a nameless item falls back to its id


async def test_contacts_kept_outside_the_filter_are_shown_as_such(paths, synced_setup: Store, exchange):
    # Ann already has Matteo (Italy, outside her filter) in her Outlook folder
    outlook = exchange.outlook(EMAIL)
    outlook.ensure_folder("Business Central")
    outlook.create_contact("Business Central", given_name="Matteo", surname="Rossi", display_name="Matteo Rossi",
                           email1="matteo@lago.it")
    app = make_app(paths, synced_setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r", "ctrl+s")
        summary = await summary_text(pilot)
        assert "kept: 1 in your Outlook folder, outside the filter" in summary  # the end-of-sync summary says so
        await pilot.press("escape")
        matteo = synced_setup.find_contact("CT000008")
        assert app.screen.badges.badge(matteo) == KEPT
        assert KEPT_TEXT in app.screen.badges.reason(matteo)
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.pause()
        assert f"1 linked contact is {KEPT_TEXT}" in str(app.screen.query_one("#run-detail").render())
        # the run itself says how many it kept
        assert "kept: 1 in your Outlook folder, outside the filter" in str(app.screen.query_one("#run-detail").render())
    badges = BadgeSource.build(synced_setup, PROFILE)
    assert count_kept(synced_setup.contacts_raw(), badges.contact_filter, badges.links) == 1


async def test_the_contact_sync_setup_offers_linking_outside_the_filter(app, sample_store: Store):
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, ContactSyncSetupScreen)
        box = app.screen.query_one("#link_outside_filter", TickBox)
        assert box.value is True
        box.value = False
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert load_profile(sample_store, PROFILE).link_outside_filter is False


def test_the_plan_summary_counts_conflicts_as_a_noun():
    from bcsync_tui.tui.screens.sync import plan_summary

    plan = [PlanRow("conflict", "master", "CT1", "A"), PlanRow("create", "master", "(new)", "B"),
            PlanRow("create", "outlook", "CT2", "C"), PlanRow("create", "outlook", "CT3", "D")]
    assert plan_summary(plan) == "to Outlook: 2 create · to master: 1 conflict, 1 create"
    assert "2 conflicts" in plan_summary(plan + [PlanRow("conflict", "master", "CT4", "E")])


async def test_after_the_tui_a_status_needs_no_store_load(paths, sample_store: Store):
    """A contact edited in the TUI: when the TUI ends, status.json is brought up to date, so the
    next `bcsync status` (over SSH, say) reads it instead of loading the whole store."""
    from bcsync_tui.core.status_file import read_facts
    from bcsync_tui.tui.app import close_app

    app = make_app(paths, sample_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        sample_store.add_contact({"first_name": "Nina", "surname": "Berg", "email": "nina@example.com"})
        assert read_facts(sample_store.path) is None  # stale now: the store changed
    close_app(app)
    facts = read_facts(sample_store.path)
    assert facts is not None and facts.master == len(Store(sample_store.path).contacts_raw())
