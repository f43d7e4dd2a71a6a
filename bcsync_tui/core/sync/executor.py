"""Carries out a plan: master writes first (one transaction), then Outlook in batches.

Order matters for crash safety:
1. master creates/updates, links that need no Outlook write, unlinks, conflicts — one store
   transaction;
2. Outlook updates (with the change key read this run; a conflict is re-read and re-merged once);
3. Outlook creates, a batch at a time: a journal entry per create of the batch is committed before
   the batch goes out; the batch's links are saved and its journal entries cleared in one
   transaction after (which also journals the next batch). A crash in between leaves journal
   entries, which make the next run reconcile the whole folder and relink by stamp instead of
   creating twice. (Journaling a batch at a time, not every create up front, keeps 50,000 entries
   of a first sync out of memory at once.);
4. Outlook deletes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .. import model
from ..records import ItemNote, LinkRow, RunCounts, RunRecord
from ..store import Store
from .merge import clean, merge
from .planner import LinkState, Plan, RemoteCreate, RemoteUpdate, UnlinkKind
from .transport import ItemUpdate, NewItem, Outcome, RemoteItem, Transport, WriteResult

BATCH = 250  # items per write batch: one request, one store transaction, one cancel point


class Cancelled(Exception):
    pass


class Keep:
    """The default of an optional argument that means "as it is" where None is a value."""


KEEP = Keep()


class Executor:
    def __init__(self, store: Store, profile: str, transport: Transport, folder_id: str, run: RunRecord,
                 snapshot: dict[str, dict[str, Any]], report: Callable[[str, int, int], None],
                 cancel: threading.Event | None, batch: int = BATCH, after_batch: Callable[[], None] | None = None):
        self.store, self.profile, self.t, self.folder_id = store, profile, transport, folder_id
        self.run, self.snapshot, self.report, self.cancel, self.batch = run, snapshot, report, cancel, batch
        self.after_batch = after_batch or (lambda: None)  # each batch of Outlook writes is done
        self.counts: RunCounts = run.counts
        self.writes = 0  # Outlook writes this run made (creates, updates, deletes)
        #: item id -> the change key its link was saved with by this run (what a read-back confirms)
        self.saved_keys: dict[str, str] = {}
        # The sync lock makes this run the only writer of the profile's links and journal, so doc ids
        # can be kept here instead of searching the tables for every item (10,000 items: O(n) not O(n²)).
        self._link_ids = store.link_doc_ids(profile)
        self._pending_states: dict[str, LinkState] = {}

    # --- helpers -------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def _error(self, ref: str, name: str, message: str) -> None:
        self.run.errors.append(ItemNote(ref, name, message))
        self.counts.errors += 1

    def _link(self, item_id: str) -> LinkRow | None:
        doc_id = self._link_ids.get(item_id)
        return self.store.link_at(doc_id) if doc_id is not None else None

    def _save_link(self, state: LinkState, change_key: str | None = None, *, synced_revision: int | None | Keep = KEEP,
                   error: str | None = None, needs_stamp: bool = False, created: bool = False) -> None:
        """``created``: the link of an item this run created. The phases after the creates (deletes) are of
        items the plan knew, so its document id is not kept (a first sync of 50,000 holds 50,000 fewer);
        should the server name the same new item twice, the link saved first is found and replaced."""
        link = LinkRow(self.profile, state.uuid, state.item_id, change_key or state.change_key, state.base_master,
                       state.base_remote, state.synced_revision if isinstance(synced_revision, Keep) else synced_revision,
                       state.pinned, error, needs_stamp)
        if created and state.item_id not in self.saved_keys:
            self.store.save_link(link)
        else:
            doc_id = self._link_ids.get(state.item_id)
            if doc_id is None and created:  # the server named an item it created earlier in this run again
                doc_id = self.store.link_doc_ids(self.profile).get(state.item_id)
            self._link_ids[state.item_id] = self.store.save_link(link, doc_id)
        self.saved_keys[state.item_id] = link.change_key

    def _drop_link(self, item_id: str) -> None:
        doc_id = self._link_ids.pop(item_id, None)
        self.saved_keys.pop(item_id, None)
        if doc_id is not None:
            self.store.remove_links([doc_id])

    def _revision_after(self, uuid: str, planned: int | None) -> int | None:
        """The revision a link may claim as synced: the one the plan saw (or this run wrote), unless
        someone edited the contact during the run — then None, and the next run merges again."""
        current = self.store.revision_of(uuid)
        if current is None or planned is None:
            return current if current is not None else planned
        return planned if current == planned else None

    def _log_conflict(self, uuid: str, key: str, master_value: str, outlook_value: str) -> None:
        """The master won on ``key``; keep the Outlook value it overruled (never lost silently)."""
        no, name = self._name(uuid)
        self.store.log_conflict({"id": model.new_uuid(), "run_id": self.run.id, "profile": self.profile,
                                     "contact_uuid": uuid, "contact_no": no, "contact_name": name, "field": key,
                                     "master_value": master_value, "outlook_value": outlook_value,
                                     "at": model.utc_now(), "reapplied": False})
        self.counts.conflicts += 1

    def _name(self, uuid: str) -> tuple[str, str]:
        c = self.store.get_contact(uuid, include_deleted=True) or self.snapshot.get(uuid) or {}
        return c.get("no", uuid[:8]), c.get("name", "")

    # --- phases --------------------------------------------------------------------------------

    def execute(self, plan: Plan) -> None:
        pending_links = {u.item_id for u in plan.remote_updates}
        self.report("writing master", 0, len(plan.master_creates) + len(plan.master_updates))
        with self.store.transaction():
            self._master_phase(plan, pending_links)
        self._check_cancel()
        self._remote_updates(plan)
        self._remote_creates(plan.remote_creates)
        self._remote_deletes(plan)

    def _master_phase(self, plan: Plan, pending_links: set[str]) -> None:
        st = self.store
        revisions: dict[str, int] = {}
        if plan.master_creates:
            created = st.add_contacts([mc.contact for mc in plan.master_creates])
            for mc, contact in zip(plan.master_creates, created, strict=True):
                revisions[mc.uuid] = contact["revision"]
                self.snapshot[mc.uuid] = contact
                self.counts.master_created += 1
        for mu in plan.master_updates:
            try:
                updated = st.update_contact(mu.uuid, mu.changes, validate=False)
            except KeyError:
                continue  # deleted in the master during the run: the next run handles the delete
            revisions[mu.uuid] = updated["revision"]
            self.counts.master_updated += 1
        for state in plan.links:
            if state.uuid in revisions:
                state.synced_revision = revisions[state.uuid]
            if state.item_id in pending_links:
                if any(mc.item.item_id == state.item_id for mc in plan.master_creates):
                    # Imported: save the link now (so a crash cannot import it twice), stamp after.
                    self._save_link(state, synced_revision=None, needs_stamp=True)
                continue
            state.synced_revision = self._revision_after(state.uuid, state.synced_revision)
            self._save_link(state)
        self._pending_states = {s.item_id: s for s in plan.links if s.item_id in pending_links}
        for unlink in plan.unlink_items:
            self._drop_link(unlink.item_id)
            if unlink.kind is UnlinkKind.REPLACED:
                self.counts.relinked += 1
            else:
                self.counts.unlinked += 1
        for c in plan.conflicts:
            self._log_conflict(c.uuid, c.key, c.master, c.outlook)

    def _remote_updates(self, plan: Plan) -> None:
        updates = plan.remote_updates
        for start in range(0, len(updates), self.batch):
            self._check_cancel()
            chunk = updates[start:start + self.batch]
            self.report("updating Outlook", start, len(updates))
            results = self.t.update([_item_update(u) for u in chunk])
            retry: list[RemoteUpdate] = []
            with self.store.transaction():
                for upd, res in zip(chunk, results, strict=True):
                    if res.ok:
                        self._update_done(upd, res)
                    elif res.outcome in (Outcome.CONFLICT, Outcome.UNKNOWN):
                        retry.append(upd)
                    else:
                        self._update_failed(upd, res)
            if retry:
                self._retry_updates(retry)
            self.after_batch()

    def _update_done(self, upd: RemoteUpdate, res: WriteResult) -> None:
        self.writes += 1
        state = self._pending_states.get(upd.item_id)
        if state is not None:
            state.synced_revision = self._revision_after(upd.uuid, state.synced_revision)
            self._save_link(state, change_key=res.change_key)
        if upd.fields:
            self.counts.outlook_updated += 1

    def _update_failed(self, upd: RemoteUpdate, res: WriteResult) -> None:
        state = self._pending_states.get(upd.item_id)
        no, name = self._name(upd.uuid)
        self._error(no, name, f"Outlook update failed ({res.message or res.outcome.value}); retried next run")
        if state is not None:
            # The unwritten fields keep Outlook's old values in the bases, so they are pushed again
            # next run and not read back as Outlook edits.
            state.base_master, state.base_remote = _agreed_bases(state, upd)
            old = self._link(upd.item_id)
            self._save_link(state, change_key=old.change_key if old else upd.change_key,
                            synced_revision=None, error=res.message or res.outcome.value, needs_stamp=upd.set_stamp)

    def _retry_updates(self, upds: list[RemoteUpdate]) -> None:
        """After a conflict (the Outlook user edited the item between our read and our write) or an
        unknown outcome: re-read the items, merge each again against what both sides agreed before
        this write (so what this run already took from Outlook is not mistaken for a master edit),
        and write once more."""
        fresh_items = self.t.get(self.folder_id, [u.item_id for u in upds])
        second: list[RemoteUpdate] = []
        with self.store.transaction():
            for upd, fresh in zip(upds, fresh_items, strict=True):
                retry = self._remerge(upd, fresh)
                if retry is not None:
                    second.append(retry)
        if not second:
            return
        results = self.t.update([_item_update(u) for u in second])
        with self.store.transaction():
            for retry, res in zip(second, results, strict=True):
                if res.ok:
                    self._update_done(retry, res)
                else:
                    self._update_failed(retry, res)

    def _remerge(self, upd: RemoteUpdate, fresh: RemoteItem | None) -> RemoteUpdate | None:
        """The update to send again after ``upd`` was refused, given the item as it is now (None
        when nothing is left to write). Applies Outlook's new edits to the master."""
        state = self._pending_states.get(upd.item_id)
        contact = self.store.get_contact(upd.uuid)
        if fresh is None or contact is None or state is None:
            self._update_failed(upd, WriteResult(Outcome.NOT_FOUND, message="the item changed or vanished during the sync"))
            return None
        base_master, base_remote = _agreed_bases(state, upd)
        result = merge(contact, fresh.fields, base_master, base_remote)
        if result.master_changes:
            self.store.update_contact(upd.uuid, result.master_changes, validate=False)
            self.counts.master_updated += 1
        for key, m_val, r_val in result.conflicts:
            self._log_conflict(upd.uuid, key, m_val, r_val)
        stamp = upd.set_stamp and fresh.stamp != upd.uuid
        retry = RemoteUpdate(upd.uuid, upd.item_id, fresh.change_key, result.remote_changes, stamp,
                             {k: clean(fresh.fields.get(k)) for k in result.remote_changes})
        state.base_master, state.base_remote = result.new_master, result.new_remote
        state.change_key = fresh.change_key
        current = self.store.get_contact(upd.uuid)
        state.synced_revision = current["revision"] if current else None
        if not retry.fields and not retry.set_stamp:
            self._save_link(state, change_key=fresh.change_key)
            return None
        return retry

    def _remote_creates(self, creates: list[RemoteCreate]) -> None:
        """The plan's creates, a batch at a time. They are consumed: the plan's list is emptied and each
        batch let go once its links are saved (their fields live on as the links' bases), so a first
        sync of 50,000 does not end holding 50,000 creates it is done with."""
        total = len(creates)
        chunks = [creates[start:start + self.batch] for start in range(0, total, self.batch)]
        creates.clear()
        journal: list[int] = []
        for n in range(len(chunks)):
            chunk = chunks[n]
            self._check_cancel()
            self.report("creating in Outlook", n * self.batch, total)
            if not journal:  # the first batch (the later ones are journaled with the batch before)
                with self.store.transaction():
                    journal = self._journal(chunk)
            results = self.t.create(self.folder_id, [NewItem(c.uuid, c.fields) for c in chunk])
            with self.store.transaction():
                answered = [doc_id for doc_id, res in zip(journal, results, strict=True)
                            if res.outcome is not Outcome.UNKNOWN]
                self.store.remove_journal(answered)  # in the transaction that saves their links
                for rc, res in zip(chunk, results, strict=True):
                    self._create_done(rc, res)
                # The next batch's entries in the same commit: on disk before it goes out, and one
                # fsync a batch, not two. Not when the run is cancelled: that batch never goes out.
                cancelled = self.cancel is not None and self.cancel.is_set()
                journal = self._journal(chunks[n + 1]) if n + 1 < len(chunks) and not cancelled else []
            chunks[n] = chunk = []
            self.after_batch()
        if total:
            self.report("creating in Outlook", total, total)

    def _journal(self, chunk: list[RemoteCreate]) -> list[int]:
        """Journal entries for a batch of creates about to go out; their doc ids, in its order."""
        return self.store.journal_creates(self.profile, self.run.id, [rc.uuid for rc in chunk])

    def _create_done(self, rc: RemoteCreate, res: WriteResult) -> None:
        """One create's answer (its journal entry is already removed unless the outcome is unknown)."""
        if res.outcome is Outcome.UNKNOWN:
            # The item may exist: keep the journal entry; the next run reconciles by stamp.
            self._error(*self._name(rc.uuid), f"Outlook did not confirm the create ({res.message}); checked next run")
            return
        if not res.ok:
            self._error(*self._name(rc.uuid),
                        f"Outlook create failed ({res.message or res.outcome.value}); retried next run")
            return
        self.writes += 1
        if rc.recreate:  # drop the link to the item that was deleted in Outlook
            for link in self.store.links_of(self.profile).values():
                if link.contact_uuid == rc.uuid:
                    self._drop_link(link.item_id)
        revision = self.snapshot.get(rc.uuid, {}).get("revision")
        # Both sides hold what was written: the plan's dict of it is both bases (bases, like the plan,
        # are replaced, never changed in place; at 50,000 contacts, 100,000 dicts fewer).
        state = LinkState(rc.uuid, res.item_id, res.change_key, rc.fields, rc.fields,
                          self._revision_after(rc.uuid, revision), rc.pinned)
        self._save_link(state, change_key=res.change_key, created=True)
        if rc.recreate:
            self.counts.outlook_recreated += 1
        else:
            self.counts.outlook_created += 1

    def _remote_deletes(self, plan: Plan) -> None:
        for move in (True, False):
            deletes = [d for d in plan.remote_deletes if d.move_to_deleted_items == move]
            for start in range(0, len(deletes), self.batch):
                self._check_cancel()
                chunk = deletes[start:start + self.batch]
                self.report("removing from Outlook", start, len(deletes))
                results = self.t.delete([d.item_id for d in chunk], move_to_deleted_items=move)
                with self.store.transaction():
                    for d, res in zip(chunk, results, strict=True):
                        if res.outcome in (Outcome.OK, Outcome.NOT_FOUND):
                            self.writes += 1
                            self._drop_link(d.item_id)
                            self.counts.outlook_deleted += 1
                        else:
                            no, name = self._name(d.uuid)
                            self._error(no, name, f"Outlook delete failed ({res.message or res.outcome.value}); retried next run")
                self.after_batch()


def _item_update(upd: RemoteUpdate) -> ItemUpdate:
    return ItemUpdate(upd.item_id, upd.change_key, upd.fields, upd.uuid if upd.set_stamp else None)


def _agreed_bases(state: LinkState, upd: RemoteUpdate) -> tuple[dict[str, str], dict[str, str]]:
    """What both sides held in common before ``upd`` was written: the bases this run's merge
    produced, except that the fields ``upd`` was to change still hold Outlook's values as read.
    A 3-way merge against these sees exactly the edits made since this run read the item."""
    return {**state.base_master, **upd.before}, {**state.base_remote, **upd.before}
