"""``bcsync exchange-server``: run the loopback EWS server on its own.

    bcsync exchange-server --port 8443 --user ann@example.com:secret [--user bob@example.com:pw]
                           [--data mailboxes.json] [--host 127.0.0.1] [--demo] [--graph [--graph-port PORT]]

Prints the EWS endpoint URL on one line (flushed), then serves until SIGINT or SIGTERM.
``--port 0`` picks a free port. Exit codes: 0 after a clean stop, 3 for a configuration error
(no user, a bad ``--user``, the port in use, an unreadable data file).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from typing import Callable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: pick a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1; plain HTTP with Basic auth: keep it local)")
    parser.add_argument("--user", action="append", default=[], metavar="EMAIL[:PASSWORD]",
                        help="a mailbox user; repeat for several. A password on the command line is visible to "
                             f"other users of this machine: give EMAIL alone and the password in ${PASSWORD_ENV} "
                             "or in --password-file instead")
    parser.add_argument("--password-file", metavar="FILE",
                        help=f"the password of each --user given without one (first line of FILE; else ${PASSWORD_ENV})")
    parser.add_argument("--data", metavar="FILE", help="keep the mailboxes in this JSON file (default: memory)")
    parser.add_argument("--build", choices=("2016", "2019"), default="2019",
                        help="Exchange version to report (default 2019)")
    parser.add_argument("--auth", default="basic", metavar="SCHEMES",
                        help="authentication offered, comma-separated: basic, ntlm, oauth2 (default basic)")
    parser.add_argument("--oauth-client", action="append", default=[], metavar="ID:SECRET",
                        help="an OAuth2 application for the client-credentials grant at /oauth2/token (repeatable)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="wait this many milliseconds before answering each request, to model the round "
                             "trip and processing time of a real Exchange server (benchmarks)")
    parser.add_argument("--demo", action="store_true",
                        help="fill the first user's mailbox with the demo contacts (when it has none yet)")
    parser.add_argument("--graph", action="store_true",
                        help="also serve Microsoft Graph (https, device codes approved at once) on the same "
                             "mailboxes; prints its root URL and CA file after the EWS URL")
    parser.add_argument("--graph-port", type=int, default=0, metavar="PORT",
                        help="TCP port for --graph (default 0: pick a free one)")


#: the password of a ``--user EMAIL`` given without one (kept off the command line)
PASSWORD_ENV = "BCSYNC_EXCHANGE_PASSWORD"


def _default_password(password_file: str | None) -> str | None:
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as fh:
                return fh.readline().rstrip("\r\n") or None
        except OSError as exc:
            raise ValueError(f"cannot read --password-file {password_file}: {exc.strerror or exc}") from exc
    return os.environ.get(PASSWORD_ENV) or None


def _users(specs: list[str], password_file: str | None = None) -> dict[str, str]:
    users: dict[str, str] = {}
    for spec in specs:
        email, sep, password = spec.partition(":")
        if not sep:
            password = _default_password(password_file) or ""
            if not password:
                raise ValueError(f"--user {email} has no password: put it in ${PASSWORD_ENV} or --password-file")
        if "@" not in email or not password:
            raise ValueError(f"--user expects EMAIL or EMAIL:PASSWORD, got {email + sep + ('***' if password else '')!r}")
        users[email.strip()] = password
    return users


def run(args: argparse.Namespace) -> int:
    from . import EXCHANGE_2016_BUILD, EXCHANGE_2019_BUILD, LoopbackExchange

    try:
        users = _users(args.user, args.password_file)
        if not users:
            raise ValueError("give at least one --user EMAIL:PASSWORD")
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, not {args.port}")
        build = EXCHANGE_2016_BUILD if args.build == "2016" else EXCHANGE_2019_BUILD
        clients = dict(c.split(":", 1) for c in args.oauth_client if ":" in c)
        if len(clients) != len(args.oauth_client):
            raise ValueError("--oauth-client takes ID:SECRET")
        server = LoopbackExchange(users, data_path=args.data, host=args.host, build=build,
                                  auth=tuple(s.strip().lower() for s in args.auth.split(",") if s.strip()),
                                  oauth_clients=clients)
        if args.latency < 0:
            raise ValueError("--latency must not be negative")
        if args.latency:
            server.faults.slow(args.latency / 1000.0, count=None)
    except (ValueError, OSError) as e:
        print(f"bcsync exchange-server: {e}", file=sys.stderr)
        return 3
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            print("bcsync exchange-server: warning: serving plain HTTP with Basic authentication on "
                  f"{args.host}, not only on this machine", file=sys.stderr)
    except ValueError:
        pass
    if getattr(args, "demo", False):
        from ..demo_data import DEMO_FOLDER, load_demo_mailbox
        first = next(iter(users))
        if not any(p.split("/")[-1] == DEMO_FOLDER for p in server.outlook(first).folders()):
            load_demo_mailbox(server, first)
    try:
        server.start(args.port)
    except OSError as e:
        print(f"bcsync exchange-server: cannot listen on {args.host}:{args.port}: {e.strerror or e}",
              file=sys.stderr)
        return 3
    graph = None
    if getattr(args, "graph", False):
        from ..graphserver import LoopbackGraph
        try:
            graph = LoopbackGraph(share=server, clients=clients, tls=True, host=args.host,
                                  latency_ms=args.latency).start(args.graph_port)
        except OSError as e:
            server.stop()
            print(f"bcsync exchange-server: cannot serve Graph on {args.host}:{args.graph_port}: {e.strerror or e}",
                  file=sys.stderr)
            return 3
        graph.auto_approve = True
    def ready() -> None:
        print(server.url, flush=True)
        if graph is not None:
            print(graph.root, graph.ca_file, sep="\n", flush=True)
    try:
        serve_until_signalled(ready)
    finally:
        if graph is not None:
            graph.close()
        server.stop()
    return 0


def serve_until_signalled(ready: Callable[[], None]) -> None:
    """Call ``ready()`` (which says where the servers are) once SIGINT and SIGTERM are handled, then block
    until one arrives (the servers run on their own threads)."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        ready()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bcsync_tui.ewsserver",
                                     description="Run a loopback Exchange Web Services server.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
