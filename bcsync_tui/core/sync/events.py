"""What the engine tells its callers: progress, errors with exit codes, and run outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Exit codes shared by the CLI, the TUI and the run records: one table, in core.exit_codes.
from ..exit_codes import EXIT_CONFIG, EXIT_GUARD, EXIT_ITEM_ERRORS, EXIT_LOCKED, EXIT_OK, ExitCode  # noqa: F401

#: run record ``status`` values
STATUS_OK = "ok"
STATUS_PARTIAL = "partial"  # some items failed; they are retried next run
STATUS_ABORTED = "aborted"  # a guard stopped the run before any write
STATUS_FAILED = "failed"  # configuration, authentication or connection error
STATUS_CANCELLED = "cancelled"


class SyncError(Exception):
    """A run could not proceed; ``exit_code`` says why (3 configuration/connection, 4 locked)."""

    exit_code = EXIT_CONFIG


class ConnectionProblem(SyncError):
    """Wrong password, unreachable server, TLS failure, not an EWS endpoint, folder not accessible."""


class ConfigurationProblem(SyncError):
    """The profile is incomplete or invalid."""


class StoreLocked(SyncError):
    exit_code = EXIT_LOCKED


class RunCutShort(SyncError):
    """The run stopped at a safe point (e.g. the server throttled past the run's time cap)."""

    exit_code = EXIT_ITEM_ERRORS


class GuardTripped(SyncError):
    """A safety guard stopped the run before any write; ``--force`` overrides."""

    exit_code = EXIT_GUARD


@dataclass(frozen=True)
class Progress:
    """One coalescable progress report. ``done``/``total`` count items of the current phase."""

    phase: str
    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    #: seconds the run is waiting because the server throttles it (0 when not waiting)
    throttle_wait: float = 0.0


class Coalescer:
    """The one progress coalescer (the CLI and the TUI both use it): forwards at most one report
    per ``interval`` seconds, so a fast sync cannot flood a screen; phase changes, throttle waits
    and a phase's last step pass at once, so none is coalesced away."""

    def __init__(self, target: Callable[[Progress], None], interval: float = 0.1):
        self.target, self.interval = target, interval
        self._last = 0.0
        self._phase = ""

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        urgent = progress.phase != self._phase or progress.throttle_wait or progress.done == progress.total
        if urgent or now - self._last >= self.interval:
            self._last, self._phase = now, progress.phase
            self.target(progress)
