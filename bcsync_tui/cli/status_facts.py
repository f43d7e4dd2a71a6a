"""The facts ``bcsync status`` reports, from ``status.json`` when it is current, else from the store.

Counting needs every contact (the filter decides what goes to Outlook), so it is done only by a
process that has the store loaded, and kept in ``status.json`` (see ``core/status_file.py``) for
the next status, which then reads a few kilobytes instead of the whole store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.status_file import ProfileFacts, Signature, StoreFacts, facts_are_current, read_facts, write_facts
from ..core.store_errors import StoreCorruptError

if TYPE_CHECKING:  # a current status.json is read without loading the store
    from ..core.store import Store


def facts_of(store: Store) -> tuple[Signature, StoreFacts]:
    """Count what status reports, from the loaded store; with the signature of the files counted."""
    # (imported here: a status answered from status.json needs none of them)
    from ..core.filters import ContactFilter, FilterError
    from ..core.history import list_runs
    from ..core.sync.eligibility import outbound_reason
    from ..tui.badges import count_kept

    sig = store.storage.signature()
    contacts = store.contacts_raw()
    profiles = []
    for doc in sorted(store.profiles.raw().values(), key=lambda d: str(d.get("name", ""))):
        name = doc.get("name", "")
        runs = list_runs(store, name)
        try:
            cf: ContactFilter | None = ContactFilter.from_dict(doc.get("filter") or {})
        except FilterError:
            cf = None
        links = store.links_by_contact(name)
        selected = None if cf is None else sum(1 for c in contacts if outbound_reason(c, cf) is None)
        profiles.append(ProfileFacts(
            doc={k: v for k, v in doc.items() if k != "state"}, last_run=runs[0] if runs else None,
            last_ok_run=next((r for r in runs if r.get("status") == "ok"), None), selected=selected,
            linked=len(links), kept=count_kept(contacts, cf, links) if cf is not None else 0))
    return sig, StoreFacts(master=len(contacts), profiles=tuple(profiles))


def record_facts(store: Store) -> StoreFacts:
    """Count from the loaded store and keep the figures for the next status (best effort: a status
    file that cannot be written only means the next status loads the store)."""
    sig, facts = facts_of(store)
    try:
        write_facts(store.path, sig, facts)
    except OSError:
        pass
    return facts


def refresh_facts(store: Store) -> None:
    """At the end of a command that loaded the store: bring ``status.json`` up to date if it is not."""
    try:
        if not facts_are_current(store.path, store.storage):
            record_facts(store)
    except (OSError, StoreCorruptError):
        pass  # the store changed under us into something unreadable: the next command says so
    except Exception:  # noqa: BLE001 - a cache must never turn a command that worked into a failure;
        pass  # whatever the counting met (a hand-edited link), `bcsync status` meets and reports it


def current_facts(store_file, load_store) -> StoreFacts:
    """The facts from ``status.json`` if current, else counted from ``load_store()`` and recorded."""
    facts = read_facts(store_file)
    return facts if facts is not None else record_facts(load_store())
