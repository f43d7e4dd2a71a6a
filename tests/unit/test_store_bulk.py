"""A bulk import is written as one fresh snapshot (no journal line, no compaction after it), and
the store reads back the same, with the journal lines before it folded in, never replayed twice."""

from __future__ import annotations

from bcsync_tui.core import model
from bcsync_tui.core.storage import BULK_OPS
from bcsync_tui.core.store import Store


def _rows(n: int, tag: str) -> list[dict]:
    return [model.prepare({"first_name": f"{tag}{i}", "surname": "Bulk", "email": f"{tag.lower()}{i}@example.com"})
            for i in range(n)]


def test_bulk_import_goes_into_the_snapshot_and_reads_back(tmp_path):
    path = tmp_path / "store.json"
    with Store(path) as store:
        first = store.add_contact({"first_name": "Ann", "surname": "Small", "email": "ann@example.com"})
        wal = store.storage.wal_path
        assert wal.stat().st_size > 0  # a small write is a journal line
        snapshot_before = path.stat().st_ino if path.exists() else None
        added = store.add_contacts(_rows(BULK_OPS + 5, "B"), prepared=True)
        assert wal.stat().st_size == 0  # folded into the new snapshot, not journaled
        assert path.stat().st_ino != snapshot_before
        after = store.add_contact({"first_name": "Cy", "surname": "Late", "email": "cy@example.com"})
    with Store(path) as again:
        live = {c["uuid"]: c for c in again.all_contacts()}
        assert len(live) == BULK_OPS + 7
        assert live[first["uuid"]]["email"] == "ann@example.com"
        assert live[after["uuid"]]["name"] == "Cy Late"
        assert [live[c["uuid"]]["email"] for c in added[:3]] == ["b0@example.com", "b1@example.com", "b2@example.com"]
        assert len({c["no"] for c in live.values()}) == len(live)  # numbers stay unique across the three writes


def test_prepared_rows_are_copied_not_shared(tmp_path):
    rows = _rows(3, "P")
    with Store(tmp_path / "store.json") as store:
        out = store.add_contacts(rows, prepared=True)
    assert all(r["uuid"] == "" and r["no"] == "" for r in rows)  # the caller's rows are left as they were
    assert all(c["uuid"] and c["no"] and c["revision"] == 1 for c in out)
    assert [c["name"] for c in out] == ["P0 Bulk", "P1 Bulk", "P2 Bulk"]


def test_a_small_store_rewritten_in_bulk_keeps_its_other_tables(tmp_path):
    path = tmp_path / "store.json"
    with Store(path) as store:
        store.add_contacts(_rows(BULK_OPS, "A"), prepared=True)
        revision = store.contacts_revision
        store.add_contacts(_rows(BULK_OPS, "Z"), prepared=True)
        assert store.contacts_revision == revision + 1
    with Store(path) as again:
        assert len(again.all_contacts()) == 2 * BULK_OPS
        assert again.contacts_revision == revision + 1


def test_a_first_write_in_bulk_leaves_the_usual_pair_of_files(tmp_path):
    path = tmp_path / "store.json"
    with Store(path) as store:
        store.add_contacts(_rows(BULK_OPS, "N"), prepared=True)
        wal = store.storage.wal_path
    assert path.exists() and wal.exists() and wal.stat().st_size == 0
    assert (path.stat().st_mode & 0o777, wal.stat().st_mode & 0o777) == (0o600, 0o600)
    with Store(path) as again:
        assert len(again.all_contacts()) == BULK_OPS


def test_compaction_deferred_folds_the_journal_once_at_the_end_and_loses_nothing(tmp_path):
    """A sync's batches: commits inside ``compaction_deferred`` only append to the journal (each is
    durable there: a second process reading the store meanwhile sees every one); leaving it folds
    the journal into the snapshot once."""
    s = Store(tmp_path / "store.json")
    s.storage.compact_min_bytes = 4_000
    s.add_contacts([{"first_name": f"P{i}", "surname": "X", "email": f"p{i}@x.example"} for i in range(50)])
    snapshot_before = s.storage.path.stat().st_mtime_ns, s.storage.path.stat().st_size
    with s.compaction_deferred():
        for i in range(40):
            with s.transaction():
                s.add_contact({"first_name": f"Q{i}", "surname": "Y", "email": f"q{i}@y.example"})
        assert s.storage.wal_path.stat().st_size > 4 * s.storage.compact_min_bytes  # never folded meanwhile
        assert (s.storage.path.stat().st_mtime_ns, s.storage.path.stat().st_size) == snapshot_before
        other = Store(tmp_path / "store.json")  # as another process (or one after a crash) reads it
        assert len(other.contacts_raw()) == 90
        other.close()
    assert s.storage.wal_path.stat().st_size == 0  # folded once, on the way out
    again = Store(tmp_path / "store.json")
    assert sorted(c["email"] for c in again.contacts_raw()) == sorted(c["email"] for c in s.contacts_raw())
    again.close()
    s.close()


def test_a_backup_of_a_store_with_an_empty_journal_is_its_snapshot_copied(tmp_path):
    """With nothing in the journal the snapshot file already is the consolidated copy: the backup is
    its bytes (copied in pieces), and it loads as the store; with a journal it is encoded afresh."""
    s = Store(tmp_path / "store.json", backup_dir=tmp_path / "backups")
    s.add_contacts([{"first_name": f"P{i}", "surname": "X", "email": f"p{i}@x.example"} for i in range(BULK_OPS + 1)])
    assert s.storage.wal_path.stat().st_size == 0
    copied = s.backup("test")
    assert copied.read_bytes() == (tmp_path / "store.json").read_bytes()
    s.add_contact({"first_name": "Late", "surname": "Y", "email": "late@y.example"})  # now a journal line
    encoded = s.backup("test2")
    assert encoded.read_bytes() != (tmp_path / "store.json").read_bytes()
    for path, n in ((copied, BULK_OPS + 1), (encoded, BULK_OPS + 2)):
        assert len(Store(path).contacts_raw()) == n
    s.close()


def test_prepared_contacts_take_ids_after_the_existing_ones_and_single_adds_follow_them(tmp_path):
    store = Store(tmp_path / "store.json")
    first = store.add_contact({"first_name": "Before", "surname": "Bulk"})
    store.add_prepared_contacts([model.prepare({"first_name": f"B{i}", "surname": "Bulk"}) for i in range(5)])
    after = store.add_contact({"first_name": "After", "surname": "Bulk"})
    raw = store.contacts.raw()
    assert list(raw) == [str(i) for i in range(1, 8)]
    assert raw["1"]["uuid"] == first["uuid"] and raw["7"]["uuid"] == after["uuid"]
    assert store.storage.next_ids("contacts", 0) == range(0)
    assert Store(tmp_path / "store.json").all_contacts() == store.all_contacts()
