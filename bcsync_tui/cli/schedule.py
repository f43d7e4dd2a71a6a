"""``bcsync schedule show|install|remove``: run ``bcsync sync --all-profiles`` on a timer."""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

from ..core import schedule as sched
from .main import EXIT_OK, CliError, Context
from .output import emit_json, local_time, say, warn


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("schedule", parents=[common], help="run the sync on a timer (systemd user timer or cron)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
    ss = p.add_subparsers(dest="schedule_command", metavar="ACTION")
    show = ss.add_parser("show", parents=[common], help="what is scheduled (the default)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    inst = ss.add_parser("install", parents=[common], help="sync every enabled profile at an interval")
    inst.add_argument("--every", default="30m", metavar="DURATION", help="interval such as 15m, 30m, 2h, 1d (default 30m)")
    inst.add_argument("--method", choices=("auto", "systemd", "cron"), default="auto",
                      help="systemd user timer or crontab line (default: systemd where it runs)")
    inst.add_argument("--json", action="store_true")
    inst.add_argument("--dry-run", action="store_true", help="show what would be written and run; change nothing")
    inst.set_defaults(func=cmd_install)
    rm = ss.add_parser("remove", parents=[common], help="stop the scheduled sync")
    rm.add_argument("--method", choices=("auto", "systemd", "cron"), default="auto")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)


def _method(args: argparse.Namespace) -> str | None:
    return None if args.method == "auto" else args.method


def cmd_show(ctx: Context) -> int:
    st = sched.current_status()
    if ctx.json:
        emit_json({"schedule": st.to_dict()})
        return EXIT_OK
    if not st.installed:
        say("No scheduled sync. Set one up with `bcsync schedule install --every 30m`.")
        return EXIT_OK
    every = sched.format_duration(st.every_seconds) if st.every_seconds else "unknown interval"
    say(f"Scheduled sync: every {every} by {'a systemd user timer' if st.method == 'systemd' else 'cron'}.")
    if st.next_run:
        say(f"Next run: {local_time(st.next_run)}")
    for f in st.files:
        say(f"  {f}")
    if st.line:
        say(f"  {st.line}")
    for note in st.notes:
        say(f"Note: {note}")
    return EXIT_OK


def _home_for_schedule(ctx: Context) -> str | None:
    """The scheduled job must see the same store: pass --home explicitly if one is in use."""
    if ctx.args.home:
        return ctx.args.home
    return os.environ.get("BCSYNC_HOME") or None


def cmd_install(ctx: Context) -> int:
    try:
        every = sched.parse_duration(ctx.args.every)
        command = sched.scheduled_command(_home_for_schedule(ctx))
        if getattr(ctx.args, "dry_run", False):
            return _install_dry_run(ctx, every, command)
        ctx.paths.ensure()
        result = sched.install(every, command, _method(ctx.args), ctx.paths.log_dir / "scheduled-sync.log")
    except sched.ScheduleError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write the timer files: {exc}") from exc
    ready = _ready_profiles(ctx)
    if ctx.json:
        emit_json({"installed": result.to_dict(), "every_seconds": every, "command": command,
                   "profiles": ready})
        return EXIT_OK
    shown = " ".join(shlex.quote(a) for a in command)
    if result.method == "systemd":
        say(f"Wrote the systemd user timer (every {sched.format_duration(every)}: {shown}):")
        for f in result.files:
            say(f"  {f}")
        for step in result.ran:
            say(f"Ran: {step}")
        if result.todo:
            say("systemctl --user is not usable from here; run these in your login session:")
            for step in result.todo:
                say(f"  {step}")
    else:
        say("systemd is not running here, so use cron: run `crontab -e` and add this line:")
        say("")
        say(result.cron_line)
        say("")
    if not ready:
        warn("no enabled profile is set up yet, so the scheduled sync has nothing to do; run `bcsync setup`")
    return EXIT_OK


def _install_dry_run(ctx: Context, every: int, command: list[str]) -> int:
    """What `schedule install` would write and run, with nothing written or run."""
    if every < 60:
        raise sched.ScheduleError("the interval must be at least one minute")
    method = sched.choose_method(_method(ctx.args))
    files: dict[str, str] = {}
    steps: list[str] = []
    line = ""
    if method == "cron":
        line = sched.cron_line(every, command, ctx.paths.log_dir / "scheduled-sync.log")
    else:
        service, timer = sched.unit_files()
        files = {str(service): sched.render_service(command), str(timer): sched.render_timer(every)}
        steps = ["systemctl --user daemon-reload", f"systemctl --user enable --now {sched.UNIT}.timer"]
    if ctx.json:
        emit_json({"dry_run": True, "method": method, "every_seconds": every, "command": command,
                   "files": files, "would_run": steps, "cron_line": line})
        return EXIT_OK
    say(f"Dry run: nothing written. `bcsync schedule install` would (every {sched.format_duration(every)}):")
    for path, text in files.items():
        say(f"\nwrite {path}:")
        for text_line in text.rstrip("\n").splitlines():
            say(f"  {text_line}")
    if steps:
        say("")
    for step in steps:
        say(f"run: {step}")
    if line:
        say("ask you to add this line with `crontab -e`:")
        say(f"  {line}")
    return EXIT_OK


def cmd_remove(ctx: Context) -> int:
    result = sched.remove(_method(ctx.args))
    if ctx.json:
        emit_json({"removed": result.to_dict()})
        return EXIT_OK
    if result.method == "systemd":
        if not result.files:
            say("No systemd timer was installed.")
        for f in result.files:
            say(f"Removed {f}")
        for step in result.ran:
            say(f"Ran: {step}")
        if result.todo:
            say("systemctl --user is not usable from here; run these in your login session:")
            for step in result.todo:
                say(f"  {step}")
    elif result.cron_line:
        say("Run `crontab -e` and delete this line:")
        say("")
        say(result.cron_line)
    else:
        say("No scheduled sync found (no bcsync timer, no bcsync line in your crontab).")
    return EXIT_OK


def _ready_profiles(ctx: Context) -> list[str]:
    from ..core.profiles import list_profiles

    return [p.name for p in list_profiles(ctx.store()) if p.enabled and p.configured]
