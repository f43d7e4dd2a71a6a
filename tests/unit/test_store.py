"""The contact store: contacts and tombstones, number series, transactions, other processes,
corruption handling, compaction, backups/restore, permissions and schema migrations."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tinydb import Query

from bcsync_tui.core import model
from bcsync_tui.core import storage as storage_mod
from bcsync_tui.core import store as store_mod
from bcsync_tui.core.lock import LockedError
from bcsync_tui.core.paths import Paths
from bcsync_tui.core.storage import JournaledStorage
from bcsync_tui.core.store import NotFoundError, Store, StoreCorruptError

ROOT = Path(__file__).resolve().parents[2]


# --- helpers -------------------------------------------------------------------------------------


def wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def read_bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def state_on_disk(path: Path) -> dict:
    """What a fresh process loads from ``path`` (deep-copied, comparable)."""
    return json.loads(json.dumps(JournaledStorage(path).read()))


def mem_state(store: Store) -> dict:
    return json.loads(json.dumps(store.storage.read()))


def ann(**extra):
    return {"first_name": "Ann", "surname": "Lee", "email": "ann@example.com", **extra}


def person(i: int, **extra):
    return {"first_name": f"First{i}", "surname": f"Sur{i}", "email": f"p{i}@example.com", **extra}


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "store.json"


@pytest.fixture
def store(path):
    s = Store(path)
    yield s
    s.close()


def run_py(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BCSYNC_NO_KEYRING": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env, **kwargs)


# --- contacts ------------------------------------------------------------------------------------


def test_add_contact_stamps_identity_number_and_revision(store):
    c = store.add_contact(ann(middle_name="M"))
    assert c["no"] == "CT000001"
    assert len(c["uuid"]) == 36
    assert c["revision"] == 1
    assert c["created_at"] == c["modified_at"] and c["created_at"]
    assert c["name"] == "Ann M Lee"
    assert store.get_contact(c["uuid"]) == c
    assert store.find_contact("ct000001") == c
    assert store.find_contact(c["uuid"]) == c


def test_add_contact_keeps_a_given_uuid_and_number(store):
    c = store.add_contact(ann(uuid="11111111-2222-3333-4444-555555555555", no="X-1"))
    assert c["uuid"] == "11111111-2222-3333-4444-555555555555"
    assert c["no"] == "X-1"


def test_invalid_contact_is_refused_and_writes_nothing(store, path):
    store.add_contact(ann())
    before, before_wal = mem_state(store), read_bytes(wal(path))
    with pytest.raises(model.ValidationError) as info:
        store.add_contact(ann(email="not an address", phone="call me"))
    assert set(info.value.errors) == {"email", "phone"}
    assert mem_state(store) == before
    assert read_bytes(wal(path)) == before_wal
    assert store.add_contact(person(2))["no"] == "CT000002"  # no number was used up


def test_duplicate_number_is_refused(store):
    store.add_contact(ann())
    with pytest.raises(model.ValidationError) as info:
        store.add_contact(person(2, no="CT000001"))
    assert info.value.errors == {"no": "number CT000001 is already used"}
    other = store.add_contact(person(3))
    with pytest.raises(model.ValidationError):
        store.update_contact(other["uuid"], {"no": "CT000001"})
    assert store.get_contact(other["uuid"])["no"] == other["no"]


def test_find_contact_not_found_names_the_reference(store):
    with pytest.raises(NotFoundError) as info:
        store.find_contact("CT999")
    assert "CT999" in str(info.value)


def test_update_bumps_revision_only_on_a_real_change(store, path):
    c = store.add_contact(ann())
    time.sleep(0.001)
    u = store.update_contact(c["uuid"], {"city": "Oslo"})
    assert u["city"] == "Oslo"
    assert u["revision"] == 2
    assert u["modified_at"] > c["modified_at"]
    assert u["created_at"] == c["created_at"]

    wal_before = read_bytes(wal(path))
    # the same values, values that normalise to the same, and non-editable keys: no change at all
    for changes in ({"city": "Oslo"}, {"email": "  ann@example.com "}, {"name": "Someone Else"},
                    {"revision": 99, "uuid": "x", "created_at": "y"}, {}):
        again = store.update_contact(c["uuid"], changes)
        assert again == u, changes
    assert read_bytes(wal(path)) == wal_before  # nothing written either

    u3 = store.update_contact(c["uuid"], {"first_name": "Anna", "job_title": "CEO"})
    assert u3["revision"] == 3
    assert u3["name"] == "Anna Lee"
    assert state_on_disk(path)["contacts"]["1"]["revision"] == 3


def test_update_validates(store):
    c = store.add_contact(ann())
    with pytest.raises(model.ValidationError) as info:
        store.update_contact(c["uuid"], {"email": "broken@", "city": "C" * 31})
    assert set(info.value.errors) == {"email", "city"}
    assert store.get_contact(c["uuid"]) == c


def test_update_unknown_contact_raises_not_found(store):
    with pytest.raises(NotFoundError):
        store.update_contact("no-such-uuid", {"city": "Oslo"})


def test_delete_keeps_a_tombstone(store, path):
    keep = store.add_contact(person(1))
    gone = store.add_contact(person(2))
    assert [c["uuid"] for c in store.contacts_raw()] == [keep["uuid"], gone["uuid"]]  # (no tombstone yet)
    store.delete_contact(gone["uuid"])

    assert store.get_contact(gone["uuid"]) is None
    tomb = store.get_contact(gone["uuid"], include_deleted=True)
    assert tomb["deleted"] is True and tomb["deleted_at"]
    assert tomb["revision"] == gone["revision"] + 1
    assert tomb["no"] == gone["no"] and tomb["email"] == gone["email"]
    assert [c["uuid"] for c in store.all_contacts()] == [keep["uuid"]]
    assert {c["uuid"] for c in store.all_contacts(include_deleted=True)} == {keep["uuid"], gone["uuid"]}
    assert [c["uuid"] for c in store.contacts_raw()] == [keep["uuid"]]
    with store.transaction():  # a "deleted" key that is not true (no bcsync writes one) is no tombstone
        doc_id = next(i for i, d in store.contacts.raw().items() if d["uuid"] == keep["uuid"])
        store.contacts.put({doc_id: {**store.contacts.raw()[doc_id], "deleted": False}})
    assert [c["uuid"] for c in store.contacts_raw()] == [keep["uuid"]]
    with pytest.raises(NotFoundError):
        store.find_contact(gone["no"])
    with pytest.raises(NotFoundError):
        store.delete_contact(gone["uuid"])
    with pytest.raises(NotFoundError):
        store.update_contact(gone["uuid"], {"city": "Oslo"})

    # the tombstone survives a restart
    with Store(path) as again:
        assert again.get_contact(gone["uuid"], include_deleted=True)["deleted"] is True
        assert again.get_contact(gone["uuid"]) is None


def test_a_record_read_before_an_edit_or_a_delete_keeps_the_version_it_read(store, path):
    """Records are replaced, never changed in place: a sync's snapshot of the master holds the
    records themselves (no copies of 50,000 contacts) and must still see the master as it planned."""
    a, b = store.add_contact(person(1)), store.add_contact(person(2))
    held = {d["uuid"]: d for d in store.contacts.raw().values()}
    before = copy.deepcopy(held)
    store.update_contact(a["uuid"], {"city": "Bergen", "job_title": "CEO"})
    store.delete_contact(b["uuid"])
    assert held == before  # the held records are untouched
    assert store.get_contact(a["uuid"])["city"] == "Bergen"
    assert store.get_contact(a["uuid"])["revision"] == a["revision"] + 1
    assert store.get_contact(b["uuid"], include_deleted=True)["deleted"] is True
    assert state_on_disk(path)["contacts"]["1"]["city"] == "Bergen"  # journaled as before


def test_purge_tombstone_removes_only_tombstones(store, path):
    live = store.add_contact(person(1))
    gone = store.add_contact(person(2))
    store.purge_tombstone(live["uuid"])
    assert store.get_contact(live["uuid"]) is not None
    store.delete_contact(gone["uuid"])
    store.purge_tombstone(gone["uuid"])
    assert store.get_contact(gone["uuid"], include_deleted=True) is None
    assert [c["uuid"] for c in state_on_disk(path)["contacts"].values()] == [live["uuid"]]


def test_lookups_stay_right_after_bulk_adds_purges_and_id_reuse(path):
    a, b = Store(path), Store(path)
    rows = a.add_contacts([person(i) for i in range(20)])
    for r in rows:  # never seen through add_contact: found anyway, in both instances
        assert a.get_contact(r["uuid"])["no"] == r["no"]
        assert b.get_contact(r["uuid"])["no"] == r["no"]
    last = rows[-1]
    a.delete_contact(last["uuid"])
    a.purge_tombstone(last["uuid"])
    with Store(path) as fresh:  # a fresh process numbers documents from the highest id left
        newer = fresh.add_contact(person(99))  # so it takes the purged contact's document id
    assert state_on_disk(path)["contacts"]["20"]["uuid"] == newer["uuid"]
    for s in (a, b):
        assert s.get_contact(last["uuid"], include_deleted=True) is None
        assert s.get_contact(newer["uuid"]) == newer
        with pytest.raises(NotFoundError):
            s.update_contact(last["uuid"], {"city": "Oslo"})
    assert b.update_contact(newer["uuid"], {"city": "Oslo"})["city"] == "Oslo"
    assert a.get_contact(newer["uuid"])["city"] == "Oslo"
    assert a.get_contact("no-such-uuid") is None


# --- number series ---------------------------------------------------------------------------------


def test_numbers_count_up_and_survive_a_restart(store, path):
    assert [store.add_contact(person(i))["no"] for i in range(3)] == ["CT000001", "CT000002", "CT000003"]
    store.close()
    with Store(path) as again:
        assert again.next_number() == "CT000004"


def test_numbers_skip_explicitly_imported_ones(store):
    store.add_contacts([person(1, no="CT000002"), person(2, no="CT000004")])
    store.add_contact(person(3, no="CT000005"))
    got = [store.add_contact(person(10 + i))["no"] for i in range(4)]
    assert got == ["CT000001", "CT000003", "CT000006", "CT000007"]
    numbers = [c["no"] for c in store.all_contacts()]
    assert len(numbers) == len(set(numbers))


def test_add_contacts_numbers_rows_without_one_and_skips_used(store):
    store.add_contact(person(0, no="CT000002"))
    out = store.add_contacts([person(1), person(2, no="CT000003"), person(3)])
    assert [c["no"] for c in out] == ["CT000001", "CT000003", "CT000004"]
    assert store.next_number() == "CT000005"


def test_numbers_are_never_reused_after_delete_and_purge(store):
    a = store.add_contact(person(1))
    b = store.add_contact(person(2))
    for c in (a, b):
        store.delete_contact(c["uuid"])
        store.purge_tombstone(c["uuid"])
    assert store.all_contacts(include_deleted=True) == []
    assert store.add_contact(person(3))["no"] == "CT000003"
    assert store.next_number() == "CT000004"
    assert store.next_number() == "CT000005"  # a number handed out is gone even if never used


def _take_numbers(path: str, n: int, go, out) -> None:
    s = Store(path, lock_timeout=60)
    go.wait()
    out.put([s.next_number() for _ in range(n)])
    s.close()


def _add_contacts_worker(path: str, tag: str, n: int, go, out) -> None:
    s = Store(path, lock_timeout=60)
    go.wait()
    out.put([s.add_contact(person(i, city=tag))["no"] for i in range(n)])
    s.close()


def _run_two(target, args_a, args_b):
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, go, out)) for a in (args_a, args_b)]
    for p in procs:
        p.start()
    go.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return results


def test_two_processes_allocating_numbers_never_get_the_same(path):
    Store(path).close()
    a, b = _run_two(_take_numbers, (str(path), 200), (str(path), 200))
    assert len(a) == len(b) == 200
    assert len(set(a) | set(b)) == 400, "a number was handed out twice"
    assert sorted(a + b) == [f"CT{i:06d}" for i in range(1, 401)]
    assert a == sorted(a) and b == sorted(b)
    with Store(path) as s:
        assert s.next_number() == "CT000401"


def test_two_processes_adding_contacts_lose_nothing(path):
    Store(path).close()
    a, b = _run_two(_add_contacts_worker, (str(path), "A", 60), (str(path), "B", 60))
    assert len(set(a) | set(b)) == 120
    data = state_on_disk(path)["contacts"]
    assert len(data) == 120  # no document id was used twice (that would overwrite a contact)
    assert sorted(d["no"] for d in data.values()) == sorted(a + b)
    assert sum(d["city"] == "A" for d in data.values()) == 60
    assert len({d["uuid"] for d in data.values()}) == 120


# --- transactions ----------------------------------------------------------------------------------


def test_transaction_commits_as_one_journal_line(store, path):
    first = store.add_contact(person(0))
    lines_before = read_bytes(wal(path)).count(b"\n")
    with store.transaction():
        added = [store.add_contact(person(i)) for i in range(1, 4)]
        store.update_contact(first["uuid"], {"city": "Oslo"})
        store.delete_contact(added[0]["uuid"])
        store.profiles.insert({"name": "ann"})
        # a second process sees nothing yet
        assert len(state_on_disk(path)["contacts"]) == 1
    raw = read_bytes(wal(path))
    assert raw.count(b"\n") == lines_before + 1
    last = json.loads(raw.splitlines()[-1].rpartition(b" ")[0])
    touched = {(t, i) for t, i, _ in last["ops"]}
    assert {("contacts", "1"), ("contacts", "2"), ("contacts", "3"), ("contacts", "4"), ("profiles", "1")} <= touched
    on_disk = state_on_disk(path)
    assert on_disk == mem_state(store)
    assert on_disk["contacts"]["1"]["city"] == "Oslo"
    assert on_disk["contacts"]["2"]["deleted"] is True


def test_exception_rolls_the_transaction_back_completely(store, path):
    first = store.add_contact(person(0))
    store.profiles.insert({"name": "ann", "state": {"a": 1}})
    before_mem, before_wal = mem_state(store), read_bytes(wal(path))
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction():
            new = store.add_contact(person(1))
            store.update_contact(first["uuid"], {"city": "Oslo", "email": "changed@example.com"})
            store.delete_contact(first["uuid"])
            store.next_number()
            store.profiles.update({"state": {"a": 2}}, Query().name == "ann")
            store.meta.insert({"key": "junk"})
            raise RuntimeError("boom")
    assert mem_state(store) == before_mem
    assert read_bytes(wal(path)) == before_wal
    assert state_on_disk(path) == before_mem
    assert store.get_contact(new["uuid"]) is None
    assert store.get_contact(first["uuid"]) == first
    # the lock was released and the store keeps working, without a gap in the numbers
    with Store(path, lock_timeout=0) as other:
        assert other.add_contact(person(2))["no"] == "CT000002"
    assert store.add_contact(person(3))["no"] == "CT000003"


def test_failed_journal_write_leaves_no_phantom_change(store, path, monkeypatch):
    """A write error (disk full, I/O error) while committing: the transaction did not happen,
    neither on disk nor in this process's memory, and the next transaction is unaffected."""
    kept = store.add_contact(person(0))
    before = mem_state(store)
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        store.add_contact(person(1))
    monkeypatch.setattr(storage_mod.os, "fsync", real_fsync)

    assert mem_state(store) == before
    assert len(store.all_contacts()) == 1
    later = store.add_contact(person(2))
    on_disk = state_on_disk(path)
    assert sorted(d["uuid"] for d in on_disk["contacts"].values()) == sorted([kept["uuid"], later["uuid"]])
    assert on_disk == mem_state(store)


