"""`bcsync demo outlook ...`: play the Outlook user against the running demo server.

It talks EWS to the demo's loopback server through the same transport the sync uses, so what it
changes is exactly what a user editing in Outlook would change.
"""

from __future__ import annotations

import sys

from .core import model
from .core.paths import Paths
from .core.profiles import Profile
from .core.sync.events import SyncError
from .core.sync.transport import ItemUpdate, NewItem, RemoteItem

USAGE = ("usage: bcsync demo outlook list | add FIELD=VALUE... | edit N FIELD=VALUE... | delete N\n"
         "  FIELD is a field name or caption (first_name, surname, email, city, job_title, 'Phone No.', ...);\n"
         "  N is the number `list` shows.")


def _pairs(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        name, sep, value = word.partition("=")
        key = model.resolve_field(name)
        if not sep or key not in model.SYNCED_KEYS:
            raise ValueError(f"{word!r} is not FIELD=VALUE with a synced field (e.g. city=Bergen)")
        out[key] = value
    return out


def _show(items: list[RemoteItem]) -> None:
    print(f"{'N':>3}  {'Name':<28} {'E-Mail':<34} {'City':<16} Job Title")
    for n, item in enumerate(items, 1):
        f = item.fields
        print(f"{n:>3}  {f['name'][:28]:<28} {f['email'][:34]:<34} {f['city'][:16]:<16} {f['job_title']}")


def outlook_command(paths: Paths, words: list[str]) -> int:
    from .demo import FOLDER, PASSWORD, USER, server_info

    info = server_info(paths)
    if info is None:
        print("The demo is not running. Start it with `bcsync demo` in another terminal first.", file=sys.stderr)
        return 3
    from .core.sync.ews import EwsTransport

    transport = EwsTransport(Profile(name="demo-outlook", email=USER, server_url=info["url"], username=USER),
                             PASSWORD, timeout=10, max_retry_seconds=10)
    try:
        transport.connect()
        folder = transport.ensure_folder(FOLDER, None, create=False).folder_id
        if not folder:
            print(f"The demo mailbox has no '{FOLDER}' folder yet; run a sync first.", file=sys.stderr)
            return 3
        items = sorted(transport.changes(folder, None).items, key=lambda i: (i.fields["name"].lower(), i.item_id))
        action, rest = (words[0], words[1:]) if words else ("list", [])
        if action == "list":
            _show(items)
            return 0
        if action == "add":
            result = transport.create(folder, [NewItem("", _pairs(rest))])[0]
        elif action in ("edit", "delete") and rest and rest[0].isdigit() and 0 < int(rest[0]) <= len(items):
            item = items[int(rest[0]) - 1]
            if action == "edit":
                result = transport.update([ItemUpdate(item.item_id, item.change_key, _pairs(rest[1:]))])[0]
            else:
                result = transport.delete([item.item_id], move_to_deleted_items=True)[0]
        else:
            print(USAGE, file=sys.stderr)
            return 3
        if not result.ok:
            print(f"Outlook refused: {result.code} {result.message}", file=sys.stderr)
            return 1
        print(f"done: {action}. Sync in the demo (r) to see it arrive in the master.")
        return 0
    except ValueError as exc:
        print(f"{exc}\n{USAGE}", file=sys.stderr)
        return 3
    except SyncError as exc:
        print(f"Cannot reach the demo server: {exc}", file=sys.stderr)
        return 3
    finally:
        transport.close()
