"""DB-INTACT (RELIABILITY.md): a crash at any byte of a store write leaves a file that loads, with
every record equal to its value before or after the interrupted step.

Two ways: a real writer process killed with SIGKILL at random moments (many times, including during
compactions), and a deterministic sweep that cuts the journal's last line and the snapshot's temp
file at every byte offset.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bcsync_tui.core.store import Store

ROOT = Path(__file__).resolve().parents[2]

GROUPS = 4  # transaction k rewrites every record of group k % GROUPS
CAP = 5  # at most this many R-records per group: the oldest is deleted (and purged) beyond that

# The writer. Transaction k: every live record of group g = k % GROUPS gets job_title "t<k>", a new
# record "R <k>" joins the group with the same title, the group's oldest R-record is deleted and
# purged when there are more than CAP, and meta "crash" records k. After the commit it reports k on
# stdout (a pipe: what was written there survives the kill). Compaction is made frequent so kills
# also land inside snapshot writes.
WRITER = textwrap.dedent(f"""
    import os, sys
    from bcsync_tui.core.store import Store
    GROUPS, CAP = {GROUPS}, {CAP}
    s = Store(sys.argv[1])
    s.storage.compact_min_bytes = 12_000
    k = int((s._meta("crash") or {{}}).get("k", 0))
    out = sys.stdout.fileno()
    while True:
        k += 1
        g = k % GROUPS
        with s.transaction():
            members = [d for d in s.contacts_raw() if d["territory_code"] == f"G{{g}}"]
            for d in members:
                s.update_contact(d["uuid"], {{"job_title": f"t{{k}}"}})
            s.add_contact({{"first_name": "R", "surname": str(k), "email": f"r{{k}}@example.com",
                           "territory_code": f"G{{g}}", "job_title": f"t{{k}}"}})
            rs = sorted((d for d in s.contacts_raw() if d["territory_code"] == f"G{{g}}"
                         and d["first_name"] == "R"), key=lambda d: int(d["surname"]))
            if len(rs) > CAP:
                s.delete_contact(rs[0]["uuid"])
                s.purge_tombstone(rs[0]["uuid"])
            s._set_meta("crash", k=k)
        os.write(out, b"%d\\n" % k)