def test_failed_compaction_does_not_fail_a_committed_transaction(store, path, monkeypatch):
    store.add_contact(person(0))
    store.storage.compact_min_bytes = 0  # compact after every commit

    def no_space(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod, "write_private_stream", no_space)
    c = store.add_contact(person(1))  # durable in the journal; the snapshot just stays old
    monkeypatch.undo()
    assert store.get_contact(c["uuid"]) == c
    assert Store(path).get_contact(c["uuid"]) == c


def test_failed_snapshot_write_leaves_no_temp_file_and_the_old_snapshot(store, path, monkeypatch):
    from bcsync_tui.core import paths as paths_mod

    store.add_contact(person(0))
    store.storage.compact()
    snap = path.read_bytes()
    c = store.add_contact(person(1))
    real_fsync = os.fsync

    def fsync_fails_on_files(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(paths_mod.os, "fsync", fsync_fails_on_files)
    with pytest.raises(OSError):
        store.storage.compact()
    monkeypatch.undo()
    assert path.read_bytes() == snap
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert Store(path).get_contact(c["uuid"]) == c


def test_conditional_update_journals_only_the_matching_documents(store, path):
    with store.transaction():
        for i in range(50):
            store.links.insert({"profile": "ann", "item_id": f"I{i}", "contact_uuid": f"U{i}"})
    store.links.update({"change_key": "CK2"}, Query().item_id == "I7")
    ops = json.loads(read_bytes(wal(path)).splitlines()[-1].rpartition(b" ")[0])["ops"]
    assert [(t, i) for t, i, _ in ops] == [("links", "8")]
    store.links.remove(Query().item_id == "I9")
    ops = json.loads(read_bytes(wal(path)).splitlines()[-1].rpartition(b" ")[0])["ops"]
    assert ops == [["links", "10", None]]
    store.links.upsert({"profile": "ann", "item_id": "I3", "change_key": "CK3"}, Query().item_id == "I3")
    on_disk = state_on_disk(path)["links"]
    assert on_disk["8"]["change_key"] == "CK2"
    assert on_disk["4"]["change_key"] == "CK3"
    assert "10" not in on_disk and len(on_disk) == 49
    assert on_disk == mem_state(store)["links"]


# --- other processes -------------------------------------------------------------------------------


def test_second_instance_sees_changes_without_reopening(path):
    a, b = Store(path), Store(path)
    c = a.add_contact(ann())
    assert b.get_contact(c["uuid"]) == c
    a.update_contact(c["uuid"], {"city": "Bergen"})
    assert b.get_contact(c["uuid"])["city"] == "Bergen"
    assert b.find_contact("CT000001")["city"] == "Bergen"
    a.delete_contact(c["uuid"])
    assert b.get_contact(c["uuid"]) is None
    d = b.add_contact(person(2))  # b writes on top of a's changes, not over them
    assert d["no"] == "CT000002"
    a.storage.compact()
    e = a.add_contact(person(3))
    assert [x["uuid"] for x in b.all_contacts()] == [d["uuid"], e["uuid"]]
    assert mem_state(a) == mem_state(b) == state_on_disk(path)


def test_change_from_another_process_is_noticed(store, path):
    c = store.add_contact(ann())
    assert store.get_contact(c["uuid"])["city"] == ""
    proc = run_py("""
        import sys
        from bcsync_tui.core.store import Store
        s = Store(sys.argv[1])
        s.update_contact(sys.argv[2], {"city": "Tromsø"})
        s.add_contact({"first_name": "Bo", "surname": "Ek", "email": "bo@example.com"})
    """, str(path), c["uuid"])
    assert proc.wait(30) == 0
    assert store.get_contact(c["uuid"])["city"] == "Tromsø"
    assert store.find_contact("CT000002")["name"] == "Bo Ek"


def test_second_writer_gets_locked_error_naming_the_holder(path):
    Store(path).close()
    holder = run_py("""
        import sys
        from bcsync_tui.core.store import Store
        s = Store(sys.argv[1])
        with s.transaction():
            s.add_contact({"first_name": "Held", "surname": "Lock", "email": "held@example.com"})
            print("locked", flush=True)
            sys.stdin.readline()
    """, str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiter = Store(path, lock_timeout=0.3)
        t0 = time.monotonic()
        with pytest.raises(LockedError) as info:
            waiter.add_contact(ann())
        assert time.monotonic() - t0 >= 0.25  # it did wait for lock_timeout before giving up
        assert f"in use by PID {holder.pid}" in str(info.value)
        assert info.value.pid == holder.pid
        assert waiter.all_contacts() == []
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(30) == 0
    # once released, the waiter can write, on top of the holder's contact
    c = waiter.add_contact(ann())
    assert c["no"] == "CT000002"
    assert [x["name"] for x in waiter.all_contacts()] == ["Held Lock", "Ann Lee"]


def test_sync_lock_is_separate_and_exclusive(store, path):
    lock = store.sync_lock("ann")
    lock.acquire(timeout=0)
    try:
        with pytest.raises(LockedError) as info:
            Store(path).sync_lock("bob").acquire(timeout=0)
        assert f"PID {os.getpid()}" in str(info.value)
        store.add_contact(ann())  # the store itself is not blocked by a running sync
    finally:
        lock.release()
    other = Store(path).sync_lock()
    other.acquire(timeout=0)
    other.release()


# --- damaged files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b"\x00\xff\xfe garbage \x80\x81",
    b"{\"format\": \"bcsync-store\", \"tables\": {",
    b"[]",
    b"\"just a string\"",
    b"{\"_default\": {\"1\": {\"a\": 1}}}",  # a stock TinyDB file
    b"{\"format\": \"bcsync-store\", \"seq\": 0, \"tables\": []}",
    b"{\"format\": \"bcsync-store\", \"seq\": 0, \"tables\": {\"contacts\": []}}",
    b"{\"format\": \"bcsync-store\", \"seq\": 0, \"tables\": {\"contacts\": {\"1\": 5}}}",
    b"{\"format\": \"bcsync-store\", \"seq\": \"abc\", \"tables\": {}}",
    b"{\"format\": \"bcsync-store\", \"seq\": null, \"tables\": {}}",
])
def test_corrupt_snapshot_is_refused_naming_the_file_and_left_untouched(path, content):
    path.write_bytes(content)
    wal(path).write_bytes(b"")
    with pytest.raises(StoreCorruptError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert info.value.path == path
    assert "Nothing was changed" in str(info.value)
    assert path.read_bytes() == content
    assert wal(path).read_bytes() == b""


def _transactions(path: Path, n: int = 3) -> list[bytes]:
    with Store(path) as s:
        for i in range(n):
            s.add_contact(person(i))
    return wal(path).read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("damage", ["flip", "drop_newline", "garbage_line"])
def test_damaged_journal_line_in_the_middle_is_refused(path, damage):
    lines = _transactions(path, 4)
    if damage == "flip":
        bad = bytearray(lines[1])
        bad[20] ^= 0x01
        lines[1] = bytes(bad)
    elif damage == "drop_newline":
        lines[1] = lines[1][:-1]
    else:
        lines.insert(1, b"not a journal line\n")
    raw = b"".join(lines)
    wal(path).write_bytes(raw)
    snap = read_bytes(path)
    with pytest.raises(StoreCorruptError) as info:
        Store(path)
    assert str(wal(path)) in str(info.value)
    assert "damaged journal entry at byte" in str(info.value)
    assert wal(path).read_bytes() == raw
    assert read_bytes(path) == snap


def test_torn_last_journal_line_is_ignored_and_later_writes_work(path):
    lines = _transactions(path)
    full = b"".join(lines)
    torn = b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2]
    wal(path).write_bytes(torn)
    with Store(path) as s:
        assert [c["no"] for c in s.all_contacts()] == ["CT000001", "CT000002"]
        c = s.add_contact(person(9))
        assert c["no"] == "CT000003"
    raw = wal(path).read_bytes()
    assert raw.startswith(b"".join(lines[:2]))
    assert raw != full and raw.endswith(b"\n")
    with Store(path) as s:
        assert [x["name"] for x in s.all_contacts()] == ["First0 Sur0", "First1 Sur1", "First9 Sur9"]


