"""Before a manual sync: the filter (editable, as BC offers it) and a dry-run preview of the plan.
After it: a summary of what happened."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Button, Checkbox, DataTable, Label, Static
from textual.worker import WorkerFailed

from ...cli.common import plural
from ...core.filters import ContactFilter
from ...core.records import PlanRow, RunRecord, RunStatus
from ..badges import kept_count_text
from ..widgets.tickbox import TickBox
from ..widgets.filter_form import FilterForm, filter_error_message
from ..widgets.status_line import contact_number, local_time, who
from ..widgets.sync_panel import COUNT_LABELS
from .filter_editor import save_filter

#: the preview table shows this many planned actions (the summary counts all of them)
PLAN_ROWS = 500
SIDES = {"outlook": "to Outlook", "master": "to master", "link": "links"}
#: plan actions that read as nouns ("2 conflicts"); the others are verbs ("2 create")
PLAN_NOUNS = {"conflict"}


@dataclass(frozen=True)
class SyncRequest:
    mode: str
    force: bool = False


def plan_summary(plan: list[PlanRow]) -> str:
    """``to Outlook: 120 create, 3 update · to master: 2 create`` (or that nothing would change)."""
    by_side: dict[str, Counter[str]] = {}
    for row in plan:
        by_side.setdefault(row.side, Counter())[row.action] += 1
    if not by_side:
        return "Nothing to do: both sides are in step."
    parts = []
    for side in ("outlook", "master", "link"):
        if side in by_side:
            actions = ", ".join(plural(n, action) if action in PLAN_NOUNS else f"{n:,} {action}"
                                for action, n in by_side[side].most_common())
            parts.append(f"{SIDES[side]}: {actions}")
    return " · ".join(parts)


class SyncDialog(ModalScreen[SyncRequest | None]):
    AUTO_FOCUS = "#run"
    BINDINGS = [
        Binding("ctrl+s", "run", "Sync", id="sync-run"),
        Binding("ctrl+r", "preview", "Preview (dry run)", id="sync-preview"),
        Binding("escape", "cancel", "Cancel", id="sync-cancel"),
    ]

    def __init__(self, mode: str = "incremental"):
        super().__init__(classes="dialog")
        self.mode = mode

    def compose(self) -> ComposeResult:
        profile = self.app.profile
        with Vertical(classes="dialog-box sync-dialog"):
            yield Label(f"Sync contacts with Outlook · {profile.name} · folder '{profile.folder_name}'",
                        classes="dialog-title", markup=False)
            with VerticalScroll(id="sync-body"):
                yield TickBox("Full sync: compare every contact on both sides", self.mode == "full", id="full",
                               compact=True)
                yield Label("Sync filter", classes="card-section")
                yield FilterForm(profile.filter, preview=False, id="sync-filter")
                yield TickBox("Override the safety guards (force)", False, id="force", compact=True)
                yield Static("Preview shows what this sync would do, without writing anything.",
                             id="plan-summary", markup=False)
                yield DataTable(id="plan", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sync", variant="primary", id="run", compact=True)
                yield Button("Preview (dry run)", id="preview", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#plan", DataTable)
        table.add_columns("Direction", "Action", "No.", "Name", "Detail")
        table.display = False

    @property
    def chosen_mode(self) -> str:
        return "full" if self.query_one("#full", Checkbox).value else "incremental"

    def _save_filter(self) -> bool:
        """The filter as edited here applies to this sync and the next ones (as in BC)."""
        form = self.query_one(FilterForm)
        errors = form.errors()
        if errors:
            key = next(iter(errors))
            self.query_one(f"#expr-{key}").focus()
            self.notify(f"Fix the filter first: {filter_error_message(errors[key])}", severity="error", markup=False)
            return False
        if ContactFilter(form.expressions()).to_dict() != ContactFilter(self.app.profile.filter).to_dict():
            save_filter(self.app, form.expressions())
        return True

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        if self._save_filter():
            self.dismiss(SyncRequest(self.chosen_mode, self.query_one("#force", Checkbox).value))

    @on(Button.Pressed, "#preview")
    def action_preview(self) -> None:
        if self._save_filter():
            self._preview(self.chosen_mode, self.query_one("#force", Checkbox).value)

    @work(exclusive=True, exit_on_error=False, group="preview")
    async def _preview(self, mode: str, force: bool) -> None:
        summary = self.query_one("#plan-summary", Static)
        worker = self.app.start_sync(mode, dry_run=True, force=force)
        if worker is None:
            return
        summary.update(Text("Reading both sides to plan the sync…", "italic"))
        summary.scroll_visible()  # on a short terminal it sits below the filter
        try:
            record = await worker.wait()
        except WorkerFailed:
            summary.update(Text("The preview could not run (see the message).", "bold"))
            return
        if record is None:
            return
        self.show_plan(record)

    def show_plan(self, record: RunRecord) -> None:
        summary = self.query_one("#plan-summary", Static)
        plan = record.plan
        ok = record.status is RunStatus.OK and not record.unknown_status
        text = Text()
        if not ok:
            text.append(f"This sync would be {record.status_words}: ", "bold red")
            text.append(f"{record.message}\n")
        if plan or ok:
            text.append(plan_summary(plan), "bold")
        else:  # it stopped before planning: "nothing to do" would be a false all-clear
            text.append("No plan: the preview stopped before it could plan.", "bold")
        skipped = record.skipped
        if skipped:
            text.append(f"\n{plural(len(skipped), 'Outlook contact')} would be skipped (see the table).")
        summary.update(text)
        table = self.query_one("#plan", DataTable)
        table.clear()
        for row in plan[:PLAN_ROWS]:
            table.add_row(*(Text(v) for v in (SIDES.get(row.side, row.side), row.action, contact_number(row.ref),
                                              row.name, row.detail)))
        for skip in skipped[: max(0, PLAN_ROWS - len(plan))]:
            table.add_row(*(Text(v) for v in ("from Outlook", "skip", contact_number(skip.ref), skip.name,
                                              skip.reason)))
        if len(plan) > PLAN_ROWS:
            table.add_row(Text(f"… {len(plan) - PLAN_ROWS:,} more", "italic"), "", "", "", "")
        table.display = bool(plan or skipped)
        # Bring the result into view (on a short terminal it sits below the filter), once the
        # table has its size.
        self.set_timer(0.05, lambda: self.query_one("#sync-body").scroll_to_widget(summary, top=True, animate=False))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SyncSummaryScreen(ModalScreen[None]):
    """What the sync did: counts, the message, skipped items with reasons and errors."""

    AUTO_FOCUS = "#close"
    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="summary-close"),
        Binding("h", "history", "History", id="summary-history"),
    ]

    def __init__(self, record: RunRecord):
        super().__init__(classes="dialog")
        self.record = record

    def compose(self) -> ComposeResult:
        r = self.record
        with Vertical(classes=f"dialog-box summary -{r.status_value}"):
            yield Label(f"{r.mode.capitalize()} sync {r.status_words} · "
                        f"{local_time(r.ended_at)}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self._body(), markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", variant="primary", id="close", compact=True)
                yield Button("History", id="history", compact=True)
        yield Footer(compact=True)

    def _body(self) -> Text:
        r = self.record
        text = Text()
        if r.message:
            text.append(f"{r.message}\n\n", "bold")
        counts = r.counts.to_doc()
        for key, label in COUNT_LABELS:
            text.append(f"{label:>15}  {counts.get(key, 0):,}\n")
        if r.counts.kept:
            text.append(f"\n{kept_count_text(r.counts.kept)} (they came from that folder, so the sync keeps them "
                        "there)\n")
        if r.throttle_waits:
            text.append(f"\nExchange throttled the sync {plural(r.throttle_waits, 'time')}, "
                        f"{r.throttle_seconds:.0f} s in all.\n")
        for title, rows in (("Errors", r.errors), ("Skipped", r.skipped)):
            if rows:
                text.append(f"\n{title} ({len(rows):,})\n", "bold")
                for row in rows[:100]:
                    text.append(f"  {who(row.ref, row.name)}: {row.reason}\n")
                if len(rows) > 100:
                    text.append(f"  … {len(rows) - 100:,} more in the run history (h)\n")
        for warning in r.warnings[:20]:
            text.append(f"\n{warning}")
        return text

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#history")
    def action_history(self) -> None:
        from .history import HistoryScreen

        self.dismiss(None)
        self.app.push_screen(HistoryScreen(select_run=self.record.id))
