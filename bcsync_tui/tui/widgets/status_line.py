"""One line at the bottom of the contact list: profile, server, last sync and the next automatic one."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ...core.profiles import Profile


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


def run_summary(run: dict[str, Any]) -> str:
    """``ok: 3 to Outlook, 1 to master`` — the figures a user looks for first."""
    counts = run.get("counts", {})
    outward = sum(counts.get(k, 0) for k in ("outlook_created", "outlook_updated", "outlook_deleted",
                                             "outlook_recreated"))
    inward = counts.get("master_created", 0) + counts.get("master_updated", 0)
    parts = [f"{outward} to Outlook", f"{inward} to master"]
    for key, label in (("conflicts", "conflicts"), ("errors", "errors")):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    return f"{run.get('status', '?')}: {', '.join(parts)}"


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    profile: reactive[Profile | None] = reactive(None)
    last_run: reactive[dict[str, Any] | None] = reactive(None)
    next_auto_sync: reactive[float | None] = reactive(None)
    shown: reactive[tuple[int, int]] = reactive((0, 0))
    notice: reactive[str] = reactive("")

    def render(self) -> Text:
        p = self.profile
        text = Text(no_wrap=True, overflow="ellipsis")
        if p is None:
            return text
        text.append(p.name, "bold")
        if not p.configured:
            text.append(" · not set up (x)", "italic")
        else:
            text.append(f" · {p.where}")
        run = self.last_run
        if run:
            style = "green" if run.get("status") == "ok" else "red" if run.get("status") == "failed" else "yellow"
            text.append(" · last sync ")
            text.append(local_time(run.get("ended_at") or run.get("started_at")))
            text.append(f" {run_summary(run)}", style)
        elif p.configured:
            text.append(" · never synced")
        if p.configured:
            if self.next_auto_sync is not None:
                due = "due" if self.next_auto_sync <= time.time() else local_time(self.next_auto_sync)
                text.append(f" · auto every {p.interval_minutes} min, next {due}")
            elif not p.enabled:
                text.append(" · sync disabled")
        shown, total = self.shown
        text.append(f" · {shown:,} of {total:,} contacts" if shown != total else f" · {total:,} contacts")
        if self.notice:
            text.append(f" · {self.notice}", "bold red")
        return text