def test_checksum_failure_on_a_complete_last_line_is_refused_not_dropped(path):
    """Only a last line without its newline is a torn write; a complete one committed (issue 11)."""
    lines = _transactions(path)
    bad = bytearray(lines[2])
    bad[10] ^= 0x01
    wal(path).write_bytes(b"".join(lines[:2]) + bytes(bad))
    with pytest.raises(StoreCorruptError, match="damaged journal entry"):
        Store(path)


def test_empty_store_file_loads_as_empty(path):
    path.write_bytes(b"")
    with Store(path) as s:
        assert s.all_contacts() == []
        assert s.is_empty()
        assert s.schema_version == store_mod.SCHEMA_VERSION
        c = s.add_contact(ann())
    with Store(path) as s:
        assert s.get_contact(c["uuid"]) == c


def test_missing_store_file_is_created_on_first_write(tmp_path):
    p = tmp_path / "sub" / "store.json"
    with Store(p) as s:
        assert s.all_contacts() == []
        s.add_contact(ann())
    assert wal(p).exists()


# --- compaction ------------------------------------------------------------------------------------


def test_compaction_keeps_all_data_and_empties_the_journal(store, path):
    for i in range(20):
        store.add_contact(person(i))
    store.update_contact(store.find_contact("CT000003")["uuid"], {"city": "Oslo"})
    store.delete_contact(store.find_contact("CT000004")["uuid"])
    store.profiles.insert({"name": "ann", "state": {"x": [1, 2]}})
    before = mem_state(store)
    store.storage.compact()
    assert wal(path).read_bytes() == b""
    snap = json.loads(path.read_bytes())
    assert snap["format"] == "bcsync-store" and snap["tables"] == before
    assert state_on_disk(path) == before
    c = store.add_contact(person(99))
    assert state_on_disk(path)["contacts"][str(len(before["contacts"]) + 1)]["uuid"] == c["uuid"]


