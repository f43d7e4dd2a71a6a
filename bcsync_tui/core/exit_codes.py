"""The exit codes of `bcsync` and of every sync run record: one table, used by the CLI, the TUI and
the engine (SPEC §5; docs/cli.md lists them for people)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: the run finished, but some items failed (they are retried next run), or it was cut short
    ITEM_ERRORS = 1
    #: a safety guard stopped the run before any write; ``--force`` overrides
    GUARD = 2
    #: bad input, configuration, authentication or connection: a message says what to do
    CONFIG = 3
    #: another sync (or a restore) holds the store's lock
    LOCKED = 4
    #: a bug: an unexpected error (the message asks for a report)
    INTERNAL = 70
    #: interrupted by Ctrl-C / SIGINT
    INTERRUPTED = 130


EXIT_OK = ExitCode.OK
EXIT_ITEM_ERRORS = ExitCode.ITEM_ERRORS
EXIT_GUARD = ExitCode.GUARD
EXIT_CONFIG = ExitCode.CONFIG
EXIT_LOCKED = ExitCode.LOCKED
EXIT_INTERNAL = ExitCode.INTERNAL
EXIT_INTERRUPTED = ExitCode.INTERRUPTED
