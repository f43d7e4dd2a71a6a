"""``bcsync``: argument parsing, global options, dispatch, and the mapping of errors to exit codes.

Exit codes (SPEC §5, docs/cli.md): 0 ok, 1 some items failed, 2 a guard aborted the sync,
3 configuration / authentication / connection error or bad input, 4 another sync holds the lock.
Heavy modules (the TUI's textual, the EWS adapter's exchangelib) are imported only by the
commands that need them, so ``bcsync status`` over SSH starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__
# the one table of exit codes, under the names the CLI modules use
from ..core.exit_codes import EXIT_CONFIG, EXIT_GUARD, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK
from ..core.exit_codes import EXIT_ITEM_ERRORS as EXIT_ITEMS
from ..core.lock import LockedError
from ..core.model import ValidationError
from ..core.paths import PROFILE_ENV, FileProblem, Paths, default_profile_name
from ..core.profiles import only_profile
from ..core.status_file import read_facts
from ..core.store_errors import StoreCorruptError
from .output import printable, warn

if TYPE_CHECKING:  # the store modules are imported when a store is opened
    from ..core.store import Store

DEBUG_ENV = "BCSYNC_DEBUG"


class CliError(Exception):
    """A problem the user can fix; printed as one line (plus optional detail lines), no traceback."""

    def __init__(self, message: str, code: int = EXIT_CONFIG, details: Sequence[str] = ()):
        super().__init__(message)
        self.code, self.details = code, list(details)


class UsageError(CliError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; 2 means "guard abort" here, so bad usage is 3 (bad input)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, details=[self.format_usage().strip()])


@dataclass
class Context:
    args: argparse.Namespace
    paths: Paths
    profile: str
    home_given: bool = False
    _store: Store | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def store(self) -> Store:
        if self._store is None:  # directories are made by the first write: a failing read creates nothing
            from ..core.store import Store

            # A sync keeps its records compact (its peak memory at 50,000 contacts); any other
            # command lives a moment: it opens the store quicker instead (storage.py).
            compact = getattr(self.args, "command", None) == "sync"
            self._store = Store(self.paths.store_file, backup_dir=self.paths.backup_dir, compact_records=compact)
        return self._store

    def status_facts(self) -> Any:
        """What ``bcsync status`` reports: from ``status.json`` when current, without loading the store."""
        from .status_facts import current_facts

        return current_facts(self.paths.store_file, self.store)

    def secrets(self) -> Any:
        from ..core.secrets import SecretStore

        return SecretStore(self.paths.secrets_file)

    def close(self) -> None:
        if self._store is not None:
            from .status_facts import refresh_facts

            refresh_facts(self._store)  # the next `bcsync status` need not load the store
            self._store.close()
            self._store = None


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", metavar="DIR", default=default,
                        help="keep all data, settings and logs in DIR (env BCSYNC_HOME)")
    parser.add_argument("--profile", metavar="NAME", default=default,
                        help="the sync profile (user) to work with (env BCSYNC_PROFILE; default: your user name)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="show the traceback of unexpected errors")


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv (skipping global options and their values)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--home", "--profile"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


# Which module registers each subcommand, so that a command builds only its own module's parsers
# (`bcsync status` then neither imports nor builds the others); `bcsync --help` builds them all.
COMMAND_MODULES = {"sync": "sync_cmds", "status": "sync_cmds", "log": "sync_cmds", "setup": "setup_cmds",
                   "filter": "setup_cmds", "profiles": "setup_cmds", "contacts": "contacts", "schedule": "schedule",
                   "backups": "backups", "restore": "backups"}
SERVER_COMMANDS = ("demo", "exchange-server", "graph-server")


def build_parser(command: str | None = None) -> Parser:
    """The parser of every subcommand, or with ``command`` one of them, only that command's module."""
    import importlib

    parser = Parser(prog="bcsync", description="Keep a business contact master and Outlook/Exchange contacts "
                    "in sync. Without a command, opens the terminal UI.",
                    epilog="Exit codes: 0 ok, 1 some items failed, 2 aborted by a safety guard, 3 configuration/"
                    "authentication/connection error or bad input, 4 another sync holds the lock.")
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"bcsync {__version__}")
    common = Parser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    known = command in COMMAND_MODULES or command in SERVER_COMMANDS
    wanted = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else [] if known else \
        list(dict.fromkeys(COMMAND_MODULES.values()))
    for name in wanted:
        importlib.import_module(f"{__package__}.{name}").register(sub, common)
        if name == "setup_cmds":
            from . import profiles_cmd

            profiles_cmd.register(sub.choices["profiles"], common)  # `profiles remove NAME` under `profiles`
    if command in SERVER_COMMANDS or not known:
        _register_servers(sub, common, command)
    parser.set_defaults(func=None)
    return parser


