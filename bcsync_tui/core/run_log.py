"""Keeping run records within bounds: each text capped, a bounded history per profile.

A server can put anything into an error message (an audit stored a 20 MB SOAP fault string whole,
63 MB of store after three runs), and a scheduled sync adds a record every few minutes for years.
``record_run`` is how a finished run is stored: its texts capped, and the profile's oldest records
beyond ``MAX_RUNS_PER_PROFILE`` pruned in the same transaction. Both limits are in docs/cli.md.
"""

from __future__ import annotations

from typing import Any

from .store import Store

#: run records kept per profile (the newest); older ones are pruned when a run is recorded
MAX_RUNS_PER_PROFILE = 500
#: characters kept of any one text in a run record (a message, an error from the server)
MAX_TEXT = 2000


def cap_text(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" … [{len(text) - limit} more characters not kept]"


def capped(value: Any) -> Any:
    """``value`` with every string in it (at any depth) cut to MAX_TEXT characters."""
    if isinstance(value, str):
        return cap_text(value)
    if isinstance(value, dict):
        return {k: capped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [capped(v) for v in value]
    return value


def record_run(store: Store, run: dict[str, Any]) -> None:
    """Store a run record (texts capped) and prune the profile's history, in one transaction."""
    with store.transaction():
        store.runs.insert(capped(run))
        profile = run.get("profile")
        mine = sorted(((str(r.get("started_at") or ""), int(doc_id)) for doc_id, r in store.runs.raw().items()
                       if r.get("profile") == profile), reverse=True)
        old = [doc_id for _, doc_id in mine[MAX_RUNS_PER_PROFILE:]]
        if old:
            store.runs.remove(doc_ids=old)
