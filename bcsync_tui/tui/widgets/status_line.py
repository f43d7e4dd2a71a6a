"""One line at the bottom of the contact list: profile, server, last sync and the next automatic one."""

from __future__ import annotations

import time
from datetime import datetime

from urllib.parse import urlsplit

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ...core.words import plural
from ...core.profiles import Profile
from ...core.records import RunRecord, RunStatus


def local_time(stamp: str | float | None) -> str:
    """``14:05`` today, ``3 Jan 14:05`` another day."""
    if stamp is None or stamp == "":
        return ""
    try:
        when = datetime.fromtimestamp(stamp) if isinstance(stamp, float) else datetime.fromisoformat(stamp).astimezone()
    except (ValueError, OSError):
        return str(stamp)
    return when.strftime("%H:%M" if when.date() == datetime.now().date() else "%-d %b %H:%M")


def short_ref(ref: str) -> str:
    """A contact No. as it is; an Exchange item id (long, and alike in its first ~40 characters
    within one mailbox) by its distinguishing tail."""
    return ref if len(ref) <= 20 else "…" + ref[-8:]


def contact_number(ref: str) -> str:
    """The No. column of a run's row: the contact No., blank for an Outlook item's id."""
    return ref if len(ref) <= 20 else ""


def who(ref: str, name: str) -> str:
    """A run's row as people read it: ``CT000123 Ann Berg``; an Outlook item (skipped, never in
    the master) by its name alone, not by an id tail; the tail only when it has no name at all."""
    return " ".join(p for p in (contact_number(ref), name) if p) or short_ref(ref)


def server_label(url: str) -> str:
    """The server as the status line names it: its host (the EWS path is the same everywhere)."""
    if not url:
        return "autodiscover"
    host = urlsplit(url).netloc
    return host or url


def run_summary(run: RunRecord) -> str:
    """``ok: 3 to Outlook, 1 to master`` — the figures a user looks for first."""
    c = run.counts
    outward = c.outlook_created + c.outlook_updated + c.outlook_deleted + c.outlook_recreated
    parts = [f"{outward} to Outlook", f"{c.master_created + c.master_updated} to master"]
    for n, noun in ((c.conflicts, "conflict"), (c.errors, "error")):
        if n:
            parts.append(plural(n, noun))
    return f"{run.status_value}: {', '.join(parts)}"


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    profile: reactive[Profile | None] = reactive(None)
    last_run: reactive[RunRecord | None] = reactive(None)
    next_auto_sync: reactive[float | None] = reactive(None)
    shown: reactive[tuple[int, int]] = reactive((0, 0))
    notice: reactive[str] = reactive("")

    def parts(self) -> list[tuple[int, str, str]]:
        """(priority, text, style) of each piece; the lowest priorities go first when space runs out."""
        p = self.profile
        if p is None:
            return []
        out: list[tuple[int, str, str]] = [(9, p.name, "bold")]
        if not p.configured:
            out.append((8, " · not set up (x)", "italic"))
        else:
            out.append((2, f" · {'Microsoft 365' if p.transport == 'graph' else server_label(p.server_url)}", ""))
        run = self.last_run
        if run:
            style = ("yellow" if run.unknown_status else "green" if run.status is RunStatus.OK
                     else "red" if run.status is RunStatus.FAILED else "yellow")
            out.append((7, f" · last sync {local_time(run.ended_at or run.started_at)}", ""))
            out.append((6, f" {run_summary(run)}", style))
        elif p.configured:
            out.append((6, " · never synced", ""))
        if p.configured:
            if self.next_auto_sync is not None:
                due = "due" if self.next_auto_sync <= time.time() else local_time(self.next_auto_sync)
                out.append((3, f" · auto every {p.interval_minutes} min, next {due}", ""))
            elif not p.enabled:
                out.append((4, " · sync disabled", ""))
        shown, total = self.shown
        out.append((5, f" · {shown:,} of {total:,} contacts" if shown != total else f" · {total:,} contacts", ""))
        if self.notice:
            out.append((9, f" · {self.notice}", "bold red"))
        return out

    def render(self) -> Text:
        """Everything that fits the width, whole: the least important pieces are left out first
        (the automatic sync, then the server), rather than the end of the line cut off."""
        parts = self.parts()
        width = self.content_size.width or 10_000
        while len(parts) > 1 and sum(cell_len(t) for _, t, _ in parts) > width:
            parts.remove(min(parts, key=lambda part: part[0]))
        text = Text(no_wrap=True, overflow="ellipsis")
        for _, piece, style in parts:
            text.append(piece, style)
        return text
