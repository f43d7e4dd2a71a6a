"""A profile that synced over EWS moves to Graph: its links are carried over by id.

The links hold EWS item ids. Translated to Graph's immutable ids (``translateExchangeIds``) they
keep their merge bases, so the first Graph sync merges three-way as the next EWS sync would have:
an Outlook edit made since the last EWS sync flows to the master, with no conflict. A link that
cannot be translated keeps its id and is relinked by the item's stamp (then merged without a base).
"""

from __future__ import annotations

from dataclasses import replace

from ..lock import LockedError
from ..profiles import Profile
from ..store import Store
from . import events as ev
from .graph import GraphTransport
from .graph_auth import Secrets


def carry_links_over(store: Store, profile: Profile, secrets: Secrets | None, client_secret: str | None,
                     timeout: float = 30.0) -> int:
    """Rewrite the profile's link ids from EWS to Graph; how many were carried over. Raises
    events.SyncError when Graph cannot be reached (the links then stay, to be relinked by stamp)."""
    links = store.links_of(profile.name)
    if not links:
        return 0
    lock = store.sync_lock()
    try:
        lock.acquire(timeout=0)
    except LockedError as exc:
        raise ev.StoreLocked(f"{exc}; the links are relinked by stamp at the next sync instead") from exc
    try:
        transport = GraphTransport(profile, secrets, client_secret=client_secret, timeout=timeout,
                                   max_retry_seconds=timeout)
        try:
            transport.connect()
            graph_ids = transport.translate_ews_ids(sorted({link.item_id for link in links.values()}))
        finally:
            transport.close()
        with store.transaction():
            for doc_id, link in links.items():
                if link.item_id in graph_ids:
                    store.save_link(replace(link, item_id=graph_ids[link.item_id]), doc_id)
        return sum(1 for link in links.values() if link.item_id in graph_ids)
    finally:
        lock.release()
