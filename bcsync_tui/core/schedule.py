"""Scheduled syncs, like BC's job queue entry: a systemd user timer where systemd runs, else a crontab line.

The scheduled command is ``bcsync sync --all-profiles`` (plus ``--home`` when one is in use), by
absolute path, because neither systemd nor cron sees the user's shell PATH. bcsync writes the unit
files itself and runs ``systemctl --user`` only when it works here; otherwise it says what to run.
It never edits a crontab: it prints the line to add or remove.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

UNIT = "bcsync-sync"
METHODS = ("systemd", "cron")
DEFAULT_EVERY = 30 * 60

_DURATION = re.compile(r"(\d+)\s*(min|sec|d|h|m|s)?", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1, "sec": 1, None: 60}


class ScheduleError(ValueError):
    pass


def parse_duration(text: str) -> int:
    """``30m``, ``2h``, ``1d``, ``1h30m``, ``45s`` → seconds; a bare number means minutes."""
    s = text.strip().lower().replace(" ", "")
    pos, total = 0, 0
    while pos < len(s):
        m = _DURATION.match(s, pos)
        if not m or m.end() == pos:
            raise ScheduleError(f"{text!r} is not a duration; write e.g. 30m, 2h or 1d")
        total += int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not s:
        raise ScheduleError("empty duration; write e.g. 30m, 2h or 1d")
    return total


def format_duration(seconds: int) -> str:
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0m"


# --- the scheduled command -----------------------------------------------------------------------

def bcsync_executable() -> list[str]:
    """How to start this bcsync by absolute path: the script we run as, or the one on PATH, or the
    interpreter with ``-m bcsync_tui``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "bcsync" and argv0.is_file():
        return [os.path.abspath(argv0)]
    found = shutil.which("bcsync")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "bcsync_tui"]


def scheduled_command(home: str | os.PathLike[str] | None) -> list[str]:
    """The command the timer runs. A line break (or any control character) in a path would end a
    systemd unit line or the crontab line and start another, written by whoever named the path:
    such paths are refused, not quoted."""
    cmd = bcsync_executable()
    if home:
        cmd += ["--home", os.path.abspath(os.fspath(home))]
    for arg in cmd:
        if any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f for ch in arg):
            raise ScheduleError(f"the path {arg!r} contains a line break or another control character, which a "
                                "scheduled job cannot carry safely; use a directory whose path has none")
    return cmd + ["sync", "--all-profiles"]


# --- systemd -------------------------------------------------------------------------------------

def systemd_booted() -> bool:
    """True when systemd is the init system here (sd_booted()) and systemctl exists."""
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def unit_files() -> tuple[Path, Path]:
    d = unit_dir()
    return d / f"{UNIT}.service", d / f"{UNIT}.timer"


def systemctl(*args: str, timeout: float = 20.0) -> tuple[bool, str]:
    import subprocess  # (here: `bcsync status` loads this module and seldom runs anything)

    try:
        proc = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def systemctl_works() -> bool:
    return shutil.which("systemctl") is not None and systemctl("show-environment", timeout=5)[0]


def _systemd_quote(arg: str) -> str:
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_./:@+=,%$-]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_service(command: list[str]) -> str:
    return (
        "[Unit]\n"
        "Description=bcsync: sync contacts with Exchange for every enabled profile\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={' '.join(_systemd_quote(a) for a in command)}\n"
        "Nice=10\n"
    )


def render_timer(every: int) -> str:
    minutes = max(1, round(every / 60))
    return (
        "[Unit]\n"
        f"Description=bcsync: scheduled contact sync every {format_duration(minutes * 60)}\n"
        "\n[Timer]\n"
        "OnActiveSec=1min\n"
        "OnBootSec=2min\n"
        f"OnUnitActiveSec={minutes}min\n"
        f"Unit={UNIT}.service\n"
        "\n[Install]\n"
        "WantedBy=timers.target\n"
    )


# --- cron ----------------------------------------------------------------------------------------

def cron_schedule(every: int) -> str:
    minutes = max(1, round(every / 60))
    if minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(minutes, 60)
    if not rest and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else "0 3 * * *" if hours == 24 else f"0 */{hours} * * *"
    raise ScheduleError(f"cron cannot run every {format_duration(every)}; choose minutes that divide an hour "
                        "(e.g. 15m, 30m) or hours that divide a day (e.g. 1h, 2h, 6h, 1d)")


def cron_line(every: int, command: list[str], log_file: Path | None = None) -> str:
    text = " ".join(shlex.quote(a) for a in command)
    if log_file is not None:
        text += f" >> {shlex.quote(str(log_file))} 2>&1"
    return f"{cron_schedule(every)} {text.replace('%', chr(92) + '%')}"


def _crontab() -> list[str] | None:
    if shutil.which("crontab") is None:
        return None
    import subprocess

    try:
        proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def _our_cron_line(lines: list[str]) -> str | None:
    return next((ln for ln in lines if not ln.lstrip().startswith("#") and "sync --all-profiles" in ln
                 and ("bcsync" in ln or "bcsync_tui" in ln)), None)