def _register_servers(sub: Any, common: Parser, command: str | None) -> None:
    """``demo`` and ``exchange-server`` take their options from modules loaded only when asked for."""
    demo = sub.add_parser("demo", parents=[common], help="try bcsync against a local sample Exchange server")
    if command == "demo":
        try:
            from .. import demo as demo_mod
        except ImportError:
            demo_mod = None
        if demo_mod is not None and hasattr(demo_mod, "add_arguments"):
            demo_mod.add_arguments(demo)
        else:
            demo.add_argument("--port", type=int, default=0, help="port of the sample server (default: any free port)")
            demo.add_argument("--no-tui", action="store_true", help="only run the sample server and sync")
            demo.add_argument("--reset", action="store_true", help="start again from fresh sample data")
    demo.set_defaults(func=_run_demo)
    server = sub.add_parser("exchange-server", parents=[common],
                            help="run the loopback Exchange (EWS) server on its own, for tests and trials")
    if command == "exchange-server":
        try:
            from ..ewsserver import cli as server_cli
        except ImportError as exc:
            raise CliError(f"the loopback Exchange server is not available in this installation ({exc})") from exc
        server_cli.add_arguments(server)
    server.set_defaults(func=_run_exchange_server)
    graph = sub.add_parser("graph-server", parents=[common],
                           help="run the loopback Microsoft Graph server on its own, for tests and trials")
    if command == "graph-server":
        from ..graphserver import cli as graph_cli
        graph_cli.add_arguments(graph)
    graph.set_defaults(func=_run_graph_server)


def _run_demo(ctx: Context) -> int:
    try:
        from .. import demo
    except ImportError as exc:
        raise CliError(f"the demo is not available in this installation ({exc})") from exc
    return int(demo.main(ctx.args) or 0)


def _run_exchange_server(ctx: Context) -> int:
    from ..ewsserver import cli as server_cli

    return int(server_cli.run(ctx.args) or 0)


def _run_graph_server(ctx: Context) -> int:
    from ..graphserver import cli as graph_cli

    return int(graph_cli.run(ctx.args) or 0)


def _open_tui(ctx: Context) -> int:
    if not (sys.stdin and sys.stdin.isatty() and sys.stdout and sys.stdout.isatty()):
        raise CliError("no terminal here for the TUI; use a command instead, e.g. `bcsync status` or "
                       "`bcsync sync` (see `bcsync --help`)")
    from ..tui.app import run_tui

    ctx.paths.ensure()
    return int(run_tui(ctx.paths, ctx.profile) or 0)