def test_automatic_compaction_when_the_journal_grows(store, path):
    store.storage.compact_min_bytes = 2000
    for i in range(30):
        store.add_contact(person(i))
    assert path.exists() and path.stat().st_size > 0
    assert wal(path).stat().st_size <= 2000 + 2000
    assert len(state_on_disk(path)["contacts"]) == 30


def test_crash_between_snapshot_rename_and_journal_truncation_replays_idempotently(store, path, tmp_path,
                                                                                   monkeypatch):
    for i in range(5):
        store.add_contact(person(i))
    store.storage.compact()  # an older snapshot exists, so the crash copy has snapshot + journal
    for i in range(5, 9):
        store.add_contact(person(i))
    store.update_contact(store.find_contact("CT000002")["uuid"], {"city": "Oslo"})
    store.delete_contact(store.find_contact("CT000006")["uuid"])
    store.profiles.insert({"name": "p"})
    store.profiles.remove(Query().name == "p")
    expected = mem_state(store)

    crash = tmp_path / "crash"
    real = storage_mod.write_private_stream

    def write_then_copy(target, chunks, patch=None):
        real(target, chunks, patch)
        if Path(target) == path:  # renamed into place; the journal is not truncated yet
            crash.mkdir()
            shutil.copy2(path, crash / path.name)
            shutil.copy2(wal(path), crash / wal(path).name)

    monkeypatch.setattr(storage_mod, "write_private_stream", write_then_copy)
    store.storage.compact()
    monkeypatch.undo()

    copy_path = crash / path.name
    assert wal(copy_path).stat().st_size > 0  # the journal still holds everything
    assert state_on_disk(copy_path) == expected
    with Store(copy_path) as s:
        assert mem_state(s) == expected
        c = s.add_contact(person(50))  # a write after the replay is not skipped as "already applied"
    with Store(copy_path) as s:
        assert s.get_contact(c["uuid"]) == c
        assert len(s.all_contacts(include_deleted=True)) == 10


