"""The safety guards: checks that stop a run before any write when it looks like data was lost
(an emptied store or folder, a different folder, mass deletes). ``--force`` skips them. Each
message says what happened, that nothing was written, and what ``--force`` will do."""

from __future__ import annotations

from typing import Any

from ..records import LinkRow
from ..words import plural
from . import events as ev
from .planner import Plan, UnlinkKind
from .transport import FolderInfo, RemoteChanges


def check_folder(name: str, old_name: str | None, old_id: str, folder: FolderInfo, linked: int) -> None:
    """The folder-identity guard: the folder found is not the one the ``linked`` links point into."""
    if not old_id or folder.folder_id == old_id or not linked:
        return
    contacts = f"the {plural(linked, 'contact')} synced before"
    if not folder.folder_id:
        raise ev.GuardTripped(
            f"the Outlook folder '{name}' this profile syncs into is gone (deleted in Outlook?). Nothing was "
            f"written. Run with --force to create '{name}' again and put {contacts} back into it, each once.")
    if old_name and old_name != name:
        what = f"the profile now syncs into '{name}' instead of '{old_name}'"
    else:
        what = (f"the Outlook folder '{name}' is not the one this profile synced before (it was deleted and made "
                "again, or another folder took its name)")
    raise ev.GuardTripped(
        f"{what}. Nothing was written. Run with --force to sync into this folder: items in it that carry a "
        f"contact's stamp or e-mail are linked, and the rest of {contacts} are created in it, each once.")


def check_plan(plan: Plan, links: list[LinkRow], snapshot: dict[str, dict[str, Any]], changes: RemoteChanges,
               max_deletes: int, max_delete_fraction: float) -> None:
    """Guards on what the plan would do: an emptied store, an emptied folder, too many deletes."""
    # Deliberate deletes leave tombstones; a store with no records at all lost its data.
    stamped_unknown = sum(1 for it in changes.items if it.stamp and it.stamp not in snapshot)
    if not snapshot and (links or stamped_unknown):
        synced = len(links) or stamped_unknown
        raise ev.GuardTripped(
            f"the contact store looks emptied (0 contacts, but {plural(synced, 'Outlook contact')} "
            f"{'was' if synced == 1 else 'were'} synced from it). Nothing was written. "
            "Restore a backup (`bcsync backups`) or run with --force.")
    recreates = sum(1 for rc in plan.remote_creates if rc.recreate)
    gone = recreates + sum(1 for u in plan.unlink_items if u.kind is UnlinkKind.DELETED_IN_OUTLOOK)
    if links and gone >= max(5, len(links) // 2):
        raise ev.GuardTripped(
            f"{gone} of {len(links)} synced contacts vanished from the Outlook folder; it looks emptied. "
            "Nothing was written. If that was intended, run with --force (they will be recreated).")
    deletes = len(plan.remote_deletes)
    limit = int(max(max_deletes, max_delete_fraction * len(links)))
    if deletes > limit:
        raise ev.GuardTripped(
            f"this sync would remove {plural(deletes, 'contact')} from Outlook (limit {limit}). Nothing was written. "
            "Check the filter and recent deletes, then run with --force if it is right.")
