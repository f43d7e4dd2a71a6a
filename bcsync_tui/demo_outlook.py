"""`bcsync demo outlook ...`: play the Outlook user against the running demo server.

It talks EWS to the demo's loopback server through the same transport the sync uses, so what it
changes is exactly what a user editing in Outlook would change. Contacts are addressed by a
number that never moves (kept per Outlook item in the demo directory, never reused) or by their
e-mail address, and every reply names the contact it acted on.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from .core import model
from .core.paths import Paths, write_private_file
from .core.profiles import Profile
from .core.sync.events import SyncError
from .core.sync.transport import ItemUpdate, NewItem, RemoteItem

USAGE = ("usage: bcsync demo outlook list | add FIELD=VALUE... | edit REF FIELD=VALUE... | delete REF\n"
         "  FIELD is a field name or caption (first_name, surname, email, city, job_title, 'Phone No.', ...);\n"
         "  REF is the #number `list` shows (it stays with the contact) or the contact's e-mail address.")
REFS_FILE = "outlook-refs.json"


class RefError(ValueError):
    """A REF that names no contact in the folder."""


@dataclass
class OutlookRefs:
    """Stable numbers for the items of the demo's Outlook folder: an item keeps its number across
    syncs, edits and other contacts' deletes; a number is never given to another item."""

    numbers: dict[str, int] = field(default_factory=dict)
    next_number: int = 1

    @classmethod
    def load(cls, paths: Paths) -> OutlookRefs:
        try:
            data = json.loads((paths.data_dir / REFS_FILE).read_text())
            return cls({str(k): int(v) for k, v in data["numbers"].items()}, int(data["next"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def save(self, paths: Paths) -> None:
        write_private_file(paths.data_dir / REFS_FILE,
                           json.dumps({"numbers": self.numbers, "next": self.next_number}).encode())

    def number(self, item_id: str) -> int:
        if item_id not in self.numbers:
            self.numbers[item_id] = self.next_number
            self.next_number += 1
        return self.numbers[item_id]

    def number_all(self, items: list[RemoteItem]) -> None:
        """Number the items not seen before, in list order (so a fresh demo numbers 1, 2, 3 down the list)."""
        for item in items:
            self.number(item.item_id)

    def find(self, items: list[RemoteItem], ref: str) -> RemoteItem:
        text = ref.strip().lstrip("#")
        if "@" in text:
            matches = [i for i in items if text.lower() in (i.fields.get("email", "").lower(),
                                                             i.fields.get("email_2", "").lower())]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise RefError(f"{len(matches)} contacts have the e-mail {text}; use the #number `list` shows")
            raise RefError(f"no contact in the folder has the e-mail {text}")
        if text.isdigit():
            for item in items:
                if self.numbers.get(item.item_id) == int(text):
                    return item
            raise RefError(f"no contact #{text} in the folder now (deleted or moved?); `list` shows the numbers")
        raise RefError(f"{ref!r} is neither a #number from `list` nor an e-mail address")


def describe(item_fields: dict[str, str], number: int | None = None) -> str:
    """``#12 Kari Nordmann <kari@example.com>``, for replies."""
    name = item_fields.get("name") or model.compose_name(item_fields) or "(no name)"
    email = item_fields.get("email", "")
    return " ".join(p for p in (f"#{number}" if number else "", name, f"<{email}>" if email else "") if p)


def _pairs(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        name, sep, value = word.partition("=")
        key = model.resolve_field(name)
        if not sep or key not in model.SYNCED_KEYS:
            raise ValueError(f"{word!r} is not FIELD=VALUE with a synced field (e.g. city=Bergen)")
        out[key] = value
    return out


def _show(items: list[RemoteItem], refs: OutlookRefs) -> None:
    print(f"{'#':>4}  {'Name':<28} {'E-Mail':<34} {'City':<16} Job Title")
    for item in items:
        f = item.fields
        print(f"{refs.number(item.item_id):>4}  {f['name'][:28]:<28} {f['email'][:34]:<34} {f['city'][:16]:<16} "
              f"{f['job_title']}")


def outlook_command(paths: Paths, words: list[str], bcsync: str = "bcsync") -> int:
    from .demo import FOLDER, PASSWORD, USER, running_server

    server = running_server(paths)
    if server is None:
        print(f"The demo is not running. Start it with `{bcsync} demo` in another terminal first.", file=sys.stderr)
        return 3
    from .core.sync.ews import EwsTransport

    transport = EwsTransport(Profile(name="demo-outlook", email=USER, server_url=server.url, username=USER),
                             PASSWORD, timeout=10, max_retry_seconds=10)
    refs = OutlookRefs.load(paths)
    try:
        transport.connect()
        folder = transport.ensure_folder(FOLDER, None, create=False).folder_id
        if not folder:
            print(f"The demo mailbox has no '{FOLDER}' folder yet; run a sync first.", file=sys.stderr)
            return 3
        items = sorted(transport.changes(folder, None).items, key=lambda i: (i.fields["name"].lower(), i.item_id))
        refs.number_all(items)
        action, rest = (words[0], words[1:]) if words else ("list", [])
        if action == "list":
            _show(items, refs)
            return 0
        if action == "add":
            fields = _pairs(rest)
            if not fields.get("name") and model.compose_name(fields):
                fields["name"] = model.compose_name(fields)  # Outlook files a new contact under its name
            result = transport.create(folder, [NewItem("", fields)])[0]
            target = describe(fields, refs.number(result.item_id) if result.ok and result.item_id else None)
            done = f"added {target}"
        elif action in ("edit", "delete") and rest:
            item = refs.find(items, rest[0])
            target = describe(item.fields, refs.number(item.item_id))
            if action == "edit":
                changes = _pairs(rest[1:])
                if not changes:
                    raise ValueError("say what to change, e.g. city=Bergen")
                result = transport.update([ItemUpdate(item.item_id, item.change_key, changes)])[0]
                done = f"edited {target}: " + ", ".join(f"{model.FIELD_BY_KEY[k].caption} = {v!r}"
                                                         for k, v in changes.items())
            else:
                result = transport.delete([item.item_id], move_to_deleted_items=True)[0]
                done = (f"deleted {target} (moved to Deleted Items). The master still has it, so the next "
                        "sync puts it back, with a new #number")
        else:
            print(USAGE, file=sys.stderr)
            return 3
        if not result.ok:
            print(f"Outlook refused to change {target}: {result.message or 'no reason given'}", file=sys.stderr)
            return 1
        print(f"{done}." if action == "delete" else f"{done}. Sync in the demo (r) to see it arrive in the master.")
        return 0
    except ValueError as exc:
        print(f"{exc}\n{USAGE}", file=sys.stderr)
        return 3
    except SyncError as exc:
        print(f"Cannot reach the demo server: {exc}", file=sys.stderr)
        return 3
    finally:
        refs.save(paths)
        transport.close()