# --- backups and restore ---------------------------------------------------------------------------


@pytest.fixture
def private_umask():
    """umask 0: files and directories get exactly the mode the code asks for."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_backup_is_private_and_loads(store, private_umask):
    store.add_contact(ann())
    b = store.backup("Before Import!")
    assert b.parent == store.backup_dir
    assert b.name.startswith("store-") and b.name.endswith("-before-import.json")
    assert mode(b) == 0o600
    assert mode(store.backup_dir) == 0o700
    assert state_on_disk(b) == mem_state(store)
    assert store.list_backups() == [b]


def test_backups_are_rotated_to_the_newest_ten(store):
    made = []
    for i in range(13):
        store.add_contact(person(i))
        made.append(store.backup(f"b{i}"))
    kept = store.list_backups()
    assert kept == list(reversed(made[3:]))
    assert len(kept) == store_mod.BACKUPS_KEPT == 10
    assert not any(p.exists() for p in made[:3])
    assert len(state_on_disk(kept[0])["contacts"]) == 13


def test_restore_backs_up_the_current_store_first(store, path):
    a = store.add_contact(person(1))
    backup = store.backup("one")
    b = store.add_contact(person(2))
    store.update_contact(a["uuid"], {"city": "Oslo"})
    current = mem_state(store)
    other = Store(path)
    assert other.get_contact(b["uuid"]) is not None

    saved = store.restore(backup)
    assert saved != backup and saved.exists() and "before-restore" in saved.name
    assert state_on_disk(saved) == current
    assert store.get_contact(b["uuid"]) is None
    assert store.get_contact(a["uuid"])["city"] == ""
    assert other.get_contact(b["uuid"]) is None  # another process notices the restore
    assert state_on_disk(path) == mem_state(store) == mem_state(other)
    # and the restored store keeps working across restarts
    c = store.add_contact(person(3))
    with Store(path) as again:
        assert {x["uuid"] for x in again.all_contacts()} == {a["uuid"], c["uuid"]}


def test_restore_of_the_oldest_kept_backup(store, path):
    """Backing up before the restore rotates the backups; the one being restored must survive that."""
    store.add_contact(person(0))
    oldest = store.backup("oldest")
    for i in range(1, store_mod.BACKUPS_KEPT):
        store.add_contact(person(i))
        store.backup(f"b{i}")
    assert store.list_backups()[-1] == oldest
    store.restore(oldest)
    assert len(store.all_contacts()) == 1
    assert len(state_on_disk(path)["contacts"]) == 1


def test_crash_during_restore_never_mixes_old_journal_into_the_backup(store, path, tmp_path, monkeypatch):
    store.add_contact(person(0))
    backup = store.backup("early")
    for i in range(1, 6):
        store.add_contact(person(i))
    backup_state = state_on_disk(backup)
    crash = tmp_path / "crash"
    real_replace = os.replace

    def replace_then_copy(src, dst):
        real_replace(src, dst)
        if Path(dst) == path:  # the restored file is in place, the old journal not yet removed
            crash.mkdir()
            shutil.copy2(path, crash / path.name)
            shutil.copy2(wal(path), crash / wal(path).name)

    monkeypatch.setattr(os, "replace", replace_then_copy)
    store.restore(backup)
    monkeypatch.undo()
    assert crash.exists()
    assert state_on_disk(crash / path.name) == backup_state
    assert state_on_disk(path) == backup_state


def test_corrupt_backup_is_refused(store, path, tmp_path):
    store.add_contact(ann())
    bad = tmp_path / "store-20990101T000000000000Z-bad.json"
    bad.write_bytes(b'{"format": "bcsync-store", "tables": {"contacts": [')
    snap, journal = read_bytes(path), read_bytes(wal(path))
    with pytest.raises(StoreCorruptError) as info:
        store.restore(bad)
    assert str(bad) in str(info.value)
    assert read_bytes(path) == snap and read_bytes(wal(path)) == journal
    assert store.list_backups() == []  # nothing was done at all
    assert len(store.all_contacts()) == 1


# --- permissions -----------------------------------------------------------------------------------


def test_directories_are_0700_and_files_0600(tmp_path, private_umask):
    from bcsync_tui.core.secrets import SecretStore

    paths = Paths.resolve(tmp_path / "home")
    s = Store.open(paths)
    s.add_contact(ann())
    s.storage.compact()
    s.add_contact(person(2))
    s.backup("perm")
    sl = s.sync_lock()
    sl.acquire(timeout=0)
    sl.release()
    SecretStore(paths.secrets_file).set("ann", "pw")
    for d in (paths.data_dir, paths.config_dir, paths.log_dir, paths.backup_dir):
        assert mode(d) == 0o700, d
    files = [paths.store_file, wal(paths.store_file), paths.store_file.with_name("store.json.lock"),
             paths.data_dir / "sync.lock", paths.secrets_file, *s.list_backups()]
    for f in files:
        assert mode(f) == 0o600, f
    s.close()


def test_existing_loose_directory_is_tightened(tmp_path, private_umask):
    d = tmp_path / "home"
    d.mkdir(mode=0o755)
    Paths.resolve(d).ensure()
    assert mode(d) == 0o700


def test_paths_follow_home_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BCSYNC_HOME", str(tmp_path / "h"))
    p = Paths.resolve()
    assert p.store_file == tmp_path / "h" / "store.json"
    assert p.secrets_file.parent == p.store_file.parent  # secrets live beside the store


# --- schema ----------------------------------------------------------------------------------------


def test_newer_schema_is_refused_and_the_file_left_alone(store, path):
    store.add_contact(ann())
    store._set_meta("schema", version=store_mod.SCHEMA_VERSION + 1)
    store.close()
    snap, journal = read_bytes(path), read_bytes(wal(path))
    with pytest.raises(StoreCorruptError) as info:
        Store(path)
    assert f"newer bcsync (schema {store_mod.SCHEMA_VERSION + 1})" in str(info.value)
    assert read_bytes(path) == snap and read_bytes(wal(path)) == journal


@pytest.mark.parametrize("old_schema", [1, 2])
def test_an_older_stores_link_details_move_to_their_own_table(store, path, old_schema):
    """Schema 3: a link's item id, change key and bases live in ``link_details`` (by the link's document
    id), which the TUI never decodes; a base_remote equal to base_master is written once
    (records.SAME_BASE, schema 2). A schema-1 store (all in the link, both bases in full) and a schema-2
    one (SAME_BASE in the link) are rewritten on open, every link keeping its details, and any other
    field it holds."""
    from bcsync_tui.core.records import SAME_BASE, LinkRow

    people = [store.add_contact(person(i)) for i in range(3)]
    bases = [{"email": c["email"], "city": c.get("city") or ""} for c in people]
    links = [LinkRow("p", people[0]["uuid"], "item-0", "ck0", bases[0], dict(bases[0]), 1),
             LinkRow("p", people[1]["uuid"], "item-1", "ck1", bases[1], bases[1] | {"city": "Bergen"}, 1),
             LinkRow("p", people[2]["uuid"], "item-2", "ck2", None, None)]
    for link in links:
        store.save_link(link)
    assert list(store.link_details.raw().values()) == [
        {"item_id": "item-0", "change_key": "ck0", "base_master": bases[0], "base_remote": SAME_BASE},
        {"item_id": "item-1", "change_key": "ck1", "base_master": bases[1], "base_remote": bases[1] | {"city": "Bergen"}},
        {"item_id": "item-2", "change_key": "ck2", "base_master": None, "base_remote": None}]
    assert not any("item_id" in d or "base_master" in d for d in store.links.raw().values())
    # As an older bcsync wrote it: all in the link's document, no link_details table
    old = {doc_id: doc | link.details_doc() | {"future": 1}
           | ({"base_remote": link.base_remote} if old_schema == 1 else {})
           for (doc_id, doc), link in zip(store.links.raw().items(), links)}
    with store.transaction():
        store.links.put(old)
        store.link_details.truncate()
        store._set_meta("schema", version=old_schema)
    store.storage.compact()
    store.close()
    with Store(path) as s:
        assert s.schema_version == store_mod.SCHEMA_VERSION == 4
        assert s.link_details.raw() == {doc_id: link.details_doc() for doc_id, link in zip(old, links)}
        assert all(d.keys() == {"profile", "contact_uuid", "synced_revision", "future"}  # settled: the defaults left out
                   for d in s.links.raw().values())
        rows = sorted(s.links_of("p").values(), key=lambda r: r.item_id)
        assert rows == links
        assert rows[0].base_remote is rows[0].base_master
        assert s.link_keys("p") == {"item-0": "ck0", "item-1": "ck1", "item-2": "ck2"}
    with Store(path) as s:  # and so it stays
        assert sorted(s.links_of("p").values(), key=lambda r: r.item_id) == links


def test_the_tui_opens_a_synced_store_without_decoding_the_link_details(store, path):
    """``link_details`` is decoded only when a sync (or a write) first uses it: a store opened for
    showing contacts and badges never holds the links' item ids and bases."""
    from bcsync_tui.core.records import LinkRow

    people = [store.add_contact(person(i)) for i in range(3)]
    for i, c in enumerate(people):
        store.save_link(LinkRow("p", c["uuid"], f"item-{i}", f"ck{i}", {"email": c["email"]}, {"email": c["email"]}, 1))
    store.storage.compact()
    store.close()
    with Store(path) as s:
        assert "link_details" in s.storage._deferred and "link_details" not in s.storage.read()
        index = s.links_by_contact("p")
        assert index[people[1]["uuid"]].synced_revision == 1 and index[people[1]["uuid"]].base_master is None
        assert s.link_summary("p").count == 3
        assert "link_details" in s.storage._deferred
        rows = s.links_of("p")  # a sync's read: the item ids and bases come with the rows
        assert [(r.item_id, r.base_master) for r in rows.values()] == [
            (f"item-{i}", {"email": c["email"]}) for i, c in enumerate(people)]
        assert "link_details" not in s.storage._deferred
        s.remove_links([next(iter(rows))])
        assert len(s.link_details.raw()) == 2 and len(s.links.raw()) == 2


