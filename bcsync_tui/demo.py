"""`bcsync demo`: a real sync with no account.

Starts the loopback Exchange server with a sample mailbox (persisted in the demo directory), fills a
demo contact store with sample contacts, points a "demo" profile at the server and opens the TUI.
From a second terminal, `bcsync demo outlook ...` plays the Outlook user: it lists, adds, edits and
deletes contacts in the mailbox over EWS, so the next sync has something to bring back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from .core.paths import Paths, write_private_file
from .core.profiles import get_or_new_profile, save_profile
from .core.secrets import SecretStore
from .core.store import Store

PROFILE = "demo"
USER = "demo@bcsync.example"
# A loopback-only sample server: this password protects nothing, but it is stored like a real one.
PASSWORD = "demo-password"
FOLDER = "Business Central"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port of the sample server (default: any free port)")
    parser.add_argument("--no-tui", action="store_true", help="run one sync on the demo and print the summary")
    parser.add_argument("--reset", action="store_true", help="start again from fresh sample data")
    parser.add_argument("words", nargs="*", metavar="outlook ACTION",
                        help="from a second terminal: `outlook list`, `outlook add FIELD=VALUE...`, "
                             "`outlook edit N FIELD=VALUE...`, `outlook delete N` act as the Outlook user")


def demo_paths(home: str | None) -> Paths:
    return Paths.resolve(Paths.resolve(home).data_dir / "demo").ensure()


def main(args: argparse.Namespace) -> int:
    paths = demo_paths(getattr(args, "home", None))
    words = list(getattr(args, "words", []) or [])
    if words:
        if words[0] != "outlook":
            print(f"unknown demo action {words[0]!r}; try `bcsync demo outlook list`", file=sys.stderr)
            return 3
        from .demo_outlook import outlook_command

        return outlook_command(paths, words[1:])
    server = start(paths, port=args.port, reset=args.reset)
    try:
        if args.no_tui:
            return sync_once(paths)
        from .tui.app import run_tui

        return run_tui(paths, PROFILE)
    finally:
        server.stop()
        (paths.data_dir / "server.json").unlink(missing_ok=True)


def start(paths: Paths, port: int = 0, reset: bool = False):
    """Start the sample server and make sure the demo store and profile point at it."""
    from .demo_data import load_demo_mailbox, master_contacts
    from .ewsserver import LoopbackExchange

    mailbox_file = paths.data_dir / "mailbox.json"
    if reset:
        for name in ("store.json", "store.json.wal", "mailbox.json", "secrets.json"):
            (paths.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(paths.backup_dir, ignore_errors=True)
    fresh_mailbox = not mailbox_file.exists()
    server = LoopbackExchange(users={USER: PASSWORD}, data_path=mailbox_file).start(port)
    if fresh_mailbox:
        load_demo_mailbox(server, USER)
    with Store.open(paths) as store:
        if store.is_empty():
            store.add_contacts(master_contacts())
        profile = get_or_new_profile(store, PROFILE)
        profile.email = profile.username = USER
        profile.server_url = server.url
        profile.auth_type = "basic"
        profile.folder_name = FOLDER
        save_profile(store, profile)
    SecretStore(paths.secrets_file).set(PROFILE, PASSWORD)
    write_private_file(paths.data_dir / "server.json",
                       json.dumps({"url": server.url, "user": USER, "pid": os.getpid()}).encode())
    return server


def sync_once(paths: Paths) -> int:
    from .core.sync.runner import sync_blocking

    with Store.open(paths) as store:
        run = sync_blocking(store, PROFILE, secrets=SecretStore(paths.secrets_file))
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in run["counts"].items() if v)
    print(f"demo sync {run['status']}: {counts or 'nothing to do'}")
    for skip in run["skipped"]:
        print(f"  skipped {skip['name'] or skip['ref']}: {skip['reason']}")
    print(f"The demo lives in {paths.data_dir}; `bcsync --home {paths.data_dir} status` shows it, "
          f"`bcsync demo` opens it in the TUI.")
    return int(run["exit_code"])


def server_info(paths: Paths) -> dict | None:
    try:
        return json.loads((paths.data_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None

