"""Run records as text: the end-of-sync summary, ``bcsync log`` rows and ``--json`` run summaries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from ..core.records import ItemNote, PlanRow, RunCounts, RunRecord, RunStatus
from ..core.words import kept_count_text
from .common import plural
from .output import local_time, one_line, say, table

MAX_NAMES_PER_REASON = 5
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class NotSynced:
    """A profile the CLI could not sync at all (no run record exists): ``locked`` (another sync holds
    the lock) or ``error`` (an unexpected error). Its ``--json`` entry has only these four keys."""

    profile: str
    status: str
    exit_code: int
    message: str

    def to_doc(self) -> dict[str, Any]:
        return {"profile": self.profile, "status": self.status, "exit_code": self.exit_code, "message": self.message}


def counts_line(c: RunCounts) -> str:
    return (f"Outlook {c.outlook_created} created, {c.outlook_updated} updated, "
            f"{c.outlook_deleted} deleted, {c.outlook_recreated} recreated; "
            f"master {c.master_created} created, {c.master_updated} updated; "
            f"{c.unlinked} unlinked, {c.relinked} relinked, {plural(c.conflicts, 'conflict')}, "
            f"{c.skipped} skipped, {plural(c.errors, 'error')}")


def duration(run: RunRecord) -> float | None:
    try:
        start = datetime.fromisoformat(run.started_at)
        end = datetime.fromisoformat(run.ended_at or "")
    except (TypeError, ValueError):
        return None
    return max(0.0, (end - start).total_seconds())


def age_seconds(run: RunRecord, now: datetime | None = None) -> float | None:
    stamp = run.ended_at or run.started_at
    if not stamp:
        return None
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - when).total_seconds()


def run_summary(run: RunRecord, errors: int = 5) -> dict[str, Any]:
    """The short form of a run record used by ``status --json`` and ``log --json``."""
    return {"id": run.id, "profile": run.profile, "mode": run.mode, "dry_run": run.dry_run,
            "started_at": run.started_at, "ended_at": run.ended_at, "status": run.status_value,
            "exit_code": run.exit_code, "message": run.message, "counts": run.counts.to_doc(),
            "first_errors": [e.to_doc("message") for e in run.errors[:errors]]}


def print_not_synced(run: NotSynced, out: IO[str] | None = None) -> None:
    say(f"{run.profile}: not synced — {run.message}", out)


def print_run(run: RunRecord, out: IO[str] | None = None, *, show_plan: bool = True) -> None:
    """What a person reads after a sync (or in `bcsync log --run ID`)."""
    status = run.status_value
    took = duration(run)
    when = local_time(run.started_at)
    head = f"{run.profile}: {status.upper() if status != 'ok' else 'ok'} — {run.mode} sync"
    head += " (dry run)" if run.dry_run else ""
    head += f", {when}" if when else ""
    head += f", {took:.1f} s" if took is not None else ""
    head += f", {plural(run.requests, 'request')}" if run.requests else ""
    say(head, out)
    if run.message:
        say(f"  {run.message}", out)
    if run.dry_run and show_plan:
        if run.plan or run.status is RunStatus.OK:
            print_plan(run.plan, out)
        else:  # it stopped before planning: "nothing to do" would be a false all-clear
            say("  No plan: the dry run stopped before it could plan (see the message above).", out)
    c = run.counts
    say(f"  Outlook: {c.outlook_created} created, {c.outlook_updated} updated, "
        f"{c.outlook_deleted} deleted, {c.outlook_recreated} recreated", out)
    say(f"  Master:  {c.master_created} created, {c.master_updated} updated", out)
    if c.unlinked:
        say(f"  Unlinked: {c.unlinked}", out)
    if c.relinked:
        say(f"  Relinked: {c.relinked} (their Outlook items were replaced or got new ids; "
            "each found again by the contact's stamp)", out)
    if c.kept:
        say(f"  {kept_count_text(c.kept)}", out)
    if c.conflicts:
        say(f"  Conflicts: {c.conflicts} (the master's value was kept; the Outlook values are in "
            f"`bcsync log --conflicts`)", out)
    print_skipped(run.skipped, out)
    if run.errors:
        say(f"  Errors: {len(run.errors)} (retried at the next sync)", out)
        for e in run.errors[:MAX_ERRORS_SHOWN]:
            who = " ".join(x for x in (e.ref, e.name) if x)
            say(f"    {one_line(who)}: {one_line(e.reason)}", out)
        if len(run.errors) > MAX_ERRORS_SHOWN:
            say(f"    … {len(run.errors) - MAX_ERRORS_SHOWN} more: bcsync log --run {run.id[:8]}", out)
    for w in run.warnings:
        say(f"  Warning: {one_line(w)}", out)
    if run.throttle_waits:
        say(f"  The server throttled the sync {plural(run.throttle_waits, 'time')}, "
            f"{run.throttle_seconds:.0f} s in all.", out)
    if run.token_resets:
        say("  The server had forgotten the sync state, so the folder was read in full.", out)


def print_skipped(skipped: list[ItemNote], out: IO[str] | None = None) -> None:
    if not skipped:
        return
    groups: dict[str, list[str]] = defaultdict(list)
    for s in skipped:
        groups[s.reason or "no reason given"].append(one_line(s.name or s.ref or "?"))
    say(f"  Skipped: {len(skipped)}", out)
    for reason, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(names[:MAX_NAMES_PER_REASON])
        more = f" and {len(names) - MAX_NAMES_PER_REASON} more" if len(names) > MAX_NAMES_PER_REASON else ""
        say(f"    {reason} ({len(names)}): {shown}{more}", out)


def print_plan(plan: list[PlanRow], out: IO[str] | None = None) -> None:
    if not plan:
        say("  Plan: nothing to do.", out)
        return
    say(f"  Plan ({plural(len(plan), 'action')}):", out)
    table(["Action", "Side", "Ref", "Name", "Detail"], [[p.action, p.side, p.ref, p.name, p.detail] for p in plan], out)


def log_rows(runs: list[RunRecord], with_profile: bool) -> tuple[list[str], list[list[str]]]:
    headers = ["Started"] + (["Profile"] if with_profile else []) + [
        "Mode", "Result", "Outlook c/u/d/r", "Master c/u", "Confl.", "Err.", "Kept", "Id"]
    rows = []
    for r in runs:
        c = r.counts
        rows.append([local_time(r.started_at)] + ([r.profile] if with_profile else []) + [
            r.mode, r.status_value,
            f"{c.outlook_created}/{c.outlook_updated}/{c.outlook_deleted}/{c.outlook_recreated}",
            f"{c.master_created}/{c.master_updated}", str(c.conflicts), str(c.errors), str(c.kept), r.id[:8]])
    return headers, rows
