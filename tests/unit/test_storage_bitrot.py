"""Bit rot and stray bytes in the store's files: the data comes back as it was, or loading stops with
StoreCorruptError naming the file; never a silently different store (a flipped bit once made a
duplicate record key and a contact vanished)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bcsync_tui.core.storage import JournaledStorage, StoreCorruptError
from bcsync_tui.core.store import Store


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, dict, dict]:
    """A store with a checksummed snapshot and three journal lines after it; its data, and its data
    without the last journal line."""
    path = tmp_path_factory.mktemp("original") / "store.json"
    with Store(path) as s:
        s.add_contacts([{"first_name": f"F{i}", "surname": "Rot", "email": f"r{i}@example.com"} for i in range(12)])
        s.storage.compact()
        s.add_contact({"first_name": "After", "surname": "Snapshot", "email": "a@example.com"})
        s.update_contact(s.find_contact("CT000003")["uuid"], {"city": "Tromsø"})
        s.delete_contact(s.find_contact("CT000005")["uuid"])
    data = json.loads(json.dumps(JournaledStorage(path).read()))
    wal = path.with_name("store.json.wal").read_bytes()
    assert wal.count(b"\n") == 3
    shorter = tmp_path_factory.mktemp("shorter") / "store.json"
    shutil.copy(path, shorter)
    shorter.with_name("store.json.wal").write_bytes(wal[:wal.rstrip(b"\n").rindex(b"\n") + 1])
    return path, data, json.loads(json.dumps(JournaledStorage(shorter).read()))


def _damage(raw: bytes, kind: str, at: int, payload: bytes, bit: int) -> bytes:
    at %= len(raw) + (1 if kind == "insert" else 0)
    if kind == "flip":
        return raw[:at] + bytes([raw[at] ^ (1 << bit)]) + raw[at + 1:]
    if kind == "overwrite":
        return raw[:at] + payload + raw[at + len(payload):]
    return raw[:at] + payload + raw[at:]


@settings(max_examples=400, deadline=None)
@given(target=st.sampled_from(["store.json", "store.json.wal"]), kind=st.sampled_from(["flip", "overwrite", "insert"]),
       at=st.integers(0, 1 << 20), payload=st.binary(min_size=1, max_size=8), bit=st.integers(0, 7))
@example(target="store.json.wal", kind="overwrite", at=-4, payload=b"\0\0\0\0", bit=0)  # the last line's end zeroed
def test_damage_gives_the_data_or_store_corrupt_error(original, tmp_path_factory, target, kind, at, payload, bit):
    path, data, before_last = original
    work = tmp_path_factory.mktemp("rot")
    for name in ("store.json", "store.json.wal"):
        shutil.copy(path.with_name(name), work / name)
    victim = work / target
    damaged = _damage(victim.read_bytes(), kind, at, payload, bit)
    victim.write_bytes(damaged)
    try:
        loaded = JournaledStorage(work / "store.json").read()
    except StoreCorruptError as exc:
        assert str(victim) in str(exc)
        assert victim.read_bytes() == damaged  # left exactly as it was
        return
    if target == "store.json.wal" and not damaged.endswith(b"\n"):
        # The last line lost its line break: what a write torn by a crash leaves (a prefix, or on
        # ext4 a prefix and zeros): that transaction never committed, and is not applied.
        assert loaded in (data, before_last)
        return
    assert loaded == data, (target, kind)  # loaded: then it is the very same store


def test_a_complete_journal_line_with_a_bad_checksum_is_refused_not_dropped(original, tmp_path):
    path, _data, _before = original
    shutil.copy(path, tmp_path / "store.json")
    wal = path.with_name("store.json.wal").read_bytes()
    last = wal.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    bad = wal[: -len(last) - 1] + last[:10] + bytes([last[10] ^ 4]) + last[11:] + b"\n"  # the last line, complete, damaged
    (tmp_path / "store.json.wal").write_bytes(bad)
    with pytest.raises(StoreCorruptError, match="store.json.wal.*damaged journal entry"):
        JournaledStorage(tmp_path / "store.json").read()
    with pytest.raises(StoreCorruptError):  # and no writer truncates it away
        Store(tmp_path / "store.json").add_contact({"first_name": "X", "surname": "Y", "email": "x@example.com"})
    assert (tmp_path / "store.json.wal").read_bytes() == bad
