"""A Hypothesis state machine that attacks the sync with random interleavings (as vdirsyncer's does),
checking RELIABILITY.md's invariants after every clean sync and DB-INTACT after every step."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bcsync_tui.core import model
from bcsync_tui.core.store import Store
from bcsync_tui.core.sync.memory import SimulatedCrash
from bcsync_tui.core.sync.merge import clean, fit

from .backends import EwsBackend, MemoryBackend, World, blank_fields
from .invariants import check_all

NAMES = ["Ann", "Bo", "Cai", "Dag", "Eva"]
EMAILS = ["ann@x.example", "bo@x.example", "cai@x.example", "dag@x.example", "", "Ann@X.example"]
CITIES = ["Oslo", "Bergen", "Tromsø"]
FIELDS = ["city", "job_title", "phone", "company_name"]
VALUES = ["A", "B", "Zoë 😀", "line\nbreak", "x" * 40]
FAULTS = [("CreateItem", "crash_after"), ("CreateItem", "crash_before"), ("CreateItem", "unknown"),
          ("UpdateItem", "crash_before"), ("UpdateItem", "crash_after"), ("UpdateItem", "user_edit"),
          ("UpdateItem", "unknown"), ("DeleteItem", "crash_after"), ("SyncFolderItems", "invalid_state")]


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="bcsync-sm-"))
        self.world = World(self.tmp, MemoryBackend(self.tmp))
        self.faulted = False  # a fault hit since the last clean sync

    def teardown(self):
        self.world.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- master side -----------------------------------------------------------------------------

    def _live(self):
        return sorted(self.world.store.contacts_raw(), key=lambda c: c["no"])

    @rule(first=st.sampled_from(NAMES), email=st.sampled_from(EMAILS), city=st.sampled_from(CITIES))
    def master_create(self, first, email, city):
        self.world.add(first_name=first, surname="Test", email=email, city=city)

    @precondition(lambda self: self.world.store.contacts_raw())
    @rule(data=st.data(), key=st.sampled_from(FIELDS + ["email"]), value=st.sampled_from(VALUES + EMAILS))
    def master_update(self, data, key, value):
        c = data.draw(st.sampled_from(self._live()))
        if key == "email" and value and "@" not in value:
            return
        if key != "email" and value in EMAILS:
            value = value.split("@")[0]
        try:
            self.world.store.update_contact(c["uuid"], {key: value[:30]})
        except model.ValidationError:
            pass  # e.g. letters in a phone number: the store refuses, as it should

    @precondition(lambda self: self.world.store.contacts_raw())
    @rule(data=st.data())
    def master_delete(self, data):
        self.world.store.delete_contact(data.draw(st.sampled_from(self._live()))["uuid"])

    # --- Outlook side ----------------------------------------------------------------------------

    def _items(self):
        return sorted(self.world.backend.items(), key=lambda i: i.item_id)

    @rule(first=st.sampled_from(NAMES + [""]), email=st.sampled_from(EMAILS), city=st.sampled_from(CITIES))
    def outlook_create(self, first, email, city):
        name = f"{first} Outlook" if first else ""
        self.world.backend.user_create(blank_fields(name=name, first_name=first, surname="Outlook" if first else "",
                                                    email=email, city=city))

    @precondition(lambda self: self.world.backend.items())
    @rule(data=st.data(), key=st.sampled_from(FIELDS), value=st.sampled_from(VALUES))
    def outlook_update(self, data, key, value):
        self.world.backend.user_update(data.draw(st.sampled_from(self._items())).item_id, **{key: value})

    @precondition(lambda self: self.world.backend.items())
    @rule(data=st.data(), action=st.sampled_from(["delete", "move", "copy"]))
    def outlook_remove_or_copy(self, data, action):
        item = data.draw(st.sampled_from(self._items()))
        {"delete": self.world.backend.user_delete, "move": self.world.backend.user_move_out,
         "copy": self.world.backend.user_copy}[action](item.item_id)

    # --- settings and faults ---------------------------------------------------------------------

    @rule(flt=st.sampled_from([{}, {"city": "Oslo|Bergen"}, {"city": "Oslo"}]))
    def change_filter(self, flt):
        self.world.set(filter=flt)

    @rule(fault=st.sampled_from(FAULTS))
    def arm_fault(self, fault):
        if not self.world.backend.armed():
            self.world.backend.arm(*fault)

    @precondition(lambda self: not self.world.backend.armed())
    @rule(data=st.data(), value=st.sampled_from(VALUES), both=st.booleans())
    def outlook_edit_between_read_and_write(self, data, value, both):
        """The Outlook user edits an item between the engine's read and its write (issue 10 §1): a
        field only Outlook changed ends with Outlook's value on both sides and no conflict; a field
        both changed follows master-wins with the Outlook value logged."""
        w = self.world

        def candidates():
            in_folder = {i.item_id: i for i in w.backend.items()}
            return in_folder, sorted((lk for lk in w.links() if lk["item_id"] in in_folder and lk.get("base_master")
                                      and w.contact(lk["contact_uuid"]) is not None), key=lambda lk: lk["item_id"])

        in_folder, links = candidates()
        if not links:  # give the rule something to work on: a contact synced into the folder
            w.world_seed = getattr(w, "world_seed", 0) + 1
            w.add(first_name="Seed", surname=f"S{w.world_seed}", email=f"seed{w.world_seed}@x.example", city="Oslo")
            if w.sync(force=True).status.value != "ok":
                self.faulted = True
                return
            in_folder, links = candidates()
            if not links:
                return
        link = data.draw(st.sampled_from(links))
        uuid, item_id = link["contact_uuid"], link["item_id"]
        self.edits = getattr(self, "edits", 0) + 1
        try:
            w.store.update_contact(uuid, {"company_name": f"Co {self.edits}"})  # the item needs a write
            if both:
                w.store.update_contact(uuid, {"job_title": f"Master {self.edits}"})
        except model.ValidationError:
            return  # e.g. a phone number from Outlook the master cannot hold: the store refuses

        master_value = clean(w.contact(uuid)["job_title"])
        both = master_value != clean(link["base_master"].get("job_title"))  # an earlier master edit counts too
        if clean(value) in (master_value, clean(in_folder[item_id].fields.get("job_title"))):
            return
        fired = []

        def edit():
            fired.append(True)
            w.backend.user_update(item_id, job_title=value)

        w.backend.between_read_and_write(edit, count=1)
        try:
            run = w.sync(force=True)
        except SimulatedCrash:  # pragma: no cover - no fault is armed
            raise
        finally:
            w.backend.clear_faults()
        if not fired or run.status.value != "ok":
            self.faulted = True
            return
        follow_up = w.sync(force=True)
        still = [lk for lk in w.links() if lk["contact_uuid"] == uuid and lk["item_id"] == item_id]
        if follow_up.status.value != "ok" or not still:
            return  # the contact left the folder meanwhile (filter, policy): nothing to compare
        runs = {run.id, follow_up.id}
        logged = [(c["field"], c["outlook_value"]) for c in w.store.conflicts.raw().values()
                  if c["run_id"] in runs and c["contact_uuid"] == uuid and c["field"] == "job_title"]
        outlook_now = clean(next(i for i in w.backend.items() if i.item_id == item_id).fields["job_title"])
        master_now = clean(w.contact(uuid)["job_title"])
        if both:
            assert master_now == master_value and outlook_now == master_value, "MASTER-WINS broken"
            assert ("job_title", clean(value)) in logged, "the overruled Outlook value was not logged"
        else:
            assert outlook_now == clean(value) and master_now == fit("job_title", clean(value)), \
                "LOST-EDIT: an Outlook edit made during the sync was reverted"
            assert not logged, "an Outlook-only edit was logged as a conflict"

    @rule()
    def lose_links(self):
        with self.world.store.transaction():
            self.world.store.links.truncate()

    @rule()
    def expire_sync_state(self):
        self.world.backend.expire_sync_states()

    @rule()
    def restart_from_disk(self):
        self.world.store.close()
        self.world.store = Store(self.world.store.path)

    @rule(mode=st.sampled_from(["incremental", "full"]))
    def dry_run(self, mode):
        writes = self.world.backend.writes
        before = (self.world.store.all_contacts(True), [dict(d) for d in self.world.store.links.raw().values()])
        try:
            self.world.sync(mode=mode, dry_run=True, force=True)
        except SimulatedCrash:
            self.faulted = True
        assert self.world.backend.writes == writes
        after = (self.world.store.all_contacts(True), [dict(d) for d in self.world.store.links.raw().values()])
        assert before == after

    @rule(mode=st.sampled_from(["incremental", "full"]))
    def sync(self, mode):
        armed = self.world.backend.armed()
        live_before = {c["uuid"] for c in self.world.store.contacts_raw()}
        try:
            run = self.world.sync(mode=mode, force=True)
        except SimulatedCrash:
            self.faulted = True
            self.restart_from_disk()
            return
        live_after = {c["uuid"] for c in self.world.store.contacts_raw()}
        assert live_before <= live_after, "NO-LOSS-MASTER: a sync deleted a master contact"
        if armed or run.status.value != "ok":
            self.faulted = True
            return
        self.faulted = False
        check_all(self.world)
        self._check_inbound()
        writes = self.world.backend.writes
        again = self.world.sync(mode=mode, force=True)
        assert again.status.value == "ok"
        assert self.world.backend.writes == writes, "IDEMPOTENT: a second sync wrote to Exchange"
        # skipped and kept describe what stays as it is, not a change
        data_counts = {k: v for k, v in again.counts.to_doc().items() if k not in ("skipped", "kept")}
        assert sum(data_counts.values()) == 0, again.counts.to_doc()

    def _check_inbound(self):
        """NO-LOSS-INBOUND: every eligible Outlook contact is linked, or is knowingly left alone
        (a copy, a second item for an e-mail already linked, or the item of a deleted contact)."""
        linked = {lk["item_id"] for lk in self.world.links()}
        all_contacts = {c["uuid"]: c for c in self.world.store.all_contacts(include_deleted=True)}
        live_emails = {model.normalise_email(c["email"]) for c in all_contacts.values() if not c.get("deleted")}
        stamps = Counter(i.stamp for i in self.world.backend.items() if i.stamp)
        for item in self.world.backend.items():
            if item.item_id in linked or not item.fields.get("email") or not item.fields.get("name"):
                continue
            ok = (model.normalise_email(item.fields["email"]) in live_emails
                  or (item.stamp and (stamps[item.stamp] > 1 or all_contacts.get(item.stamp, {}).get("deleted"))))
            assert ok, f"eligible Outlook item {item.item_id} neither linked nor accounted for"

    @invariant()
    def links_unique_and_store_intact(self):
        if not hasattr(self, "world"):
            return
        links = self.world.links()
        ids = Counter((d["profile"], d["item_id"]) for d in links)
        assert all(n == 1 for n in ids.values()), "two links share an ItemId"
        reopened = Store(self.world.store.path)
        try:
            def by_uuid(store):
                return sorted(store.all_contacts(True), key=lambda c: c["uuid"])
            assert by_uuid(reopened) == by_uuid(self.world.store), "DB-INTACT"
        finally:
            reopened.close()


class EwsSyncMachine(SyncMachine):
    """The same attack on the real adapter: exchangelib over HTTP against the loopback server,
    with the server's own faults (throttling, lost answers, expired sync states)."""

    @initialize()
    def setup(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="bcsync-sm-ews-"))
        self.world = World(self.tmp, EwsBackend(self.tmp))
        self.faulted = False


TestSyncMachine = SyncMachine.TestCase
# CI runs 60 random programs; BCSYNC_SM_EXAMPLES=2000 for a longer hunt.
TestSyncMachine.settings = settings(max_examples=int(os.environ.get("BCSYNC_SM_EXAMPLES", "60")), stateful_step_count=30, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

TestEwsSyncMachine = EwsSyncMachine.TestCase
TestEwsSyncMachine.settings = settings(max_examples=int(os.environ.get("BCSYNC_SM_EWS_EXAMPLES", "8")),
                                       stateful_step_count=20, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