def _cron_every(line: str) -> int | None:
    m = re.match(r"\s*(\S+)\s+(\S+)\s+\*\s+\*\s+\*", line)
    if not m:
        return None
    minute, hour = m.groups()
    if hour == "*":
        if minute == "*":
            return 60
        return 60 * int(minute[2:]) if minute.startswith("*/") else 3600 if minute.isdigit() else None
    if minute.isdigit():
        return 3600 * int(hour[2:]) if hour.startswith("*/") else 86400
    return None


def _next_cron_run(every: int, now: datetime) -> datetime:
    step = timedelta(seconds=every)
    if every >= 86400:
        candidate = now.replace(hour=3, minute=0, second=0, microsecond=0)
        return candidate if candidate > now else candidate + timedelta(days=1)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    slots = int((now - midnight) / step) + 1
    return midnight + slots * step


# --- what is installed ---------------------------------------------------------------------------

@dataclass
class ScheduleStatus:
    method: str | None = None  # systemd | cron | None (not scheduled)
    installed: bool = False
    every_seconds: int | None = None
    next_run: str | None = None  # ISO 8601, local time with offset
    active: bool | None = None  # systemd: the timer is running
    files: list[str] = field(default_factory=list)
    line: str = ""  # cron: the crontab line
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "installed": self.installed, "every_seconds": self.every_seconds,
                "every": format_duration(self.every_seconds) if self.every_seconds else None,
                "next_run": self.next_run, "active": self.active, "files": self.files, "cron_line": self.line,
                "notes": self.notes}


def current_status(check_cron: bool = True) -> ScheduleStatus:
    service, timer = unit_files()
    if timer.exists():
        st = ScheduleStatus("systemd", True, files=[str(service), str(timer)])
        m = re.search(r"^OnUnitActiveSec=(\d+)min", timer.read_text(), re.MULTILINE)
        st.every_seconds = int(m.group(1)) * 60 if m else None
        if systemctl_works():
            ok, out = systemctl("is-active", f"{UNIT}.timer", timeout=5)
            st.active = ok and out.strip() == "active"
            ok, out = systemctl("show", f"{UNIT}.timer", "-p", "NextElapseUSecRealtime", "--value",
                                "--timestamp=unix", timeout=5)
            stamp = re.search(r"@(\d+)", out) if ok else None
            if stamp:
                st.next_run = datetime.fromtimestamp(int(stamp.group(1))).astimezone().isoformat(timespec="seconds")
            if not st.active:
                st.notes.append(f"the timer is installed but not running: systemctl --user enable --now {UNIT}.timer")
        else:
            st.notes.append("systemctl --user is not usable here, so whether the timer runs is unknown")
        return st
    lines = _crontab() if check_cron else None
    line = _our_cron_line(lines) if lines else None
    if line:
        st = ScheduleStatus("cron", True, line=line, every_seconds=_cron_every(line))
        if st.every_seconds:
            st.next_run = _next_cron_run(st.every_seconds, datetime.now().astimezone()).isoformat(timespec="seconds")
        return st
    return ScheduleStatus()


@dataclass
class InstallResult:
    method: str
    files: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # commands bcsync ran successfully
    todo: list[str] = field(default_factory=list)  # commands or edits the user still has to do
    cron_line: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "files": self.files, "ran": self.ran, "todo": self.todo,
                "cron_line": self.cron_line}


def choose_method(method: str | None) -> str:
    if method in METHODS:
        return method
    return "systemd" if systemd_booted() else "cron"


def _run_steps(steps: list[list[str]], result: InstallResult) -> None:
    usable = systemctl_works()
    for step in steps:
        shown = "systemctl --user " + " ".join(step)
        if usable:
            ok, out = systemctl(*step)
            if ok:
                result.ran.append(shown)
                continue
            usable = False
        result.todo.append(shown)


def install(every: int, command: list[str], method: str | None = None, log_file: Path | None = None) -> InstallResult:
    if every < 60:
        raise ScheduleError("the interval must be at least one minute")
    method = choose_method(method)
    if method == "cron":
        return InstallResult("cron", cron_line=cron_line(every, command, log_file),
                             todo=["crontab -e   # and add the line below"])
    service, timer = unit_files()
    from .paths import write_private_file

    unit_dir().mkdir(parents=True, exist_ok=True)
    write_private_file(service, render_service(command).encode())
    write_private_file(timer, render_timer(every).encode())
    result = InstallResult("systemd", files=[str(service), str(timer)])
    _run_steps([["daemon-reload"], ["enable", "--now", f"{UNIT}.timer"]], result)
    if result.todo:
        result.todo.append(f"loginctl enable-linger {os.environ.get('USER', '$USER')}   "
                           "# optional: keep the timer running while you are logged out")
    return result


def remove(method: str | None = None) -> InstallResult:
    service, timer = unit_files()
    if method == "systemd" or (method is None and (timer.exists() or service.exists())):
        result = InstallResult("systemd")
        if timer.exists():
            _run_steps([["disable", "--now", f"{UNIT}.timer"]], result)
        for f in (timer, service):
            if f.exists():
                f.unlink()
                result.files.append(str(f))
        if result.files:
            _run_steps([["daemon-reload"]], result)
        return result
    lines = _crontab() or []
    line = _our_cron_line(lines) or ""
    result = InstallResult("cron", cron_line=line)
    if line:
        result.todo.append("crontab -e   # and delete the line below")
    return result