""")


def seed(path: Path) -> None:
    with Store(path) as s, s.transaction():
        for g in range(GROUPS):
            for x in "ab":
                s.add_contact({"first_name": "Base", "surname": f"{g}{x}", "email": f"b{g}{x}@example.com",
                               "territory_code": f"G{g}", "job_title": "t0"})
        s._set_meta("crash", k=0)


def expected_after(k_done: int) -> set[tuple[str, str, str]]:
    """(name, group, job title) of every live contact after transactions 1..k_done."""
    rs: dict[int, list[int]] = {g: [] for g in range(GROUPS)}
    title = {g: "t0" for g in range(GROUPS)}
    for k in range(1, k_done + 1):
        g = k % GROUPS
        rs[g].append(k)
        if len(rs[g]) > CAP:
            rs[g].pop(0)
        title[g] = f"t{k}"
    out = set()
    for g in range(GROUPS):
        out |= {(f"Base {g}{x}", f"G{g}", title[g]) for x in "ab"}
        out |= {(f"R {k}", f"G{g}", title[g]) for k in rs[g]}
    return out


def loaded(path: Path) -> tuple[int, set[tuple[str, str, str]], int]:
    with Store(path, lock_timeout=5) as s:
        k = int(s._meta("crash")["k"])
        live = {(d["name"], d["territory_code"], d["job_title"]) for d in s.contacts_raw()}
        n_docs = len(s.all_contacts(include_deleted=True))
        numbers = [d["no"] for d in s.all_contacts(include_deleted=True)]
        assert len(numbers) == len(set(numbers))
    return k, live, n_docs


def test_writer_killed_at_random_moments_never_leaves_a_broken_or_mixed_store(tmp_path):
    path = tmp_path / "store.json"
    seed(path)
    rng = random.Random(20240601)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BCSYNC_NO_KEYRING": "1"}
    reported = 0
    kills = 0
    outcomes = {"before": 0, "after": 0}
    deadline = time.monotonic() + 15
    while kills < 40 and time.monotonic() < deadline:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.readline()
        assert first, proc.stderr.read().decode()
        time.sleep(rng.uniform(0, 0.04))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        done = [int(x) for x in (first + rest).split()]
        assert done == list(range(reported + 1, reported + 1 + len(done)))  # committed in order
        reported = done[-1]

        k, live, n_docs = loaded(path)
        # every reported commit is there; at most the one transaction in flight was added
        assert k in (reported, reported + 1), (k, reported)
        outcomes["after" if k == reported + 1 else "before"] += 1
        # and it is there entirely or not at all: every record has its before- or after-value
        assert live == expected_after(k), f"kill {kills}: store mixes transactions around k={k}"
        assert n_docs == len(live)  # purged tombstones are gone, nothing half-deleted
        reported = k
    assert kills >= 20
    assert reported > kills  # the writer made progress between kills
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # snapshot temp files a killed compaction left behind are never read as the store
    assert all(p.startswith(".store.json.") for p in leftovers)


# --- deterministic sweeps -------------------------------------------------------------------------------


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def state(path: Path) -> dict:
    with Store(path, lock_timeout=0) as s:
        return json.loads(json.dumps(s.storage.read()))


def build_history(path: Path) -> Store:
    """A store with a snapshot, a journal of several transactions, and an open Store on it."""
    s = Store(path)
    for i in range(6):
        s.add_contact({"first_name": f"F{i}", "surname": "S", "email": f"f{i}@example.com", "city": "Oslo"})
    s.storage.compact()
    for i in range(6, 9):
        s.add_contact({"first_name": f"F{i}", "surname": "S", "email": f"f{i}@example.com"})
    s.update_contact(s.find_contact("CT000001")["uuid"], {"city": "Bergen"})
    return s


def place(dirpath: Path, files: dict[str, bytes | None]) -> Path:
    if dirpath.exists():
        shutil.rmtree(dirpath)
    dirpath.mkdir()
    for name, data in files.items():
        if data is not None:
            (dirpath / name).write_bytes(data)
    return dirpath / "store.json"


def test_journal_cut_at_every_byte_of_the_last_transaction(tmp_path):
    path = tmp_path / "live" / "store.json"
    s = build_history(path)
    before = state(path)
    snap, wal_before = path.read_bytes(), wal_of(path).read_bytes()
    # the interrupted step: one transaction that updates, inserts and deletes several records
    with s.transaction():
        for no in ("CT000002", "CT000003", "CT000007"):
            s.update_contact(s.find_contact(no)["uuid"], {"job_title": "after", "city": "Tromsø ☃"})
        s.add_contact({"first_name": "New", "surname": "One", "email": "new@example.com"})
        s.delete_contact(s.find_contact("CT000004")["uuid"])
        s.profiles.insert({"name": "ann", "state": {"k": "v"}})
    after = state(path)
    wal_after = wal_of(path).read_bytes()
    assert wal_after.startswith(wal_before) and before != after
    last_line = wal_after[len(wal_before):]
    assert last_line.count(b"\n") == 1

    crash = tmp_path / "crash"
    for cut in range(len(last_line) + 1):
        p = place(crash, {"store.json": snap, "store.json.wal": wal_before + last_line[:cut]})
        got = state(p)
        assert got == (after if cut == len(last_line) else before), f"cut at byte {cut} of {len(last_line)}"
        if cut % 97 == 0 or cut == len(last_line) - 1:
            # the next writer drops the torn tail and its own transaction survives a restart
            with Store(p) as again:
                c = again.add_contact({"first_name": "Later", "surname": "X", "email": "l@example.com"})
            reloaded = state(p)
            assert reloaded["contacts"][str(max(map(int, got["contacts"])) + 1)]["uuid"] == c["uuid"]
            assert {k: v for k, v in reloaded["contacts"].items() if k in got["contacts"]} == got["contacts"]
    s.close()


def test_first_journal_line_cut_at_every_byte(tmp_path):
    path = tmp_path / "live" / "store.json"
    with Store(path) as s:
        s.add_contact({"first_name": "Only", "surname": "One", "email": "o@example.com"})
        after = state(path)
    line = wal_of(path).read_bytes()
    assert not path.exists()
    for cut in range(len(line) + 1):
        p = place(tmp_path / "crash", {"store.json.wal": line[:cut]})
        assert state(p) == (after if cut == len(line) else {}), cut


def test_snapshot_write_cut_at_every_byte_during_compaction(tmp_path):
    path = tmp_path / "live" / "store.json"
    s = build_history(path)
    expected = state(path)
    old_snap, journal = path.read_bytes(), wal_of(path).read_bytes()
    s.storage.compact()
    new_snap = path.read_bytes()
    assert new_snap != old_snap and wal_of(path).read_bytes() == b""
    tmp_name = f".store.json.{os.getpid()}.tmp"

    crash = tmp_path / "crash"
    # 1. the temp file is being written (never renamed): the old snapshot and journal rule
    for cut in range(len(new_snap) + 1):
        p = place(crash, {"store.json": old_snap, "store.json.wal": journal, tmp_name: new_snap[:cut]})
        assert state(p) == expected, f"temp snapshot cut at byte {cut}"
    # 2. renamed, journal not truncated yet: the journal replays as a no-op
    assert state(place(crash, {"store.json": new_snap, "store.json.wal": journal})) == expected
    # 3. journal truncated (or removed)
    assert state(place(crash, {"store.json": new_snap, "store.json.wal": b""})) == expected
    assert state(place(crash, {"store.json": new_snap})) == expected
    s.close()


def test_restore_cut_at_every_byte(tmp_path):
    path = tmp_path / "live" / "store.json"
    s = build_history(path)
    backup = s.backup("early")
    backup_state = state(backup)
    for i in range(3):
        s.add_contact({"first_name": f"Late{i}", "surname": "S", "email": f"late{i}@example.com"})
    before = state(path)
    old_snap, journal = path.read_bytes(), wal_of(path).read_bytes()
    s.restore(backup)
    restored_snap = path.read_bytes()
    assert not wal_of(path).exists()
    assert state(path) == backup_state != before
    tmp_name = f".store.json.{os.getpid()}.tmp"

    crash = tmp_path / "crash"
    for cut in range(0, len(restored_snap) + 1):
        p = place(crash, {"store.json": old_snap, "store.json.wal": journal, tmp_name: restored_snap[:cut]})
        assert state(p) == before, f"restore temp file cut at byte {cut}"
    # renamed into place, old journal not yet removed: the backup's state, not a mix
    assert state(place(crash, {"store.json": restored_snap, "store.json.wal": journal})) == backup_state
    s.close()