def test_migration_runs_once_on_open(store, path, monkeypatch):
    c = store.add_contact(ann())
    store.close()
    calls = []

    def to_v2(s: Store) -> None:
        calls.append(s.path)
        assert s.storage.in_transaction
        for doc_id, doc in s.contacts.raw().items():
            s.contacts.update({"job_title": "migrated"}, doc_ids=[int(doc_id)])

    now = store_mod.SCHEMA_VERSION
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", now + 1)
    monkeypatch.setattr(store_mod, "MIGRATIONS", {now: to_v2})
    with Store(path) as s:
        assert calls == [path]
        assert s.schema_version == now + 1
        assert s.get_contact(c["uuid"])["job_title"] == "migrated"
    with Store(path) as s:
        assert calls == [path]  # not again
        assert s.get_contact(c["uuid"])["job_title"] == "migrated"


def test_failing_migration_changes_nothing(store, path, monkeypatch):
    store.add_contact(ann())
    store.close()
    snap, journal = read_bytes(path), read_bytes(wal(path))

    def broken(s: Store) -> None:
        for doc_id in s.contacts.raw():
            s.contacts.update({"job_title": "half"}, doc_ids=[int(doc_id)])
        raise ValueError("migration bug")

    now = store_mod.SCHEMA_VERSION
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", now + 1)
    monkeypatch.setattr(store_mod, "MIGRATIONS", {now: broken})
    with pytest.raises(ValueError, match="migration bug"):
        Store(path)
    assert read_bytes(path) == snap and read_bytes(wal(path)) == journal
    monkeypatch.undo()
    with Store(path) as s:
        assert s.schema_version == now
        assert s.all_contacts()[0]["job_title"] == ""


