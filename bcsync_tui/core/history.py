"""Run history and the conflict log, as the TUI and the CLI show them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the store module is imported when a store is used, not by `bcsync status`
    from .store import Store


def list_runs(store: Store, profile: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Run records, newest first."""
    runs = [dict(r) for r in store.runs.raw().values() if profile is None or r.get("profile") == profile]
    runs.sort(key=lambda r: r.get("started_at", ""), reverse=True)
    return runs[:limit] if limit else runs


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    for r in store.runs.raw().values():
        if r.get("id") == run_id or r.get("id", "").startswith(run_id):
            return dict(r)
    from .store import NotFoundError

    raise NotFoundError(f"no run with id {run_id!r}; `bcsync log` lists them")


def list_conflicts(store: Store, profile: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
    """Conflict log rows, newest first."""
    rows = [dict(c) for c in store.conflicts.raw().values()
            if (profile is None or c.get("profile") == profile) and (run_id is None or c.get("run_id") == run_id)]
    rows.sort(key=lambda c: c.get("at", ""), reverse=True)
    return rows


def reapply_conflict(store: Store, conflict_id: str) -> dict[str, Any]:
    """Put the Outlook value the master overruled back into the master; the next sync sends it out."""
    with store.transaction():
        row = next((c for c in store.conflicts.raw().values() if c.get("id") == conflict_id), None)
        if row is None:
            from .store import NotFoundError

            raise NotFoundError(f"no conflict with id {conflict_id!r}")
        contact = store.update_contact(row["contact_uuid"], {row["field"]: row["outlook_value"]})
        from tinydb import Query  # (a store is open: TinyDB is loaded; `bcsync status` never gets here)

        store.conflicts.update({"reapplied": True}, Query().id == conflict_id)
    return contact
