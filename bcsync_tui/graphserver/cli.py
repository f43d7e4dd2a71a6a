"""``bcsync graph-server``: run the loopback Microsoft Graph server on its own.

    bcsync graph-server --port 0 --user ann@example.com [--user …] [--client ID:SECRET …] [--tls]
                        [--data FILE] [--latency MS] [--auto-approve]

Prints its root URL on the first line (Graph at ROOT/v1.0, sign-in at ROOT/{tenant}) and, with ``--tls``,
the path of the CA certificate to trust on the second; then serves until SIGINT or SIGTERM. Exit codes:
0 after a clean stop, 3 for a configuration error (no user, a bad ``--client``, the port in use, an
unreadable data file).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: pick a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--user", action="append", default=[], metavar="EMAIL",
                        help="a mailbox user; repeat for several")
    parser.add_argument("--client", action="append", default=[], metavar="ID:SECRET",
                        help="an application for the client-credentials grant (repeatable)")
    parser.add_argument("--tls", action="store_true",
                        help="serve https with a certificate made at start (MSAL accepts only https authorities)")
    parser.add_argument("--data", metavar="FILE", help="keep the mailboxes in this JSON file (default: memory)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="wait this many milliseconds before answering each Graph request (benchmarks)")
    parser.add_argument("--auto-approve", action="store_true",
                        help="approve device-code sign-ins at once, as the first user (demo mode); otherwise "
                             "enter the code at ROOT/devicelogin, as at microsoft.com/devicelogin")


def _clients(specs: list[str]) -> dict[str, str]:
    clients: dict[str, str] = {}
    for spec in specs:
        client, sep, secret = spec.partition(":")
        if not sep or not client.strip() or not secret:
            raise ValueError(f"--client expects ID:SECRET, got {spec.partition(':')[0]!r}:…")
        clients[client.strip()] = secret
    return clients


def run(args: argparse.Namespace) -> int:
    from ..ewsserver.cli import serve_until_signalled
    from . import LoopbackGraph

    try:
        users = [u.strip() for u in args.user if u.strip()]
        if not users or any("@" not in u for u in users):
            raise ValueError("give at least one --user EMAIL")
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, not {args.port}")
        if args.latency < 0:
            raise ValueError("--latency must not be negative")
        clients = _clients(args.client)
    except ValueError as e:
        print(f"bcsync graph-server: {e}", file=sys.stderr)
        return 3
    try:
        server = LoopbackGraph(users=users, clients=clients, tls=args.tls, host=args.host, data_path=args.data,
                               latency_ms=args.latency)
    except (ValueError, OSError, KeyError, TypeError) as e:  # what a data file that is not one gives
        what = (f"cannot load {args.data}: it is not a readable loopback Exchange data file ({type(e).__name__}: "
                f"{e})" if args.data else str(e))
        print(f"bcsync graph-server: {what}", file=sys.stderr)
        return 3
    server.auto_approve = bool(args.auto_approve)
    try:
        server.start(args.port)
    except OSError as e:
        print(f"bcsync graph-server: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
        server.close()
        return 3
    def ready() -> None:
        print(server.root, flush=True)
        if server.ca_file:
            print(server.ca_file, flush=True)
        print(f"bcsync graph-server: public client id {server.public_client_id}, tenant {server.tenant_id}",
              file=sys.stderr, flush=True)
    try:
        serve_until_signalled(ready)
    finally:
        server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bcsync_tui.graphserver",
                                     description="Run a loopback Microsoft Graph server.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