def test_docs_helper_filters_by_fields(store):
    store.links.insert({"profile": "a", "item_id": "1"})
    store.links.insert({"profile": "b", "item_id": "2"})
    docs = Store.docs(store.links, profile="b")
    assert [(d.doc_id, d["item_id"]) for d in docs] == [(2, "2")]
    assert copy.deepcopy(Store.docs(store.links)) and len(Store.docs(store.links)) == 2


def test_a_new_store_records_its_schema_with_its_first_write(tmp_path):
    from bcsync_tui.core import store as store_mod

    path = tmp_path / "store.json"
    s = store_mod.Store(path)
    s.add_contact({"first_name": "Ann", "surname": "Lee", "email": "ann@example.com"})
    s.close()
    reopened = store_mod.Store(path)
    assert reopened._meta("schema") == {"key": "schema", "version": store_mod.SCHEMA_VERSION}
    reopened.close()


def test_temp_files_of_dead_writers_are_removed_on_open(tmp_path):
    import subprocess
    import sys

    from bcsync_tui.core import store as store_mod

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f".store.json.{int(dead.stdout)}.tmp"
    orphan.write_bytes(b"partial snapshot")
    mine = tmp_path / f".store.json.{__import__('os').getpid()}.tmp"  # a live writer's: left alone
    mine.write_bytes(b"in progress")
    store_mod.Store(tmp_path / "store.json").close()
    assert not orphan.exists() and mine.exists()


