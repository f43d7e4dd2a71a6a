"""Run history (BC's Activity Log, kept per run) and the conflict log, with both values side by side and
a way to put the overruled Outlook value back into the master."""

from __future__ import annotations

from typing import Any, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from ...core.history import list_conflicts, list_runs, reapply_conflict
from ...core.model import FIELD_BY_KEY
from ...core.records import RunRecord
from ...cli.common import plural
from ..badges import KEPT_TEXT, BadgeSource, count_kept, kept_count_text
from ..commands import HELP, QUIT, Command, bindings
from ..widgets.header import Header
from ..widgets.status_line import local_time, run_summary, who
from ..widgets.sync_panel import COUNT_LABELS

T = TypeVar("T")

BACK = Command("back", "escape", "back", "Back", "Back: return to the contact list")
RUNS = Command("runs", "1", "tab('runs')", "Runs", "Runs: past syncs with counts, skipped items and errors")
CONFLICTS = Command("conflicts", "2", "tab('conflicts')", "Conflicts", "Conflicts: fields both sides changed")
REAPPLY = Command("reapply", "a", "reapply", "Re-apply Outlook value", "Re-apply: put the highlighted conflict's "
                  "Outlook value into the master (the next sync sends it to Outlook)")


def caption(key: str) -> str:
    """``E-Mail`` for ``email``: the master's field captions, as on the contact card."""
    field = FIELD_BY_KEY.get(key)
    return field.caption if field else key


