"""The progress of the running sync: phase, a progress bar, counts and throttle waits.

Bound to the app's ``sync_progress``; it never takes focus, so the list keeps the keyboard.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

from ...core.sync.events import Progress

COUNT_LABELS = (
    ("outlook_created", "created"), ("outlook_updated", "updated"), ("outlook_deleted", "removed"),
    ("outlook_recreated", "recreated"), ("master_created", "new in master"), ("master_updated", "master updated"),
    ("unlinked", "unlinked"), ("conflicts", "conflicts"), ("skipped", "skipped"), ("errors", "errors"),
)


def counts_text(counts: dict[str, int]) -> str:
    shown = [f"{counts[k]:,} {label}" for k, label in COUNT_LABELS if counts.get(k)]
    return " · ".join(shown) if shown else "no changes yet"


class SyncPanel(Vertical):
    DEFAULT_CSS = """
    SyncPanel {
        height: auto; display: none; border-top: hkey $accent; background: $surface; padding: 0 1;
        &.-running { display: block; }
        Horizontal { height: 1; }
        #sync-phase { width: 1fr; text-style: bold; }
        #sync-hint { color: $text-muted; }
        ProgressBar { width: 1fr; }
        #sync-counts, #sync-wait { width: 1fr; }
        #sync-wait { color: $warning; }
    }
    """

    #: (progress, monotonic time it arrived)
    progress: reactive[tuple[Progress, float] | None] = reactive(None)
    running: reactive[bool] = reactive(False)
    kind: reactive[str] = reactive("")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("", id="sync-phase", markup=False)
            yield Label("Esc cancel", id="sync-hint")
        yield ProgressBar(total=None, show_eta=False, id="sync-bar")
        yield Label("", id="sync-counts", markup=False)
        yield Label("", id="sync-wait", markup=False)

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick_wait)

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "-running")
        if running:
            self.query_one("#sync-bar", ProgressBar).update(total=None, progress=0)
            self.query_one("#sync-counts", Label).update("")
            self.query_one("#sync-wait", Label).update("")
            self.query_one("#sync-phase", Label).update(f"{self.kind.capitalize()}: starting")

    def watch_progress(self, value: tuple[Progress, float] | None) -> None:
        if value is None or not self.is_mounted:
            return
        progress, _ = value
        phase = f"{self.kind.capitalize()}: {progress.phase}"
        if progress.total:
            phase += f" {progress.done:,}/{progress.total:,}"
        self.query_one("#sync-phase", Label).update(phase)
        bar = self.query_one("#sync-bar", ProgressBar)
        bar.update(total=progress.total or None, progress=progress.done)
        self.query_one("#sync-counts", Label).update(counts_text(progress.counts))
        self._tick_wait()

    def _tick_wait(self) -> None:
        """Count a throttle wait down between reports."""
        if self.progress is None:
            return
        progress, since = self.progress
        left = progress.throttle_wait - (time.monotonic() - since)
        label = self.query_one("#sync-wait", Label)
        if progress.throttle_wait and left > 0:
            label.update(Text(f"Exchange is throttling us, resuming in {left:.0f} s"))
        else:
            label.update(Text(progress.message if not progress.throttle_wait else ""))