def test_one_number_allocator_for_single_and_bulk_adds(tmp_path):
    """add_contact and add_contacts draw from the same series and never reuse a number, even one a
    row brought along."""
    s = Store(tmp_path / "store.json")
    first = s.add_contact({"first_name": "Ann", "email": "ann@example.com"})
    bulk = s.add_contacts([{"first_name": "Bo", "type": model.PERSON}, {"first_name": "Cy", "no": "CT000003",
                                                                         "type": model.PERSON},
                           {"first_name": "Di", "type": model.PERSON}])
    last = s.add_contact({"first_name": "Ed"})
    numbers = [first["no"], *(c["no"] for c in bulk), last["no"]]
    assert numbers == ["CT000001", "CT000002", "CT000003", "CT000004", "CT000005"]
    s.close()


def test_link_and_journal_queries_of_one_profile(tmp_path):
    from bcsync_tui.core.records import LinkRow

    s = Store(tmp_path / "store.json")
    with s.transaction():
        ann = s.save_link(LinkRow("ann", "u1", "item-1", "ck", {"city": "Oslo"}, {"city": "Oslo"}, 3))
        s.save_link(LinkRow("bob", "u1", "item-9", "ck", None, None))
        s.journal_creates("ann", "run-1", ["u2", "u3"])
        s.journal_creates("ann", "run-2", ["u4"])
        s.journal_creates("bob", "run-3", ["u5"])
    assert [(lk.item_id, lk.base_master) for lk in s.links_of("ann").values()] == [("item-1", {"city": "Oslo"})]
    moved = s.links_of("ann")[ann]
    moved.change_key = "ck2"
    s.save_link(moved, ann)
    assert s.link_at(ann).change_key == "ck2" and len(s.links_of("ann")) == 1
    assert sorted(j["contact_uuid"] for j in s.journal_of("ann")) == ["u2", "u3", "u4"]
    s.drop_journal("ann", keep_run="run-2")
    assert [j["contact_uuid"] for j in s.journal_of("ann")] == ["u4"]
    assert [j["contact_uuid"] for j in s.journal_of("bob")] == ["u5"]
    s.close()


def test_saving_a_link_again_replaces_its_fields_and_keeps_what_a_newer_bcsync_added(store):
    """A settled link's document leaves pinned/error/needs_stamp out: saved over a pinned one with an
    error, it must not keep them; a field this version does not know stays."""
    from dataclasses import replace

    from bcsync_tui.core.records import LinkRow

    c = store.add_contact(ann())
    row = LinkRow("p", c["uuid"], "item-1", "ck1", None, None, 1, pinned=True, error="refused", needs_stamp=True)
    doc_id = store.save_link(row)
    with store.transaction():
        store.links.put({str(doc_id): store.links.raw()[str(doc_id)] | {"future": "kept"}})
    settled = replace(row, pinned=False, error=None, needs_stamp=False, change_key="ck2")
    assert store.save_link(settled, doc_id) == doc_id
    assert store.links_of("p") == {doc_id: settled}
    assert store.links.raw()[str(doc_id)] == {"future": "kept", **settled.to_doc()}
