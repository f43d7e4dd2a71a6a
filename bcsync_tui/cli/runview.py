"""Run records as text: the end-of-sync summary, ``bcsync log`` rows and ``--json`` run summaries."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import IO, Any

from ..tui.badges import kept_count_text
from .common import plural
from .output import local_time, one_line, say, table

MAX_NAMES_PER_REASON = 5
MAX_ERRORS_SHOWN = 20


def _n(counts: dict[str, int], key: str) -> int:
    return int(counts.get(key, 0) or 0)


def counts_line(counts: dict[str, Any]) -> str:
    return (f"Outlook {_n(counts, 'outlook_created')} created, {_n(counts, 'outlook_updated')} updated, "
            f"{_n(counts, 'outlook_deleted')} deleted, {_n(counts, 'outlook_recreated')} recreated; "
            f"master {_n(counts, 'master_created')} created, {_n(counts, 'master_updated')} updated; "
            f"{_n(counts, 'unlinked')} unlinked, {_n(counts, 'relinked')} relinked, {plural(_n(counts, 'conflicts'), 'conflict')}, "
            f"{_n(counts, 'skipped')} skipped, {plural(_n(counts, 'errors'), 'error')}")


def duration(run: dict[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(run["started_at"])
        end = datetime.fromisoformat(run["ended_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, (end - start).total_seconds())


def age_seconds(run: dict[str, Any], now: datetime | None = None) -> float | None:
    stamp = run.get("ended_at") or run.get("started_at")
    if not stamp:
        return None
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - when).total_seconds()


def run_summary(run: dict[str, Any], errors: int = 5) -> dict[str, Any]:
    """The short form of a run record used by ``status --json`` and ``log --json``."""
    return {"id": run.get("id"), "profile": run.get("profile"), "mode": run.get("mode"),
            "dry_run": bool(run.get("dry_run")), "started_at": run.get("started_at"), "ended_at": run.get("ended_at"),
            "status": run.get("status"), "exit_code": run.get("exit_code"), "message": run.get("message", ""),
            "counts": dict(run.get("counts") or {}), "first_errors": list(run.get("errors") or [])[:errors]}


def print_run(run: dict[str, Any], out: IO[str] | None = None, *, show_plan: bool = True) -> None:
    """What a person reads after a sync (or in `bcsync log --run ID`)."""
    name = run.get("profile", "")
    status = run.get("status", "")
    if status in ("locked", "error"):
        say(f"{name}: not synced — {run.get('message', '')}", out)
        return
    took = duration(run)
    when = local_time(run.get("started_at"))
    head = f"{name}: {status.upper() if status != 'ok' else 'ok'} — {run.get('mode', '')} sync"
    head += " (dry run)" if run.get("dry_run") else ""
    head += f", {when}" if when else ""
    head += f", {took:.1f} s" if took is not None else ""
    head += f", {plural(run.get('requests', 0), 'request')}" if run.get("requests") else ""
    say(head, out)
    if run.get("message"):
        say(f"  {run['message']}", out)
    if run.get("dry_run") and show_plan:
        if run.get("plan") or status == "ok":
            print_plan(run.get("plan") or [], out)
        else:  # it stopped before planning: "nothing to do" would be a false all-clear
            say("  No plan: the dry run stopped before it could plan (see the message above).", out)
    c = run.get("counts") or {}
    say(f"  Outlook: {_n(c, 'outlook_created')} created, {_n(c, 'outlook_updated')} updated, "
        f"{_n(c, 'outlook_deleted')} deleted, {_n(c, 'outlook_recreated')} recreated", out)
    say(f"  Master:  {_n(c, 'master_created')} created, {_n(c, 'master_updated')} updated", out)
    if _n(c, "unlinked"):
        say(f"  Unlinked: {_n(c, 'unlinked')}", out)
    if _n(c, "relinked"):
        say(f"  Relinked: {_n(c, 'relinked')} (their Outlook items were replaced or got new ids; "
            "each found again by the contact's stamp)", out)
    if _n(c, "kept"):
        say(f"  {kept_count_text(_n(c, 'kept'))}", out)
    if _n(c, "conflicts"):
        say(f"  Conflicts: {_n(c, 'conflicts')} (the master's value was kept; the Outlook values are in "
            f"`bcsync log --conflicts`)", out)
    print_skipped(run.get("skipped") or [], out)
    errors = run.get("errors") or []
    if errors:
        say(f"  Errors: {len(errors)} (retried at the next sync)", out)
        for e in errors[:MAX_ERRORS_SHOWN]:
            who = " ".join(x for x in (e.get("ref", ""), e.get("name", "")) if x)
            say(f"    {one_line(who)}: {one_line(e.get('message', ''))}", out)
        if len(errors) > MAX_ERRORS_SHOWN:
            say(f"    … {len(errors) - MAX_ERRORS_SHOWN} more: bcsync log --run {str(run.get('id', ''))[:8]}", out)
    for w in run.get("warnings") or []:
        say(f"  Warning: {one_line(w)}", out)
    if run.get("throttle_waits"):
        say(f"  The server throttled the sync {plural(run['throttle_waits'], 'time')}, "
            f"{float(run.get('throttle_seconds') or 0):.0f} s in all.", out)
    if run.get("token_resets"):
        say("  The server had forgotten the sync state, so the folder was read in full.", out)


def print_skipped(skipped: list[dict[str, Any]], out: IO[str] | None = None) -> None:
    if not skipped:
        return
    groups: dict[str, list[str]] = defaultdict(list)
    for s in skipped:
        groups[s.get("reason") or "no reason given"].append(one_line(s.get("name") or s.get("ref") or "?"))
    say(f"  Skipped: {len(skipped)}", out)
    for reason, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(names[:MAX_NAMES_PER_REASON])
        more = f" and {len(names) - MAX_NAMES_PER_REASON} more" if len(names) > MAX_NAMES_PER_REASON else ""
        say(f"    {reason} ({len(names)}): {shown}{more}", out)


def print_plan(plan: list[dict[str, Any]], out: IO[str] | None = None) -> None:
    if not plan:
        say("  Plan: nothing to do.", out)
        return
    say(f"  Plan ({plural(len(plan), 'action')}):", out)
    table(["Action", "Side", "Ref", "Name", "Detail"],
          [[p.get("action", ""), p.get("side", ""), p.get("ref", ""), p.get("name", ""), p.get("detail", "")]
           for p in plan], out)


def log_rows(runs: list[dict[str, Any]], with_profile: bool) -> tuple[list[str], list[list[str]]]:
    headers = ["Started"] + (["Profile"] if with_profile else []) + [
        "Mode", "Result", "Outlook c/u/d/r", "Master c/u", "Confl.", "Err.", "Kept", "Id"]
    rows = []
    for r in runs:
        c = r.get("counts") or {}
        rows.append([local_time(r.get("started_at"))] + ([r.get("profile", "")] if with_profile else []) + [
            r.get("mode", ""), r.get("status", ""),
            "/".join(str(_n(c, k)) for k in ("outlook_created", "outlook_updated", "outlook_deleted", "outlook_recreated")),
            f"{_n(c, 'master_created')}/{_n(c, 'master_updated')}", str(_n(c, "conflicts")), str(_n(c, "errors")),
            str(_n(c, "kept")),
            str(r.get("id", ""))[:8]])
    return headers, rows