def _error_exit(exc: BaseException) -> tuple[int, list[str]]:
    """Map an exception to (exit code, lines to print)."""
    from ..core.contacts_io import ImportFileError
    from ..core.filters import FilterError
    from ..core.store import NotFoundError
    from ..core.sync.events import SyncError

    if isinstance(exc, CliError):
        return exc.code, [str(exc), *exc.details]
    if isinstance(exc, FilterError):
        return EXIT_CONFIG, filter_error_lines(exc)
    if isinstance(exc, ValidationError):
        return EXIT_CONFIG, ["the contact is not valid; nothing was saved:",
                             *(f"  {_caption(k)}: {m}" for k, m in exc.errors.items())]
    if isinstance(exc, ImportFileError):
        return EXIT_CONFIG, [f"cannot import {exc}", "Nothing was imported; the contact store is unchanged."]
    if isinstance(exc, (StoreCorruptError, FileProblem)):
        return EXIT_CONFIG, [str(exc)]
    if isinstance(exc, LockedError):
        return EXIT_LOCKED, [str(exc)]
    if isinstance(exc, SyncError):
        return exc.exit_code, [str(exc)]
    if isinstance(exc, NotFoundError):
        return EXIT_CONFIG, [str(exc)]
    return EXIT_INTERNAL, [f"unexpected error: {type(exc).__name__}: {exc}",
                           "Run again with --debug for details, and please report it."]


def _caption(key: str) -> str:
    from ..core.model import FIELD_BY_KEY

    return FIELD_BY_KEY[key].caption if key in FIELD_BY_KEY else key


def filter_error_where(exc: Any) -> str:
    """Where a filter error is, in the words the CLI and the TUI both use: ``column N`` (from 1)."""
    return f"column {exc.column}"


def filter_error_lines(exc: Any) -> list[str]:
    """A filter error as the TUI shows it: the reason, the expression, a caret under the position."""
    caption = _caption(exc.field) if exc.field else "filter"
    expression = str(exc.expression)
    prefix = f"  {caption}: "
    return [f"bad filter for {caption}: {exc.reason} ({filter_error_where(exc)})",
            prefix + expression, " " * (len(prefix) + max(0, min(exc.position, len(expression)))) + "^"]


def _json_error(as_json: bool, code: int, lines: Sequence[str]) -> None:
    """With --json, an error is JSON on stdout too (the text stays on stderr), so monitoring
    that parses stdout always gets JSON: ``{"error": ..., "details": [...], "exit_code": N}``."""
    if as_json:
        from .output import emit_json

        emit_json({"error": lines[0] if lines else "", "details": list(lines[1:]), "exit_code": code})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get(DEBUG_ENV)) or "--debug" in argv
    try:
        args = build_parser(_command_of(argv)).parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except CliError as exc:
        for i, line in enumerate([str(exc), *exc.details]):
            warn(line) if i == 0 else print(printable(line), file=sys.stderr)
        _json_error("--json" in argv, exc.code, [str(exc), *exc.details])
        return exc.code
    home_given = bool(args.home or os.environ.get("BCSYNC_HOME"))
    ctx = Context(args, Paths.resolve(args.home), args.profile or default_profile_name(), home_given)
    try:
        store_file = ctx.paths.store_file
        # Recovery commands (backups, restore) work on files and must run on a store that no longer loads.
        if not args.profile and not os.environ.get(PROFILE_ENV) and not getattr(args, "recovery", False) and (
                store_file.exists() or store_file.with_name(store_file.name + ".wal").exists()):
            known = read_facts(store_file)  # current status.json: the profile names without loading the store
            ctx.profile = only_profile(known.names() if known else ctx.store(), ctx.profile)
        func = args.func
        return int((func(ctx) if func else _open_tui(ctx)) or 0)
    except KeyboardInterrupt:
        print("\nbcsync: interrupted", file=sys.stderr)
        _json_error(ctx.json, EXIT_INTERRUPTED, ["interrupted"])
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `bcsync contacts list | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        except OSError:
            pass
        return EXIT_OK
    except Exception as exc:
        code, lines = _error_exit(exc)
        if debug:
            import traceback

            traceback.print_exc()
        for i, line in enumerate(lines):
            if i == 0:
                warn(line)
            else:
                print(printable(line), file=sys.stderr)
        _json_error(ctx.json, code, lines)
        return code
    finally:
        ctx.close()
