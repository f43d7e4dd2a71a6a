"""What the CLI prints: versioned JSON, plain tables, one-line messages and sync progress."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

#: bump only with an incompatible change to a --json shape (docs/cli.md lists the shapes)
JSON_SCHEMA = 1


#: characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts colour,
#: title and clear-screen sequences; BEL, backspace, CR overwrite), DEL, C1 controls (U+009B is CSI),
#: bidi overrides and line separators (text that displays other than it reads)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: the ones JSON leaves as they are (it escapes C0 itself)
_JSON_CONTROL = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any) -> str:
    """Text from outside (contact fields, server messages) made safe to print: every control
    character shown as an escape (``\\x1b``), so nothing reaches the terminal as a command. Tab and
    newline stay; a CR that is not part of a line break is escaped. Everything the CLI prints goes
    through here (``say``, ``warn``, ``table``, ``fields_block``, progress lines)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape, text.replace("\r\n", "\n"))


def emit_json(payload: dict[str, Any], out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    text = json.dumps({"schema": JSON_SCHEMA, **payload}, indent=2, ensure_ascii=False, default=str)
    out.write(_JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")  # same JSON, escaped


def say(text: str = "", out: IO[str] | None = None) -> None:
    print(printable(text), file=out or sys.stdout)


def warn(text: str) -> None:
    print(f"bcsync: {printable(text)}", file=sys.stderr)


def one_line(value: Any) -> str:
    """Values with line breaks (addresses, names from Outlook) on one table row, printable."""
    text = "" if value is None else str(value)
    return printable(" / ".join(part for part in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")))


def cells_width(text: str) -> int:
    """How many terminal cells ``text`` takes: wide (CJK) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells (cut with …), padded to ``width`` cells."""
    if cells_width(text) > width:
        while text and cells_width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - cells_width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: IO[str] | None = None) -> None:
    """Left-aligned columns, in terminal cells (张伟 takes four). On a terminal, the widest columns are
    cut (with …) to fit its width; piped output is never cut, so scripts see whole values."""
    out = out or sys.stdout
    cells = [[one_line(c) for c in row] for row in rows]
    widths = [max([cells_width(h)] + [cells_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if out.isatty():
        room = shutil.get_terminal_size((120, 24)).columns - 2 * (len(headers) - 1)
        while sum(widths) > room and max(widths) > 8:
            widest = widths.index(max(widths))
            widths[widest] -= 1

    def fmt(row: Sequence[str]) -> str:
        parts = [_cut(c, w) for c, w in zip(row, widths, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(fmt(list(headers)) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(fmt(row) + "\n")


def fields_block(pairs: Sequence[tuple[str, Any]], out: IO[str] | None = None) -> None:
    """``Caption: value`` lines with the captions aligned."""
    out = out or sys.stdout
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        label = f"{key}:" if key else ""
        out.write(f"{label:<{width + 1}} {one_line(value)}\n")


def local_time(iso: str | None) -> str:
    """A stored UTC timestamp as local time, to the minute ('' when unknown)."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def human_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}" + (f" {seconds % size // 3600}h" if unit == "d" and seconds % size >= 3600 else "")
    return f"{seconds}s"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class ProgressPrinter:
    """Sync progress on stderr: one redrawn line on a terminal, else plain lines at most
    ``per_second`` a second (phase changes and throttle waits always shown)."""

    def __init__(self, label: str, stream: IO[str] | None = None, per_second: float = 5.0):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 1.0 / per_second
        self._last = 0.0
        self._phase = ""
        self._drawn = False

    def __call__(self, progress: Any) -> None:
        now = time.monotonic()
        urgent = progress.phase != self._phase or bool(progress.throttle_wait)
        if not urgent and now - self._last < self.interval:
            return
        self._last, self._phase = now, progress.phase
        text = self.render(progress)
        if self.tty:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            self.stream.write("\r\x1b[K" + text[:width])
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def render(self, progress: Any) -> str:
        parts = [f"{printable(self.label)}: {progress.phase}"]
        if progress.total:
            done = min(progress.done, progress.total)
            if self.tty:
                filled = int(20 * done / progress.total)
                parts.append("[" + "#" * filled + "." * (20 - filled) + "]")
            parts.append(f"{done}/{progress.total}")
        if progress.message:
            parts.append(f"- {one_line(progress.message)}")
        return " ".join(parts)

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
