"""`bcsync demo`: a real sync with no account.

Starts the loopback Exchange server with a sample mailbox (persisted in the demo directory), fills a
demo contact store with sample contacts, points a "demo" profile at the server and opens the TUI.
From a second terminal, `bcsync demo outlook ...` plays the Outlook user: it lists, adds, edits and
deletes contacts in the mailbox over EWS, so the next sync has something to bring back.

Only one demo server serves a demo directory: the running one is recorded in ``server.json``
(URL and process id); a second `bcsync demo` (e.g. `--no-tui` while the TUI is open) reuses it
instead of starting a second server on the same mailbox file and repointing the profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .core.paths import Paths, write_private_file
from .core.profiles import get_or_new_profile, save_profile
from .core.secrets import SecretStore
from .core.store import Store
from . import demo_graph

PROFILE = "demo"
USER = "demo@bcsync.example"
# A loopback-only sample server: this password protects nothing, but it is stored like a real one.
PASSWORD = "demo-password"
FOLDER = "Business Central"
SERVER_RECORD = "server.json"
#: how long to wait for a recorded demo server to answer before calling it gone
PROBE_SECONDS = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port of the sample server (default: any free port)")
    parser.add_argument("--no-tui", action="store_true", help="run one sync on the demo and print the summary")
    parser.add_argument("--reset", action="store_true", help="start again from fresh sample data")
    parser.add_argument("--graph", action="store_true",
                        help="sync over Microsoft Graph, as with Exchange Online (Microsoft 365), signing in with a "
                             "device code the demo approves by itself")
    parser.add_argument("words", nargs="*", metavar="outlook ACTION",
                        help="from a second terminal: `outlook list`, `outlook add FIELD=VALUE...`, "
                             "`outlook edit REF FIELD=VALUE...`, `outlook delete REF` act as the Outlook user "
                             "(REF: the #number `list` shows, or the e-mail address)")


def demo_paths(home: str | None) -> Paths:
    return Paths.resolve(Paths.resolve(home).data_dir / "demo").ensure()


def command_prefix(home: str | None) -> str:
    """How the user called bcsync, for hints: ``bcsync`` or ``bcsync --home DIR``."""
    return "bcsync" + (f" --home {shlex.quote(str(home))}" if home else "")


def status_hint(paths: Paths) -> str:
    """The command that shows the demo's status (the demo store's profile is named, not guessed)."""
    return f"bcsync --home {shlex.quote(str(paths.data_dir))} --profile {PROFILE} status"


def main(args: argparse.Namespace) -> int:
    home = getattr(args, "home", None)
    paths = demo_paths(home)
    words = list(getattr(args, "words", []) or [])
    if words:
        if words[0] != "outlook":
            print(f"unknown demo action {words[0]!r}; try `{command_prefix(home)} demo outlook list`", file=sys.stderr)
            return 3
        from .demo_outlook import outlook_command

        return outlook_command(paths, words[1:], command_prefix(home))
    running = running_server(paths)
    if running is not None and args.reset:
        print(f"The demo is running (process {running.pid}, {running.url}); close it before `--reset`.",
              file=sys.stderr)
        return 3
    if running is not None and getattr(args, "graph", False) and running.graph is None:
        print(f"The demo is running over EWS (process {running.pid}); close it to start the demo over Graph.",
              file=sys.stderr)
        return 3
    server = start(paths, port=args.port, reset=args.reset, graph=getattr(args, "graph", False))
    try:
        if args.no_tui:
            return sync_once(paths, home)
        from .tui.app import run_tui

        return run_tui(paths, PROFILE)
    finally:
        server.stop()


@dataclass
class DemoServer:
    """The demo's server as this process sees it: started here (``owned``; stopped and its record
    removed on ``stop()``) or another demo process's, reused (left running)."""

    url: str
    pid: int
    paths: Paths
    server: Any = None  # the LoopbackExchange when owned
    graph: Any = None  # the LoopbackGraph on the same mailbox (`demo --graph`)

    @property
    def owned(self) -> bool:
        return self.server is not None

    def stop(self) -> None:
        if self.server is None:
            return
        if self.graph is not None:
            self.graph.stop()
        self.server.stop()
        record = _read_record(self.paths)
        if record is not None and record.get("pid") == self.pid:
            (self.paths.data_dir / SERVER_RECORD).unlink(missing_ok=True)


