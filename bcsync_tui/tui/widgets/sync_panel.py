"""The progress of the running sync: its mode, each phase with done/total, an overall bar, counts
and throttle waits.

Bound to the app's ``sync_progress``; it never takes focus, so the list keeps the keyboard. The
engine reports a phase when it starts (and its batches as they go); a phase that gives way to the
next one is complete, so the panel shows it as done/total = total/total.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive

from ...core.sync.events import Progress
from ...core.words import plural

if TYPE_CHECKING:  # imported when a sync first starts (``SyncPanel._parts``)
    from textual.widgets import Label, ProgressBar

COUNT_LABELS = (
    ("outlook_created", "created"), ("outlook_updated", "updated"), ("outlook_deleted", "removed"),
    ("outlook_recreated", "recreated"), ("master_created", "new in master"), ("master_updated", "master updated"),
    ("unlinked", "unlinked"), ("relinked", "relinked"), ("conflicts", "conflicts"), ("skipped", "skipped"), ("errors", "errors"),
)


#: the counts that are nouns, by their singular (the others read as verbs: "1 created", "2 created")
COUNT_NOUNS = {"conflicts": "conflict", "errors": "error"}


def count_text(key: str, n: int, label: str) -> str:
    """``1 conflict``, ``2 conflicts``, ``3 created``."""
    return plural(n, COUNT_NOUNS[key], label) if key in COUNT_NOUNS else f"{n:,} {label}"


def counts_text(counts: dict[str, int]) -> str:
    shown = [count_text(k, counts[k], label) for k, label in COUNT_LABELS if counts.get(k)]
    return " · ".join(shown) if shown else "no changes yet"


#: the engine's phases in the order a run goes through them (for the overall bar)
PHASES = ("starting", "connecting", "reading Outlook", "planning", "writing master", "updating Outlook",
          "creating in Outlook", "removing from Outlook", "confirming")


@dataclass
class PhaseProgress:
    """What the panel knows of each phase of the running sync, in the order they came."""

    phases: dict[str, tuple[int, int]] = field(default_factory=dict)
    current: str = ""

    def add(self, progress: Progress) -> None:
        if progress.phase != self.current and self.current in self.phases:
            _, total = self.phases[self.current]
            self.phases[self.current] = (total, total)  # it gave way to the next one: complete
        self.current = progress.phase
        done, total = self.phases.get(progress.phase, (0, 0))
        self.phases[progress.phase] = (max(done, progress.done), max(total, progress.total))

    def fraction(self) -> float:
        """How far the run is, 0..1: the phases behind it, plus the share done of the current one."""
        if self.current not in PHASES:
            return 0.0
        done, total = self.phases[self.current]
        part = done / total if total else 0.0
        return min(1.0, (PHASES.index(self.current) + part) / len(PHASES))

    def line(self) -> str:
        """``updating Outlook 120/250 · done: writing master 7/7, reading Outlook``."""
        if not self.current:
            return "starting"
        done, total = self.phases[self.current]
        now = f"{self.current} {done:,}/{total:,}" if total else self.current
        behind = [f"{name} {d:,}/{t:,}" if t else name for name, (d, t) in self.phases.items()
                  if name != self.current and name != "starting"]
        return now + (f" · done: {', '.join(reversed(behind))}" if behind else "")


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

    def __init__(self, *children, **kwargs) -> None:
        super().__init__(*children, **kwargs)
        self.phases = PhaseProgress()
        self._shown: dict[str, str] = {}
        self._phase: Label | None = None  # its parts, made when a sync first starts (``_parts``)

    def _parts(self) -> tuple[Label, ProgressBar]:
        """The phase line and the bar, with the counts and wait lines below them. Made when a sync
        first starts: hidden until then, they need not cost the first screen anything (they were a
        third of its widgets)."""
        if self._phase is None:
            from textual.widgets import Label, ProgressBar

            self._phase = Label("", id="sync-phase", markup=False)
            self._bar = ProgressBar(total=100, show_eta=False, id="sync-bar")
            self._lines = {"counts": Label("", id="sync-counts", markup=False),
                           "wait": Label("", id="sync-wait", markup=False)}
            self.mount(Horizontal(self._phase, Label("Esc cancel", id="sync-hint")), self._bar, *self._lines.values())
            self.set_interval(0.5, self._tick_wait)
        return self._phase, self._bar

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "-running")
        if running:
            phase, bar = self._parts()
            self.phases = PhaseProgress()
            bar.update(total=100, progress=0)
            self._show("counts", "")
            self._show("wait", "")
            phase.update(f"{self.kind.capitalize()}: starting")

    def watch_kind(self, kind: str) -> None:
        if self.running and self._phase is not None:
            self._phase.update(f"{kind.capitalize()}: {self.phases.line()}")

    def watch_progress(self, value: tuple[Progress, float] | None) -> None:
        if value is None or self._phase is None:
            return
        progress, _ = value
        self.phases.add(progress)
        # Its size is its row's (height 1, width 1fr): no layout pass for a new text.
        self._phase.update(f"{self.kind.capitalize()}: {self.phases.line()}", layout=False)
        self._bar.update(total=100, progress=round(100 * self.phases.fraction()))
        self._show("counts", counts_text(progress.counts))
        self._tick_wait()

    def _show(self, line: str, text: str) -> None:
        """Put ``text`` in a line unless it shows it already (the wait line is ticked twice a
        second). A text that takes one row where the last did too is drawn without laying the
        screen out again: the counts change with every report, and a layout redraws the list."""
        shown = self._shown.get(line)
        if shown != text:
            self._shown[line] = text
            label = self._lines[line]
            width = label.content_size.width
            one_row = shown is not None and 0 < cell_len(shown) <= width and 0 < cell_len(text) <= width
            label.update(Text(text), layout=not one_row)

    def _tick_wait(self) -> None:
        """Count a throttle wait down between reports."""
        if self.progress is None:
            return
        progress, since = self.progress
        left = progress.throttle_wait - (time.monotonic() - since)
        if progress.throttle_wait and left > 0:
            self._show("wait", f"Exchange is throttling us, resuming in {left:.0f} s")
        else:
            self._show("wait", progress.message if not progress.throttle_wait else "")
