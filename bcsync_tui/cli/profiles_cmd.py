"""``bcsync profiles remove NAME``: forget a sync profile.

Removes the profile's settings, sync state, links, pending-write journal, run history, conflict log
and secrets. It never touches a master contact, nor the items in the profile's Outlook folder (they
stay there, unlinked: a profile set up again later relinks them by stamp).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ..core.profiles import list_profiles
from ..core.store import Store
from .common import confirm, plural
from .main import EXIT_OK, CliError, Context
from .output import emit_json, say

#: every kind of secret a profile may keep (SecretStore kinds: the password, Graph's token cache)
SECRET_KINDS = ("password", "graph_token_cache")


def register(profiles_parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Adds ``remove`` under ``bcsync profiles`` (which, alone, still lists the profiles)."""
    actions = profiles_parser.add_subparsers(dest="profiles_action", metavar="ACTION")
    rm = actions.add_parser("remove", parents=[common],
                            help="forget a profile: its settings, links, state, history and secrets "
                                 "(never a contact, never an Outlook item)")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_profiles_remove)


@dataclass(frozen=True)
class Removed:
    profile: str
    links: int
    runs: int
    conflicts: int
    journal: int

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "links": self.links, "runs": self.runs, "conflicts": self.conflicts,
                "journal": self.journal}


def _remove(store: Store, name: str) -> Removed:
    """One transaction: every record of the profile goes, or none does."""
    tables = {"profiles": store.profiles, "links": store.links, "runs": store.runs, "conflicts": store.conflicts,
              "journal": store.journal}
    ids = {what: [d.doc_id for d in store.docs(t, **({"name": name} if what == "profiles" else {"profile": name}))]
           for what, t in tables.items()}
    with store.transaction():
        store.remove_links(ids["links"])  # (with their details)
        for what, doc_ids in ids.items():
            if doc_ids and what != "links":
                tables[what].remove(doc_ids=doc_ids)
    return Removed(name, len(ids["links"]), len(ids["runs"]), len(ids["conflicts"]), len(ids["journal"]))


def cmd_profiles_remove(ctx: Context) -> int:
    name = ctx.args.name
    store = ctx.store()
    if name not in {p.name for p in list_profiles(store)}:
        known = ", ".join(sorted(p.name for p in list_profiles(store))) or "none yet"
        raise CliError(f"no profile named {name!r} in this store (profiles: {known})")
    linked = len(store.docs(store.links, profile=name))
    confirm(f"Remove profile {name!r}, its {plural(linked, 'link')}, sync state, history and secrets? "
            "No contact is deleted, in the master or in Outlook", ctx.args.yes)
    lock = store.sync_lock()
    lock.acquire(timeout=0)  # not while a sync of this store runs (LockedError: exit 4)
    try:
        removed = _remove(store, name)
    finally:
        lock.release()
    secrets = ctx.secrets()
    for kind in SECRET_KINDS:
        secrets.delete(name, kind)
    if ctx.json:
        emit_json({"schema": 1, "removed": removed.to_dict()})
        return EXIT_OK
    say(f"Removed profile {name!r}: {plural(removed.links, 'link')}, {plural(removed.runs, 'run')} of history, "
        f"{plural(removed.conflicts, 'logged conflict')} and its secrets.")
    say("No contact was deleted; the items in its Outlook folder stay there, unlinked.")
    return EXIT_OK