def _read_record(paths: Paths) -> dict[str, Any] | None:
    try:
        record = json.loads((paths.data_dir / SERVER_RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str) or not isinstance(record.get("pid"), int):
        return None
    return record


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _answers(url: str) -> bool:
    """Does an HTTP server answer at ``url``? (Any HTTP answer counts: the probe has no password.)"""
    if not url.startswith("http://127.0.0.1:"):
        return False  # the demo serves on loopback only; anything else in the record is not ours
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS):  # noqa: S310 - loopback http only
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def running_server(paths: Paths) -> DemoServer | None:
    """The demo server another process runs for this demo directory, if its record is live: the
    process exists and the URL answers. A stale record (crashed demo, reused port) is None."""
    record = _read_record(paths)
    if record is None or not _process_alive(record["pid"]) or not _answers(record["url"]):
        return None
    return DemoServer(record["url"], record["pid"], paths)


def start_server(paths: Paths, port: int = 0, graph: bool = False) -> DemoServer:
    """The one place the demo's server starts: reuse the running one, else start a loopback
    Exchange server on the demo mailbox (filled with the sample on first use) and record it."""
    running = running_server(paths)
    if running is not None:
        return running
    from .demo_data import load_demo_mailbox
    from .ewsserver import LoopbackExchange

    mailbox_file = paths.data_dir / "mailbox.json"
    fresh_mailbox = not mailbox_file.exists()
    server = LoopbackExchange(users={USER: PASSWORD}, data_path=mailbox_file).start(port)
    if fresh_mailbox:
        load_demo_mailbox(server, USER)
    demo = DemoServer(server.url, os.getpid(), paths, server, demo_graph.start_graph(server) if graph else None)
    write_private_file(paths.data_dir / SERVER_RECORD,
                       json.dumps({"url": demo.url, "user": USER, "pid": demo.pid}).encode())
    return demo


def start(paths: Paths, port: int = 0, reset: bool = False, graph: bool = False) -> DemoServer:
    """Start (or reuse) the sample server and make sure the demo store and profile point at it."""
    from .demo_data import master_contacts

    if reset:
        for name in ("store.json", "store.json.wal", "mailbox.json", "secrets.json", "outlook-refs.json"):
            (paths.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(paths.backup_dir, ignore_errors=True)
    server = start_server(paths, port, graph)
    with Store.open(paths) as store:
        if store.is_empty():
            store.add_contacts(master_contacts())
        profile = get_or_new_profile(store, PROFILE)
        if (profile.email, profile.username, profile.server_url, profile.auth_type, profile.folder_name) != (
                USER, USER, server.url, "basic", FOLDER):
            profile.email = profile.username = USER
            profile.server_url = server.url
            profile.auth_type = "basic"
            profile.folder_name = FOLDER
            save_profile(store, profile)
        before = demo_graph.point_profile(store, profile, server.graph)
    SecretStore(paths.secrets_file).set(PROFILE, PASSWORD)
    if server.graph is not None:
        demo_graph.sign_in(profile, before, SecretStore(paths.secrets_file), server.graph, USER)
    return server


def sync_once(paths: Paths, home: str | None = None) -> int:
    from .core.sync.runner import sync_blocking

    with Store.open(paths) as store:
        run = sync_blocking(store, PROFILE, secrets=SecretStore(paths.secrets_file))
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in run.counts.to_doc().items() if v)
    print(f"demo sync {run.status_value}: {counts or 'nothing to do'}")
    if run.message:
        print(f"  {run.message}")
    for skip in run.skipped:
        print(f"  skipped {skip.name or skip.ref}: {skip.reason}")
    print(f"The demo lives in {paths.data_dir}; `{status_hint(paths)}` shows it, "
          f"`{command_prefix(home)} demo` opens it in the TUI.")
    return int(run.exit_code)


def server_info(paths: Paths) -> DemoServer | None:
    """The running demo server (for `bcsync demo outlook`), or None."""
    return running_server(paths)