class HistoryScreen(Screen[None]):
    AUTO_FOCUS = "#runs"
    COMMAND_LIST = (BACK, RUNS, CONFLICTS, REAPPLY, HELP, QUIT)
    BINDINGS = bindings(BACK, RUNS, CONFLICTS, REAPPLY)

    def __init__(self, select_run: str | None = None):
        super().__init__()
        self.select_run = select_run
        self.runs: list[RunRecord] = []
        self.conflicts: list[dict[str, Any]] = []
        self.kept = 0

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        with TabbedContent(initial="runs-tab"):
            with TabPane("Runs", id="runs-tab"):
                yield DataTable(id="runs", cursor_type="row")
                with VerticalScroll(classes="detail"):
                    yield Static("", id="run-detail", markup=False)
            with TabPane("Conflicts", id="conflicts-tab"):
                yield DataTable(id="conflicts", cursor_type="row")
                with Horizontal(classes="detail", id="conflict-detail"):
                    yield Static("", id="master-value", classes="side", markup=False)
                    yield Static("", id="outlook-value", classes="side", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"run history · profile {self.app.profile_name}"
        self.query_one("#runs", DataTable).add_columns("Started", "Mode", "Status", "Result", "Skipped", "Message")
        self.query_one("#conflicts", DataTable).add_columns("When", "No.", "Name", "Field", "Master (kept)",
                                                             "Outlook (overruled)", "Re-applied")
        self.load()
        self.watch(self.app, "generation", lambda: self.load(), init=False)

    def load(self) -> None:
        store, profile = self.app.store, self.app.profile_name
        self.runs = [RunRecord.from_doc(r) for r in list_runs(store, profile)]
        self.conflicts = list_conflicts(store, profile)
        badges = BadgeSource.build(store, profile)
        self.kept = count_kept(store.contacts_raw(), badges.contact_filter, badges.links)
        runs = self.query_one("#runs", DataTable)
        keep = runs.cursor_row
        runs.clear()
        for r in self.runs:
            runs.add_row(local_time(r.started_at), r.mode + (" (dry)" if r.dry_run else ""),
                         r.status_value, run_summary(r).split(": ", 1)[-1],
                         str(len(r.skipped)), Text(r.message), key=r.id)
        if self.select_run:
            keep = next((i for i, r in enumerate(self.runs) if r.id == self.select_run), keep)
            self.select_run = None
        if self.runs:
            runs.move_cursor(row=min(keep, len(self.runs) - 1))
        self._show_run()
        table = self.query_one("#conflicts", DataTable)
        keep = table.cursor_row
        table.clear()
        for c in self.conflicts:
            table.add_row(local_time(c.get("at")), c.get("contact_no", ""), Text(c.get("contact_name", "")),
                          caption(c.get("field", "")), Text(str(c.get("master_value", ""))),
                          Text(str(c.get("outlook_value", ""))), "yes" if c.get("reapplied") else "", key=c["id"])
        if self.conflicts:
            table.move_cursor(row=min(keep, len(self.conflicts) - 1))
        self._show_conflict()
        self.query_one(TabbedContent).get_tab("conflicts-tab").label = f"Conflicts ({len(self.conflicts)})"

    # --- details --------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#runs")
    def _show_run(self) -> None:
        detail = self.query_one("#run-detail", Static)
        run = self._current(self.runs, "#runs")
        if run is None:
            detail.update("No sync has run for this profile yet.")
            return
        text = Text()
        text.append(f"Run {run.id[:8]} · {run.mode} · {run.status_value} · "
                    f"{local_time(run.started_at)} – {local_time(run.ended_at)} · "
                    f"{plural(run.requests, 'request')}\n", "bold")
        if run.message:
            text.append(f"{run.message}\n")
        counts = run.counts.to_doc()
        text.append("  ".join(f"{label} {counts.get(key, 0):,}" for key, label in COUNT_LABELS) + "\n")
        if run.counts.kept:
            text.append(kept_count_text(run.counts.kept) + "\n")
        if self.kept:
            text.append(f"Now {plural(self.kept, 'linked contact')} {'is' if self.kept == 1 else 'are'} "
                        f"{KEPT_TEXT} (they came from that folder, so the sync keeps them there).\n", "italic")
        for title, rows in (("Errors", run.errors), ("Skipped", run.skipped)):
            if rows:
                text.append(f"\n{title} ({len(rows):,})\n", "bold")
                for row in rows[:500]:
                    text.append(f"  {who(row.ref, row.name)}: {row.reason}\n")
        detail.update(text)

    @on(DataTable.RowHighlighted, "#conflicts")
    def _show_conflict(self) -> None:
        conflict = self._current(self.conflicts, "#conflicts")
        master, outlook = self.query_one("#master-value", Static), self.query_one("#outlook-value", Static)
        if conflict is None:
            master.update("No conflicts: no field was changed on both sides between two syncs.")
            outlook.update("")
            return
        head = f"{conflict.get('contact_no', '')} {conflict.get('contact_name', '')} · {caption(conflict.get('field', ''))}\n"
        master.update(Text(head + "Master (kept):\n", "bold") + Text(str(conflict.get("master_value", ""))))
        note = " — re-applied" if conflict.get("reapplied") else ""
        outlook.update(Text(f"\nOutlook (overruled){note}:\n", "bold") + Text(str(conflict.get("outlook_value", ""))))
        self.refresh_bindings()

    def _current(self, rows: list[T], table_id: str) -> T | None:
        table = self.query_one(table_id, DataTable)
        return rows[table.cursor_row] if rows and 0 <= table.cursor_row < len(rows) else None

    # --- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reapply" and self.is_mounted:
            conflict = self._current(self.conflicts, "#conflicts")
            return (self.query_one(TabbedContent).active == "conflicts-tab" and conflict is not None
                    and not conflict.get("reapplied"))
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"{name}-tab"
        self.query_one(f"#{name}", DataTable).focus()

    def action_reapply(self) -> None:
        from .dialogs import ConfirmDialog

        conflict = self._current(self.conflicts, "#conflicts")
        if conflict is None:
            return
        field, value = caption(conflict.get("field", "")), conflict.get("outlook_value", "")

        def answered(yes: bool | None) -> None:
            if yes:
                reapply_conflict(self.app.store, conflict["id"])
                self.app.poll_store()
                self.notify(f"{conflict.get('contact_no')}: {field} set to the Outlook value", markup=False)

        self.app.push_screen(ConfirmDialog(
            "Re-apply the Outlook value",
            f"Set {field} of {conflict.get('contact_no')} {conflict.get('contact_name')} to the Outlook value "
            f"{value!r}?\n\nThe master's current value is replaced; the next sync sends it to Outlook.",
            yes="Re-apply", no="Keep master"), answered)
