"""One sync run for one profile: lock, read both sides, plan, guard, execute, record.

Blocking and Textual-free; it reports progress only through a callback (``runner`` wraps it for
asyncio). Every outcome, including failures and guard aborts, ends as a run record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tinydb import Query

from .. import model
from ..filters import ContactFilter, FilterError
from ..lock import LockedError
from ..profiles import Profile, load_profile, update_state
from ..run_log import record_run
from ..store import NotFoundError, Store
from . import events as ev
from .executor import BATCH, Cancelled, Executor
from .eligibility import outbound_reason
from .planner import Plan, PlanInput, build_plan
from .transport import FolderInfo, FolderMissing, RemoteChanges, SyncStateInvalid, Transport

TransportFactory = Callable[[Profile], Transport]
ProgressCallback = Callable[[ev.Progress], None]

COUNT_KEYS = ("outlook_created", "outlook_updated", "outlook_deleted", "outlook_recreated", "master_created",
              "master_updated", "unlinked", "conflicts", "skipped", "errors")


def new_run(profile: str, mode: str, dry_run: bool) -> dict[str, Any]:
    return {"id": model.new_uuid(), "profile": profile, "mode": mode, "dry_run": dry_run,
            "started_at": model.utc_now(), "ended_at": None, "status": ev.STATUS_OK, "exit_code": ev.EXIT_OK,
            "message": "", "counts": dict.fromkeys(COUNT_KEYS, 0), "skipped": [], "errors": [], "warnings": [],
            "plan": [], "throttle_waits": 0, "throttle_seconds": 0.0, "token_resets": 0, "requests": 0}


class SyncRun:
    def __init__(self, store: Store, profile_name: str, factory: TransportFactory, *, mode: str = "incremental",
                 dry_run: bool = False, force: bool = False, on_progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None, batch: int = BATCH):
        if mode not in ("incremental", "full"):
            raise ValueError(f"unknown sync mode {mode!r}")
        self.store, self.name, self.factory = store, profile_name, factory
        self.mode, self.dry_run, self.force = mode, dry_run, force
        self.on_progress, self.cancel, self.batch = on_progress, cancel, batch
        self.run = new_run(profile_name, mode, dry_run)
        self.phase = "starting"

    # --- progress ------------------------------------------------------------------------------

    def report(self, phase: str, done: int = 0, total: int = 0, message: str = "", wait: float = 0.0) -> None:
        self.phase = phase
        if self.on_progress is not None:
            self.on_progress(ev.Progress(phase, done, total, dict(self.run["counts"]), message, wait))

    def _throttled(self, seconds: float) -> None:
        self.run["throttle_waits"] += 1
        self.run["throttle_seconds"] += seconds
        self.report(self.phase, message=f"throttled, resuming in {seconds:.0f} s", wait=seconds)

    # --- the run -------------------------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        lock = self.store.sync_lock()
        try:
            lock.acquire(timeout=0)
        except LockedError as exc:
            raise ev.StoreLocked(str(exc)) from exc
        transport: Transport | None = None
        try:
            try:
                profile = self.profile = load_profile(self.store, self.name)
                transport = self.factory(profile)
                transport.on_throttle = self._throttled
                self._sync(profile, transport)
            except Cancelled:
                self._finish(ev.STATUS_CANCELLED, ev.EXIT_ITEM_ERRORS, "cancelled; the next sync continues from here")
            except ev.SyncError as exc:
                status = {ev.GuardTripped: ev.STATUS_ABORTED, ev.RunCutShort: ev.STATUS_PARTIAL}.get(
                    type(exc), ev.STATUS_FAILED)
                self._finish(status, exc.exit_code, str(exc))
            except NotFoundError as exc:
                self._finish(ev.STATUS_FAILED, ev.EXIT_CONFIG, str(exc))
            finally:
                if transport is not None:
                    self.run["requests"] = transport.stats.requests
                    transport.close()
            if not self.dry_run:
                with self.store.transaction():
                    record_run(self.store, self.run)  # texts capped, history pruned (run_log.py)
            return self.run
        finally:
            lock.release()

    def _finish(self, status: str, code: int, message: str) -> None:
        self.run.update(status=status, exit_code=code, message=message, ended_at=model.utc_now())

    def _sync(self, profile: Profile, t: Transport) -> None:
        try:
            contact_filter = ContactFilter.from_dict(profile.filter)
        except FilterError as exc:
            raise ev.ConfigurationProblem(f"the profile's filter is invalid: {exc}. Fix it with `bcsync filter`") from exc
        state = dict(profile.state)
        self.report("connecting")
        t.connect()
        self.server_remember = t.server_info().remember
        # A folder name changed in the setup means a different folder, found by name.
        known_id = state.get("folder_id") if state.get("folder_name", profile.folder_name) == profile.folder_name else None
        folder = t.ensure_folder(profile.folder_name, known_id, create=False)  # no write before the guards
        links = [dict(d) for d in self.store.links.raw().values() if d.get("profile") == self.name]
        self._links_before = links
        journal = [j for j in self.store.journal.raw().values() if j.get("profile") == self.name]
        links_lost = len(links) < int(state.get("linked_count", 0))
        full = (self.mode == "full" or bool(journal) or links_lost or not state.get("sync_state")
                or folder.folder_id != state.get("folder_id"))
        self.report("reading Outlook")
        try:
            changes = self._read_changes(t, folder.folder_id, None if full else state.get("sync_state"), state)
        except FolderMissing:
            folder = t.ensure_folder(profile.folder_name, None, create=False)
            changes = self._read_changes(t, folder.folder_id, None, state)
        folder_changed = bool(state.get("folder_id")) and folder.folder_id != state.get("folder_id")
        if folder_changed and links and not self.force:
            raise ev.GuardTripped(_folder_guard_message(profile.folder_name, state.get("folder_name"), folder, len(links)))
        if not folder.folder_id and not self.dry_run:
            folder = t.ensure_folder(profile.folder_name, None, create=True)
            changes = self._read_changes(t, folder.folder_id, None, state)
        snapshot = {c["uuid"]: dict(c) for c in self.store.contacts.raw().values()}
        if not changes.full:
            self._fetch_orphans(t, folder.folder_id, changes, state, snapshot, links, contact_filter)
        self.report("planning")
        plan = build_plan(PlanInput(
            snapshot, links, changes.items, set(changes.deleted_ids), changes.full, contact_filter,
            profile.master_delete_policy, profile.leave_filter_policy, profile.link_outside_filter))
        self._record_plan(plan)
        if not self.force:
            self._guard(plan, links, snapshot, changes)
        if self.dry_run:
            self._finish(ev.STATUS_OK, ev.EXIT_OK, "dry run: nothing was written")
            return
        if plan.has_writes:
            self.store.backup("sync")
        executor = Executor(self.store, self.name, t, folder.folder_id, self.run, snapshot, self.report,
                            self.cancel, self.batch)
        executor.execute(plan)
        orphans = self._orphans_after(state, changes, plan)
        new_state, recheck = self._drain(t, folder.folder_id, changes.state, executor.written_ids)
        if not changes.full and not changes.items and not changes.deleted_ids and not executor.written_ids:
            new_state = state.get("sync_state", new_state)  # nothing happened: the old state is as good
        self._save_state(profile, state, folder.folder_id, new_state, recheck, orphans, changes.full)
        errors = self.run["counts"]["errors"]
        self._finish(ev.STATUS_PARTIAL if errors else ev.STATUS_OK, ev.EXIT_ITEM_ERRORS if errors else ev.EXIT_OK,
                     f"{errors} item(s) failed; they are retried at the next sync" if errors else "")

    def _read_changes(self, t: Transport, folder_id: str, sync_state: str | None, state: dict[str, Any]) -> RemoteChanges:
        if not folder_id:  # dry run before the folder exists
            return RemoteChanges([], [], "", True)
        try:
            changes = t.changes(folder_id, sync_state)
        except SyncStateInvalid:
            self.run["token_resets"] += 1
            changes = t.changes(folder_id, None)
            changes.state_reset = True
        if not changes.full:
            wanted = [i for i in state.get("recheck_ids", []) if i not in {it.item_id for it in changes.items}]
            if wanted:
                for item_id, item in zip(wanted, t.get(folder_id, wanted), strict=True):
                    if item is None:
                        changes.deleted_ids.append(item_id)
                    else:
                        changes.items.append(item)
        return changes

    def _fetch_orphans(self, t: Transport, folder_id: str, changes: RemoteChanges, state: dict[str, Any],
                       snapshot: dict[str, dict[str, Any]], links: list[dict[str, Any]],
                       contact_filter: ContactFilter) -> None:
        """An incremental run sees only changed items. Items known to be in the folder but unlinked
        (unlinked by policy, skipped, copies, duplicates) are fetched when this run could now decide
        differently about them, so incremental and full sync reach the same end state."""
        orphans: dict[str, list[str]] = state.get("orphans", {})
        if not orphans:
            return
        gone = set(changes.deleted_ids)
        linked = {lk["contact_uuid"] for lk in links if lk["item_id"] not in gone}
        live_emails = set()
        wanted_stamps, wanted_emails = set(), set()
        for uuid, c in snapshot.items():
            if c.get("deleted"):
                continue
            email = model.normalise_email(c.get("email"))
            live_emails.add(email)
            if uuid not in linked and outbound_reason(c, contact_filter) is None:
                wanted_stamps.add(uuid)
                wanted_emails.add(email)
        seen = {it.item_id for it in changes.items} | gone

        def wanted(stamp: str, email: str, kind: str) -> bool:
            if stamp:
                return stamp in wanted_stamps
            return email in wanted_emails or (kind == "duplicate" and email not in live_emails)

        fetch = [i for i, (stamp, email, kind) in orphans.items() if i not in seen and wanted(stamp, email, kind)]
        if fetch:
            for item in t.get(folder_id, fetch):
                if item is not None:
                    changes.items.append(item)

    def _orphans_after(self, state: dict[str, Any], changes: RemoteChanges, plan: Plan) -> dict[str, list[str]]:
        """Folder items this profile knows but has not linked: item id → [stamp, e-mail, kind]."""
        orphans = {} if changes.full else dict(state.get("orphans", {}))
        for item_id in changes.deleted_ids:
            orphans.pop(item_id, None)
        by_id = {it.item_id: it for it in changes.items}
        linked = {d["item_id"] for d in self.store.links.raw().values() if d.get("profile") == self.name}
        for item_id in list(by_id) + list(orphans):
            if item_id in linked:
                orphans.pop(item_id, None)
        for skip in plan.skipped:
            item = by_id.get(skip.ref)
            if item is not None:
                orphans[item.item_id] = [item.stamp or "", model.normalise_email(item.fields.get("email")), skip.kind]
        old_links = {lk["item_id"]: lk for lk in self._links_before}
        for item_id, reason in plan.unlink_items:
            lk = old_links.get(item_id)
            if lk is not None and "policy: unlink" in reason:
                email = model.normalise_email((lk.get("base_remote") or {}).get("email"))
                orphans[item_id] = [lk["contact_uuid"], email, "unlinked"]
        return orphans

    def _record_plan(self, plan: Plan) -> None:
        run, counts = self.run, self.run["counts"]
        for s in plan.skipped:
            run["skipped"].append({"ref": s.ref, "name": s.name, "reason": s.reason})
        counts["skipped"] = len(plan.skipped)
        run["warnings"].extend(plan.warnings)
        if not self.dry_run:
            return
        names = {}
        for c in self.store.contacts.raw().values():
            names[c["uuid"]] = (c.get("no", ""), c.get("name", ""))
        rows = run["plan"]
        for rc in plan.remote_creates:
            no, name = names.get(rc.uuid, ("", ""))
            rows.append({"action": "recreate" if rc.recreate else "create", "side": "outlook", "ref": no,
                         "name": name, "detail": "deleted in Outlook; recreated" if rc.recreate else ""})
            counts["outlook_recreated" if rc.recreate else "outlook_created"] += 1
        for ru in plan.remote_updates:
            no, name = names.get(ru.uuid, ("", ""))
            detail = ", ".join(sorted(ru.fields)) + (" + stamp" if ru.set_stamp else "")
            rows.append({"action": "update", "side": "outlook", "ref": no, "name": name, "detail": detail})
            counts["outlook_updated"] += bool(ru.fields)
        for rd in plan.remote_deletes:
            no, name = names.get(rd.uuid, ("", ""))
            rows.append({"action": "delete", "side": "outlook", "ref": no, "name": name, "detail": rd.reason})
            counts["outlook_deleted"] += 1
        for mc in plan.master_creates:
            rows.append({"action": "create", "side": "master", "ref": mc.item.item_id[:16],
                         "name": mc.contact.get("name", ""), "detail": "imported from Outlook"})
            counts["master_created"] += 1
        for mu in plan.master_updates:
            no, name = names.get(mu.uuid, ("", ""))
            rows.append({"action": "update", "side": "master", "ref": no, "name": name,
                         "detail": ", ".join(sorted(mu.changes))})
            counts["master_updated"] += 1
        for item_id, reason in plan.unlink_items:
            rows.append({"action": "unlink", "side": "link", "ref": item_id[:16], "name": "", "detail": reason})
            counts["unlinked"] += 1
        for uuid, key, m_val, r_val in plan.conflicts:
            no, name = names.get(uuid, ("", ""))
            rows.append({"action": "conflict", "side": "master", "ref": no, "name": name,
                         "detail": f"{key}: master {m_val!r} wins over Outlook {r_val!r}"})
            counts["conflicts"] += 1

    def _guard(self, plan: Plan, links: list[dict[str, Any]], snapshot: dict[str, dict[str, Any]],
               changes: RemoteChanges) -> None:
        # Deliberate deletes leave tombstones; a store with no records at all lost its data.
        stamped_unknown = sum(1 for it in changes.items if it.stamp and it.stamp not in snapshot)
        if not snapshot and (links or stamped_unknown):
            raise ev.GuardTripped(
                f"the contact store looks emptied (0 contacts, but {len(links) or stamped_unknown} Outlook contacts "
                "were synced from it). Nothing was written. Restore a backup (`bcsync backups`) or run with --force.")
        recreates = sum(1 for rc in plan.remote_creates if rc.recreate)
        gone = recreates + sum(1 for _, reason in plan.unlink_items if reason.startswith("deleted in Outlook"))
        if links and gone >= max(5, len(links) // 2):
            raise ev.GuardTripped(
                f"{gone} of {len(links)} synced contacts vanished from the Outlook folder; it looks emptied. "
                "Nothing was written. If that was intended, run with --force (they will be recreated).")
        deletes = len(plan.remote_deletes)
        limit = int(max(self.profile.max_deletes, self.profile.max_delete_fraction * len(links)))
        if deletes > limit:
            raise ev.GuardTripped(
                f"this sync would remove {deletes} contacts from Outlook (limit {limit}). Nothing was written. "
                "Check the filter and recent deletes, then run with --force if it is right.")

    def _drain(self, t: Transport, folder_id: str, state: str, written: set[str]) -> tuple[str, list[str]]:
        """Move the sync state past our own writes so they do not come back as edits (NO-ECHO).
        Anything else that changed meanwhile (the user editing during the run) is re-read next run."""
        if not written or not state:
            return state, []
        self.report("confirming")
        try:
            after = t.changes(folder_id, state, ids_only=True)
        except SyncStateInvalid:
            return "", []
        links = {d["item_id"]: d for d in self.store.links.raw().values() if d.get("profile") == self.name}
        recheck = [it.item_id for it in after.items
                   if it.item_id not in links or links[it.item_id].get("change_key") != it.change_key]
        recheck += [i for i in after.deleted_ids if i in links]
        return after.state, recheck

    def _save_state(self, profile: Profile, state: dict[str, Any], folder_id: str, sync_state: str,
                    recheck: list[str], orphans: dict[str, list[str]], full: bool) -> None:
        linked = sum(1 for d in self.store.links.raw().values() if d.get("profile") == self.name)
        new = {"folder_id": folder_id, "folder_name": profile.folder_name, "sync_state": sync_state,
               "recheck_ids": recheck, "linked_count": linked, "orphans": orphans}
        if self.server_remember:
            new["server_version"] = self.server_remember
        with self.store.transaction():
            if any(state.get(k) != v for k, v in new.items()):
                update_state(self.store, self.name, **new)
            if full:  # the reconcile resolved every older journal entry (relinked by stamp)
                self.store.journal.remove((Query().profile == self.name) & (Query().run_id != self.run["id"]))


def _folder_guard_message(name: str, old_name: str | None, folder: FolderInfo, linked: int) -> str:
    """Why the folder-identity guard stopped the run, and what ``--force`` will do about it."""
    contacts = f"the {linked} contact(s) synced before"
    if not folder.folder_id:
        return (f"the Outlook folder '{name}' this profile syncs into is gone (deleted in Outlook?). Nothing was "
                f"written. Run with --force to create '{name}' again and put {contacts} back into it, each once.")
    if old_name and old_name != name:
        what = f"the profile now syncs into '{name}' instead of '{old_name}'"
    else:
        what = (f"the Outlook folder '{name}' is not the one this profile synced before (it was deleted and made "
                "again, or another folder took its name)")
    return (f"{what}. Nothing was written. Run with --force to sync into this folder: items in it that carry a "
            f"contact's stamp or e-mail are linked, and the rest of {contacts} are created in it, each once.")
