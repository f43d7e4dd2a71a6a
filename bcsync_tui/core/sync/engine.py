"""One sync run for one profile: lock, read both sides, plan, guard, execute, record.

Blocking and Textual-free; it reports progress only through a callback (``runner`` wraps it for
asyncio). Every outcome, including failures and guard aborts, ends as a run record.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from .. import model
from ..exit_codes import ExitCode
from ..filters import ContactFilter, FilterError
from ..lock import LockedError
from ..paths import FileProblem
from ..profiles import Profile, load_profile, update_state
from ..records import ItemNote, LinkRow, Orphan, OrphanKind, RunRecord, RunStatus, SyncState
from ..run_log import record_run
from ..store import LinkSummary, NotFoundError, Store
from ..words import plural
from . import events as ev
from . import guards
from .eligibility import kept_outside_filter, outbound_reason
from .drain import Confirmation
from .executor import Cancelled, Executor
from .planner import Plan, PlanInput, build_plan
from .preview import preview
from .transport import FolderInfo, FolderMissing, FoundBy, RemoteChanges, SyncStateInvalid, Transport

TransportFactory = Callable[[Profile], Transport]
ProgressCallback = Callable[[ev.Progress], None]
Snapshot = dict[str, dict[str, Any]]


def new_record(profile: str, mode: str, dry_run: bool) -> RunRecord:
    return RunRecord(id=model.new_uuid(), profile=profile, mode=mode, dry_run=dry_run, started_at=model.utc_now())


def new_run(profile: str, mode: str, dry_run: bool) -> dict[str, Any]:
    """A fresh run record in its stored shape (tests and tools that write history use it)."""
    return new_record(profile, mode, dry_run).to_doc()


class SyncRun:
    def __init__(self, store: Store, profile_name: str, factory: TransportFactory, *, mode: str = "incremental",
                 dry_run: bool = False, force: bool = False, on_progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None, batch: int | None = None):
        if mode not in ("incremental", "full"):
            raise ValueError(f"unknown sync mode {mode!r}")
        self.store, self.name, self.factory = store, profile_name, factory
        self.mode, self.dry_run, self.force = mode, dry_run, force
        self.on_progress, self.cancel, self.batch = on_progress, cancel, batch
        self.run = new_record(profile_name, mode, dry_run)
        self.phase = "starting"
        # Filled in by the steps of _sync, in this order:
        self.profile = Profile(name=profile_name)
        self.contact_filter = ContactFilter()
        self.state = SyncState()  # as the last run left it
        self.server_remember: object = None
        self.link_summary = LinkSummary(0, False, [])  # the profile's links as this run found them, in brief
        self.links: list[LinkRow] = []  # and in full (read only once the run plans)
        self.folder = FolderInfo("", FoundBy.MISSING)
        self.changes = RemoteChanges([], [], "", True)
        self.snapshot: Snapshot = {}  # every master contact (tombstones too) when planning started
        self.contacts_revision = 0  # the store's contacts revision the plan was made from
        self.own_writes = 0  # the store's count of this thread's contact writes then

    # --- progress ------------------------------------------------------------------------------

    def report(self, phase: str, done: int = 0, total: int = 0, message: str = "", wait: float = 0.0) -> None:
        self.phase = phase
        if self.on_progress is not None:
            self.on_progress(ev.Progress(phase, done, total, self.run.counts.to_doc(), message, wait))

    def _throttled(self, seconds: float) -> None:
        self.run.throttle_waits += 1
        self.run.throttle_seconds += seconds
        self.report(self.phase, message=f"throttled, resuming in {seconds:.0f} s", wait=seconds)

    # --- the run -------------------------------------------------------------------------------

    def execute(self) -> RunRecord:
        """Run the sync; returns its run record (``to_doc()`` is its stored / ``--json`` shape)."""
        lock = self.store.sync_lock()
        try:
            lock.acquire(timeout=0)
        except LockedError as exc:
            raise ev.StoreLocked(str(exc)) from exc
        transport: Transport | None = None
        try:
            try:
                self.profile = load_profile(self.store, self.name)
                transport = self.factory(self.profile)
                transport.on_throttle = self._throttled
                self._sync(transport)
            except Cancelled:
                self._finish(RunStatus.CANCELLED, ExitCode.ITEM_ERRORS, "cancelled; the next sync continues from here")
            except ev.SyncError as exc:
                status = {ev.GuardTripped: RunStatus.ABORTED, ev.RunCutShort: RunStatus.PARTIAL}.get(
                    type(exc), RunStatus.FAILED)
                self._finish(status, exc.exit_code, str(exc))
            except NotFoundError as exc:
                self._finish(RunStatus.FAILED, ExitCode.CONFIG, str(exc))
            except FileProblem as exc:  # e.g. a damaged secrets file: a failed run saying what to do, not a crash
                self._finish(RunStatus.FAILED, ExitCode.CONFIG, str(exc))
            finally:
                if transport is not None:
                    self.run.requests = transport.stats.requests
                    transport.close()
            if not self.dry_run:
                with self.store.transaction():
                    record_run(self.store, self.run.to_doc())  # texts capped, history pruned (run_log.py)
            return self.run
        finally:
            lock.release()

    def _finish(self, status: RunStatus, code: int, message: str) -> None:
        self.run.status, self.run.exit_code, self.run.message = status, code, message
        self.run.ended_at = model.utc_now()

    def _sync(self, t: Transport) -> None:
        self._load_settings()
        self._connect(t)
        self._read_outlook(t)
        if not self.force:
            guards.check_folder(self.profile.folder_name, self.state.folder_name, self.state.folder_id,
                                self.folder, self.link_summary.count)
        self._create_folder_if_missing(t)
        if self._nothing_to_do():
            self.run.counts.kept = self._kept_as_before()
            self._finish(RunStatus.OK, ExitCode.OK, "")
            return
        self._read_master()
        self._fetch_orphans(t)
        plan = self._plan()
        self._record_plan(plan)
        if not self.force:
            guards.check_plan(plan, self.links, self.snapshot, self.changes, self.profile.max_deletes,
                              self.profile.max_delete_fraction)
        if self.dry_run:
            self._finish(RunStatus.OK, ExitCode.OK, "dry run: nothing was written")
            return
        with self.store.compaction_deferred():  # one compaction after the batches, not one per few
            confirm = Confirmation(t, self.folder.folder_id, self.changes.state)
            writes = self._write(t, plan, confirm)
            self._save_state(plan, writes, confirm)
        errors = self.run.counts.errors
        self._finish(RunStatus.PARTIAL if errors else RunStatus.OK, ExitCode.ITEM_ERRORS if errors else ExitCode.OK,
                     f"{plural(errors, 'item')} failed; they are retried at the next sync" if errors else "")

    # --- the steps, in order ---------------------------------------------------------------------

    def _load_settings(self) -> None:
        try:
            self.contact_filter = ContactFilter.from_dict(self.profile.filter)
        except FilterError as exc:
            raise ev.ConfigurationProblem(f"the profile's filter is invalid: {exc}. Fix it with `bcsync filter`") from exc
        self.state = SyncState.from_doc(self.profile.state)
        self.link_summary = self.store.link_summary(self.name)

    def _connect(self, t: Transport) -> None:
        self.report("connecting")
        t.connect()
        self.server_remember = t.server_info().remember

    def _read_outlook(self, t: Transport) -> None:
        """Find the folder (by stored id; by name when it is gone) and read what changed in it."""
        name, state = self.profile.folder_name, self.state
        # A folder name changed in the setup means a different folder, found by name.
        known_id = state.folder_id if state.folder_name in (None, name) else None
        self.folder = t.ensure_folder(name, known_id or None, create=False)  # no write before the guards
        journal = self.store.journal_of(self.name)
        links_lost = self.link_summary.count < state.linked_count
        full = (self.mode == "full" or bool(journal) or links_lost or not state.sync_state
                or self.folder.folder_id != state.folder_id)
        self.report("reading Outlook")
        try:
            self.changes = self._read_changes(t, None if full else state.sync_state)
        except FolderMissing:  # deleted (or no longer ours): found again by name, or missing
            self.folder = t.ensure_folder(name, None, create=False)
            self.changes = self._read_changes(t, None)

    def _create_folder_if_missing(self, t: Transport) -> None:
        if not self.folder.folder_id and not self.dry_run:
            self.folder = t.ensure_folder(self.profile.folder_name, None, create=True)
            self.changes = self._read_changes(t, None)

    def _plan_fingerprint(self) -> str:
        """A digest of the settings the plan depends on besides the contacts and the links."""
        p = self.profile
        settings = [p.filter, p.master_delete_policy, p.leave_filter_policy, p.link_outside_filter, p.folder_name,
                    self.folder.folder_id, p.transport, p.server_url, p.email]
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def _nothing_to_do(self) -> bool:
        """An incremental run can skip reading the master and planning (O(changes), not O(contacts))
        when Outlook reported no change, the master's revision and the plan's settings are those of
        the last clean run, and nothing is pending: no journal (it makes the run full), no item to
        re-read, no link in error, unstamped, unmerged or lost."""
        c, state = self.changes, self.state
        if self.mode != "incremental" or self.dry_run or c.full or c.items or c.deleted_ids or c.state_reset:
            return False
        if state.recheck_ids or state.contacts_revision is None or self.link_summary.count != state.linked_count:
            return False
        if (self.server_remember or state.server_version) != state.server_version:
            return False
        if state.contacts_revision != self.store.contacts_revision or state.plan_fingerprint != self._plan_fingerprint():
            return False
        return not self.link_summary.unsettled

    def _kept_as_before(self) -> int:
        """A run that skips planning left the links as they were: its kept count, from the pinned ones."""
        contacts = (self.store.get_contact(uuid) for uuid in self.link_summary.pinned_uuids)
        return sum(1 for c in contacts if c is not None and kept_outside_filter(c, self.contact_filter, True))

    def _read_master(self) -> None:
        self.links = list(self.store.links_of(self.name).values())
        self.contacts_revision, self.own_writes = self.store.contacts_revision, self.store.contact_writes_here()
        # The records themselves, not copies: the store replaces a record it changes (never edits
        # one in place), so these stay the master as planning found it while the run writes.
        self.snapshot = {c["uuid"]: c for c in self.store.contacts.raw().values()}

    def _plan(self) -> Plan:
        self.report("planning")
        c = self.changes
        return build_plan(PlanInput(self.snapshot, self.links, c.items, set(c.deleted_ids), c.full, self.contact_filter,
                                    self.profile.master_delete_policy, self.profile.leave_filter_policy,
                                    self.profile.link_outside_filter))

    def _write(self, t: Transport, plan: Plan, confirm: Confirmation) -> int:
        """Carry the plan out; returns how many Outlook writes this run made. When the writes take
        several batches, ``confirm`` starts reading them back meanwhile (where the transport can)."""
        if plan.has_writes:
            self.store.backup("sync")
        batch = self.batch or t.write_batch  # the transport's size unless a test says
        writes = len(plan.remote_creates) + len(plan.remote_updates) + len(plan.remote_deletes)
        executor = Executor(self.store, self.name, t, self.folder.folder_id, self.run, self.snapshot, self.report,
                            self.cancel, batch, after_batch=confirm.written)
        confirm.ours = executor.saved_keys
        if t.confirms_while_writing and writes > batch and confirm.state:
            confirm.start()
        try:
            executor.execute(plan)
        except BaseException:
            confirm.stop()
            raise
        return executor.writes

    def _save_state(self, plan: Plan, writes: int, confirm: Confirmation) -> None:
        links = self.store.link_keys(self.name)  # the links as this run left them (id -> change key)
        orphans = self._orphans_after(plan, links)
        new_state, recheck = self._drain(writes, links, confirm)
        c = self.changes
        if not c.full and not c.items and not c.deleted_ids and not writes:
            new_state = self.state.sync_state or new_state  # nothing happened: the old state is as good
        clean = not self.run.counts.errors and not recheck
        revision = self.store.contacts_revision  # the plan covers it if every write since was this run's own
        if revision - self.contacts_revision != self.store.contact_writes_here() - self.own_writes:
            revision = self.contacts_revision  # someone else edited the master meanwhile: plan it next run
        new = SyncState(folder_id=self.folder.folder_id, folder_name=self.profile.folder_name, sync_state=new_state,
                        recheck_ids=recheck, linked_count=len(links), orphans=orphans,
                        server_version=self.server_remember or self.state.server_version,
                        contacts_revision=revision if clean else None,
                        plan_fingerprint=self._plan_fingerprint() if clean else "")
        with self.store.transaction():
            if new != self.state:
                update_state(self.store, self.name, **new.to_doc())
            if c.full:  # the reconcile resolved every older journal entry (relinked by stamp)
                self.store.drop_journal(self.name, keep_run=self.run.id)

    # --- reading -------------------------------------------------------------------------------

    def _read_changes(self, t: Transport, sync_state: str | None) -> RemoteChanges:
        folder_id = self.folder.folder_id
        if not folder_id:  # dry run before the folder exists
            return RemoteChanges([], [], "", True)
        try:
            changes = t.changes(folder_id, sync_state)
        except SyncStateInvalid:
            self.run.token_resets += 1
            changes = t.changes(folder_id, None)
            changes.state_reset = True
        if not changes.full:
            seen = {it.item_id for it in changes.items}
            wanted = [i for i in self.state.recheck_ids if i not in seen]
            if wanted:
                for item_id, item in zip(wanted, t.get(folder_id, wanted), strict=True):
                    if item is None:
                        changes.deleted_ids.append(item_id)
                    else:
                        changes.items.append(item)
        return changes

    def _fetch_orphans(self, t: Transport) -> None:
        """An incremental run sees only changed items. Items known to be in the folder but unlinked
        (unlinked by policy, skipped, copies, duplicates) are fetched when this run could now decide
        differently about them, so incremental and full sync reach the same end state."""
        orphans, changes = self.state.orphans, self.changes
        if changes.full or not orphans:
            return
        gone = set(changes.deleted_ids)
        linked = {lk.contact_uuid for lk in self.links if lk.item_id not in gone}
        live_emails: set[str] = set()
        wanted_stamps: set[str] = set()
        wanted_emails: set[str] = set()
        for uuid, c in self.snapshot.items():
            if c.get("deleted"):
                continue
            email = model.normalise_email(c.get("email"))
            live_emails.add(email)
            if uuid not in linked and outbound_reason(c, self.contact_filter) is None:
                wanted_stamps.add(uuid)
                wanted_emails.add(email)
        seen = {it.item_id for it in changes.items} | gone

        def wanted(o: Orphan) -> bool:
            if o.stamp:
                return o.stamp in wanted_stamps
            return o.email in wanted_emails or (o.kind is OrphanKind.DUPLICATE and o.email not in live_emails)

        fetch = [i for i, o in orphans.items() if i not in seen and wanted(o)]
        if fetch:
            changes.items += [item for item in t.get(self.folder.folder_id, fetch) if item is not None]

    def _orphans_after(self, plan: Plan, linked: dict[str, str]) -> dict[str, Orphan]:
        """Folder items this profile knows but has not linked, by item id."""
        changes = self.changes
        orphans = {} if changes.full else dict(self.state.orphans)
        for item_id in changes.deleted_ids:
            orphans.pop(item_id, None)
        by_id = {it.item_id: it for it in changes.items}
        for item_id in list(by_id) + list(orphans):
            if item_id in linked:
                orphans.pop(item_id, None)
        for skip in plan.skipped:
            item = by_id.get(skip.ref)
            if item is not None:
                orphans[item.item_id] = Orphan(item.stamp or "", model.normalise_email(item.fields.get("email")),
                                               skip.kind)
        old_links = {lk.item_id: lk for lk in self.links}
        for unlink in plan.unlink_items:
            lk = old_links.get(unlink.item_id)
            if lk is not None and unlink.kind.leaves_item:
                email = model.normalise_email((lk.base_remote or {}).get("email"))
                orphans[unlink.item_id] = Orphan(lk.contact_uuid, email, OrphanKind.UNLINKED)
        return orphans

    def _record_plan(self, plan: Plan) -> None:
        run = self.run
        run.skipped += [ItemNote(s.ref, s.name, s.reason) for s in plan.skipped]
        run.counts.skipped = len(plan.skipped)
        run.counts.kept = plan.kept
        run.warnings += plan.warnings
        if self.dry_run:
            owners = {lk.item_id: lk.contact_uuid for lk in self.links}
            run.plan = preview(plan, self.snapshot, owners, run.counts)

    def _drain(self, writes: int, links: dict[str, str], confirm: Confirmation) -> tuple[str, list[str]]:
        """Move the sync state past our own writes so they do not come back as edits (NO-ECHO).
        Anything else that changed meanwhile (the user editing during the run) is re-read next run."""
        state = self.changes.state
        if not writes or not state:
            confirm.stop()
            return state, []
        self.report("confirming")
        new_state, seen, deleted = confirm.finish()
        if not new_state:
            return "", []
        recheck = [item_id for item_id, change_key in seen.items() if links.get(item_id) != change_key]
        recheck += [i for i in deleted if i in links]
        return new_state, recheck
