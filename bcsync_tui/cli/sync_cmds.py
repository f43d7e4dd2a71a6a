"""``bcsync sync``, ``bcsync status`` and ``bcsync log``: run the sync headless and check on it.

``status`` and ``log`` read only the store (no exchangelib, no textual), so they are quick over SSH
and fit monitoring: ``bcsync status --max-age 2h`` exits 1 when the last sync failed or is too old.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from typing import Any

from ..core.history import get_run, list_conflicts, list_runs
from ..core.profiles import Profile, list_profiles, load_profile, mailbox_where
from ..core.records import RunCounts, RunRecord
from ..core.status_file import StoreFacts
from ..core.words import KEPT_TEXT
from .main import (DEBUG_ENV, EXIT_INTERNAL, EXIT_ITEMS, EXIT_LOCKED, EXIT_OK, CliError, Context,
                   filter_error_lines)
from .main import _caption as field_caption
from .output import ProgressPrinter, emit_json, fields_block, human_age, local_time, say, table, warn
from .runview import NotSynced, age_seconds, counts_line, log_rows, print_not_synced, print_run, run_summary


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sync", parents=[common], help="sync the profile's contacts with Outlook now")
    p.add_argument("--full", action="store_true", help="full sync: compare everything both ways")
    p.add_argument("--dry-run", action="store_true", help="write nothing anywhere; print the plan")
    p.add_argument("--force", action="store_true", help="run even when a safety guard would abort")
    p.add_argument("--all-profiles", action="store_true", help="sync every enabled profile (as the scheduled job does)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print the run records as JSON (progress stays on stderr)")
    p.set_defaults(func=cmd_sync)

    s = sub.add_parser("status", parents=[common], help="the last sync and the next one; exit 1 if unhealthy")
    s.add_argument("--max-age", metavar="DURATION", help="exit 1 also when the last sync is older, e.g. 2h, 30m, 1d")
    s.add_argument("--all-profiles", action="store_true", help="every profile, not just one")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    lg = sub.add_parser("log", parents=[common], help="sync history, one run's details, or the conflict log")
    lg.add_argument("--run", metavar="ID", help="details of one run (its id or the start of it)")
    lg.add_argument("--conflicts", action="store_true", help="the Outlook values the master overruled")
    lg.add_argument("--limit", type=int, default=20, metavar="N", help="newest N runs (default 20; 0 = all)")
    lg.add_argument("--all-profiles", action="store_true", help="runs of every profile")
    lg.add_argument("--json", action="store_true")
    lg.set_defaults(func=cmd_log)


# --- sync ----------------------------------------------------------------------------------------

def _profiles_to_sync(ctx: Context) -> list[str]:
    store = ctx.store()
    if ctx.args.all_profiles:
        names = [p.name for p in list_profiles(store) if p.enabled and p.configured]
        if not names:
            raise CliError("no enabled profile is set up in this store; create one with `bcsync setup`")
        return names
    profile = load_profile(store, ctx.profile)
    if not profile.configured:
        raise CliError(f"profile {ctx.profile!r} has no mailbox yet; set it up with "
                       "`bcsync setup --email ... --server auto --password-stdin`")
    return [profile.name]


class _Interrupts:
    """Ctrl-C or SIGTERM (systemd stopping the job) asks the run to stop at its next safe point;
    a second Ctrl-C stops at once."""

    def __init__(self, cancel: threading.Event):
        self.cancel = cancel
        self.saved: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.cancel.set()
        print("\nbcsync: stopping at the next safe point (Ctrl-C again to abort now)", file=sys.stderr)

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def cmd_sync(ctx: Context) -> int:
    from ..core.sync.events import StoreLocked
    from ..core.sync.runner import sync_blocking

    args = ctx.args
    names = _profiles_to_sync(ctx)
    store, secrets = ctx.store(), ctx.secrets()
    cancel = threading.Event()
    runs: list[RunRecord | NotSynced] = []
    with _Interrupts(cancel):
        for name in names:
            printer = None if args.quiet else ProgressPrinter(name)
            run: RunRecord | NotSynced
            try:
                run = sync_blocking(store, name, mode="full" if args.full else "incremental", dry_run=args.dry_run,
                                    force=args.force, on_progress=printer, cancel=cancel, secrets=secrets)
            except StoreLocked as exc:
                run = NotSynced(name, "locked", EXIT_LOCKED, str(exc))
            except Exception as exc:  # a bug must not keep the other profiles of a scheduled run from syncing
                if args.debug or os.environ.get(DEBUG_ENV):
                    import traceback

                    traceback.print_exc()
                run = NotSynced(name, "error", EXIT_INTERNAL,
                                f"unexpected error: {type(exc).__name__}: {exc}. Run again with --debug "
                                "for details, and please report it.")
            finally:
                if printer is not None:
                    printer.finish()
            runs.append(run)
            if not ctx.json:
                print_not_synced(run) if isinstance(run, NotSynced) else print_run(run)
            if cancel.is_set():
                break
    code = max(int(r.exit_code) for r in runs)
    if ctx.json:
        emit_json({"exit_code": code, "runs": [r.to_doc() for r in runs]})
    elif code in (EXIT_LOCKED, EXIT_INTERNAL) and len(runs) == 1:
        warn(runs[0].message)  # a server's words: control codes escaped
    return code


# --- status --------------------------------------------------------------------------------------

def _max_age(text: str | None) -> int | None:
    if not text:
        return None
    from ..core.schedule import ScheduleError, parse_duration

    try:
        seconds = parse_duration(text)
    except ScheduleError as exc:
        raise CliError(f"--max-age: {exc}") from exc
    if seconds <= 0:
        raise CliError("--max-age must be longer than 0")
    return seconds


def exact_duration(seconds: int) -> str:
    """A duration to the second, largest units first, zero units left out: ``1 min 25 s``, ``2 h``."""
    parts = []
    rest = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts) or "0 s"


def profile_status(facts: StoreFacts, profile: Profile, max_age: int | None) -> dict[str, Any]:
    from ..core.filters import ContactFilter, FilterError

    counted = facts.profile(profile.name)
    # status.json (and the store) keep run records in their stored shape: typed here, where status reads them
    last = RunRecord.from_doc(counted.last_run) if counted and counted.last_run else None
    last_ok = RunRecord.from_doc(counted.last_ok_run) if counted and counted.last_ok_run else None
    selected, linked, kept = (counted.selected, counted.linked, counted.kept) if counted else (None, 0, 0)
    problems: list[str] = []
    try:
        description = ContactFilter.from_dict(profile.filter).describe()
    except FilterError as exc:
        description = f"invalid: {filter_error_lines(exc)[0]}"
        problems.append(f"the filter is invalid ({filter_error_lines(exc)[0]}); fix it with `bcsync filter`")
    age = age_seconds(last) if last else None
    if not profile.configured:
        problems.append("no mailbox set up (`bcsync setup`)")
    if last is None:
        if max_age is not None:
            problems.append("never synced")
    elif last.problem:
        problems.append(last.problem)
    if max_age is not None and age is not None and age > max_age:
        problems.append(f"the last sync was {exact_duration(math.ceil(age))} ago, longer than the "
                        f"{exact_duration(max_age)} --max-age allows")
    return {"profile": profile.name, "enabled": profile.enabled, "email": profile.email,
            "server_url": profile.server_url, "transport": profile.transport,
            "folder_name": profile.folder_name, "filter": dict(profile.filter),
            "filter_description": description,
            "contacts": {"master": facts.master, "selected": selected, "linked": linked, "kept": kept},
            "last_run": run_summary(last) if last else None,
            "last_success_at": (last_ok.ended_at or last_ok.started_at) if last_ok else None,
            "age_seconds": round(age) if age is not None else None, "max_age_seconds": max_age,
            "healthy": not problems, "problems": problems}


def _print_status(report: dict[str, Any], schedule: dict[str, Any]) -> None:
    last = report["last_run"]
    c = report["contacts"]
    selected = "?" if c["selected"] is None else c["selected"]
    pairs: list[tuple[str, Any]] = [
        ("Profile", report["profile"] + ("" if report["enabled"] else " (disabled: left out of scheduled syncs)")),
        ("Mailbox", f"{report['email'] or '(not set up)'} on {mailbox_where(report['transport'], report['server_url'])}"),
        ("Folder", report["folder_name"]), ("Filter", report["filter_description"] or "(none: all contacts)"),
        ("Contacts", f"{c['master']} in the master, {selected} go to Outlook, {c['linked']} linked"),
    ]
    if c["kept"]:
        pairs.append(("", f"{c['kept']:,} of the linked {KEPT_TEXT}"))
    if last:
        ago = f" ({human_age(report['age_seconds'])} ago)" if report["age_seconds"] is not None else ""
        pairs.append(("Last sync", f"{local_time(last['started_at'])}{ago}, {last['mode']}, {last['status']}"))
        pairs.append(("", counts_line(RunCounts.from_doc(last["counts"]))))
        if last["message"]:
            pairs.append(("", last["message"]))
        for e in last["first_errors"]:
            pairs.append(("", f"error: {e.get('ref', '')} {e.get('name', '')}: {e.get('message', '')}"))
    else:
        pairs.append(("Last sync", "never"))
    if schedule.get("installed"):
        nxt = local_time(schedule.get("next_run")) or "unknown"
        pairs.append(("Next sync", f"{nxt} ({schedule['method']}, every {schedule.get('every') or '?'})"))
    else:
        pairs.append(("Next sync", "not scheduled (`bcsync schedule install`)"))
    pairs.append(("Health", "OK" if report["healthy"] else "PROBLEM: " + "; ".join(report["problems"])))
    fields_block(pairs)


def cmd_status(ctx: Context) -> int:
    from ..core.schedule import current_status

    max_age = _max_age(ctx.args.max_age)
    facts = ctx.status_facts()
    if ctx.args.all_profiles:
        profiles = [Profile.from_doc(p.doc) for p in facts.profiles]
        if not profiles:
            raise CliError("no profiles in this store yet; create one with `bcsync setup`")
    else:
        counted = facts.profile(ctx.profile)
        profiles = [Profile.from_doc(counted.doc) if counted else load_profile(ctx.store(), ctx.profile)]
    reports = [profile_status(facts, p, max_age) for p in profiles]
    schedule = current_status().to_dict()
    code = EXIT_OK if all(r["healthy"] for r in reports) else EXIT_ITEMS
    if ctx.json:
        emit_json({"healthy": code == EXIT_OK, "exit_code": code, "profiles": reports, "schedule": schedule})
        return code
    for i, report in enumerate(reports):
        if i:
            say("")
        _print_status(report, schedule)
    return code


# --- log -----------------------------------------------------------------------------------------

def cmd_log(ctx: Context) -> int:
    args = ctx.args
    store = ctx.store()
    profile = None if args.all_profiles else ctx.profile
    if args.conflicts:
        run_id = RunRecord.from_doc(get_run(store, args.run)).id if args.run else None
        rows = list_conflicts(store, profile, run_id)
        if args.limit:
            rows = rows[: args.limit]
        if ctx.json:
            emit_json({"conflicts": rows})
        elif not rows:
            say("No conflicts logged.")
        else:
            table(["When", "Contact", "Field", "Master value (kept)", "Outlook value", "Re-applied"],
                  [[local_time(r.get("at")), f"{r.get('contact_no', '')} {r.get('contact_name', '')}",
                    field_caption(r.get("field", "")), r.get("master_value", ""), r.get("outlook_value", ""),
                    "yes" if r.get("reapplied") else ""] for r in rows])
        return EXIT_OK
    if args.run:
        run = RunRecord.from_doc(get_run(store, args.run))
        if ctx.json:
            emit_json({"run": run.to_doc()})
        else:
            print_run(run)
        return EXIT_OK
    runs = [RunRecord.from_doc(r) for r in list_runs(store, profile, limit=args.limit or None)]
    if ctx.json:
        emit_json({"runs": [run_summary(r) for r in runs]})
        return EXIT_OK
    if not runs:
        say("No syncs recorded yet." if profile is None else f"No syncs recorded for profile {profile!r} yet.")
        return EXIT_OK
    headers, rows = log_rows(runs, with_profile=profile is None)
    table(headers, rows)
    return EXIT_OK

