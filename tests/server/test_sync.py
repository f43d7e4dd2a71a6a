"""SyncFolderItems: full, incremental, deletes carry only the ItemId, paging, expired and bad states."""

from __future__ import annotations

import pytest
from exchangelib.errors import ErrorInvalidSyncStateData, ErrorSchemaValidation
from exchangelib.properties import ItemId

from .conftest import FOLDER


def sync(folder, state=None, **kw):
    folder.item_sync_state = None  # sync_items() falls back to the folder's last state otherwise
    changes = list(folder.sync_items(sync_state=state, **kw))
    return changes, folder.item_sync_state


def by_type(changes):
    out = {}
    for kind, item in changes:
        out.setdefault(kind, []).append(item)
    return out


def test_full_then_incremental(server, account, folder, stamp):
    ann = server.outlook()
    ids = ann.create_contacts(FOLDER, [{"display_name": f"C{i}", "email1": f"c{i}@x.example",
                                        "extended": {("0b7d7a52-3c55-4d44-9a7e-5a1c2f8e9d10", "bcsync-test-stamp"):
                                                     f"u{i}"}} for i in range(250)])
    changes, state = sync(folder, only_fields=["display_name", "email_addresses", stamp], max_changes_returned=100)
    assert server.stats["SyncFolderItems"] == 3
    assert [k for k, _ in changes] == ["create"] * 250
    assert sorted(getattr(i, stamp) for _, i in changes) == sorted(f"u{i}" for i in range(250))
    assert state and state.startswith("H4sI")

    server.stats.reset()
    ann.edit_contact(ids[0], job_title="Edited in Outlook")
    ann.delete_contact(ids[1])  # to Deleted Items: leaves the folder
    ann.delete_contact(ids[2], mode="HardDelete")
    new_id = ann.create_contact(FOLDER, display_name="New one", email1="new@x.example")
    gone = ann.create_contact(FOLDER, display_name="Created and deleted")
    ann.delete_contact(gone, mode="HardDelete")
    changes, state2 = sync(folder, state, only_fields=["display_name", "job_title"], max_changes_returned=512)
    assert server.stats.by_operation == {"SyncFolderItems": 1}
    kinds = by_type(changes)
    assert [i.id for i in kinds["update"]] == [ids[0]] and kinds["update"][0].job_title == "Edited in Outlook"
    assert sorted(i.id for i in kinds["delete"]) == sorted(ids[1:3])
    assert all(isinstance(i, ItemId) and i.changekey is None for i in kinds["delete"])  # only the ItemId
    assert [i.id for i in kinds["create"]] == [new_id]

    changes, state3 = sync(folder, state2)
    assert changes == [] and state3 == state2


def test_client_changes_show_up_too(server, account, folder):
    cid = server.outlook().create_contact(FOLDER, display_name="Mine")
    _, state = sync(folder)
    item = folder.get(id=cid)
    item.display_name = "Mine, renamed"
    item.save(update_fields=["display_name"])
    changes, _ = sync(folder, state)
    assert [(k, i.id, i.changekey) for k, i in changes] == [("update", cid, item.changekey)]


def test_moves_in_and_out(server, account, folder):
    ann = server.outlook()
    inside = ann.create_contact(FOLDER, display_name="In")
    outside = ann.create_contact("contacts", display_name="Out")
    _, state = sync(folder)
    moved_out = ann.move_contact(inside, "contacts")
    moved_in = ann.move_contact(outside, FOLDER)
    changes, _ = sync(folder, state)
    assert sorted((k, i.id) for k, i in changes) == sorted([("delete", inside), ("create", moved_in)])
    assert moved_out != inside


def test_expired_and_corrupt_states(server, account, folder):
    server.outlook().create_contacts(FOLDER, [{"display_name": f"C{i}"} for i in range(5)])
    _, state = sync(folder)
    server.faults.expire_sync_states()
    with pytest.raises(ErrorInvalidSyncStateData):
        sync(folder, state)
    changes, fresh = sync(folder, None)  # start over: a full sync works
    assert len(changes) == 5 and fresh != state
    tampered = fresh[:-8] + ("A" * 4 if not fresh[-8:-4] == "AAAA" else "B" * 4) + fresh[-4:]
    for bad in ("garbage", "H4sIAAAAAAAA", tampered):
        with pytest.raises(ErrorInvalidSyncStateData):
            sync(folder, bad)


def test_state_of_another_folder_is_rejected(server, account, folder):
    _, state = sync(account.contacts)
    with pytest.raises(ErrorInvalidSyncStateData):
        sync(folder, state)


def test_max_changes_returned_is_1_to_512(server, account, folder):
    server.outlook().create_contacts(FOLDER, [{"display_name": f"C{i}"} for i in range(600)])
    changes, _ = sync(folder, only_fields=["display_name"], max_changes_returned=512)
    assert len(changes) == 600 and server.stats["SyncFolderItems"] == 2
    with pytest.raises(ErrorSchemaValidation):
        sync(folder, max_changes_returned=513)


def test_ignore_list(server, account, folder):
    ann = server.outlook()
    a, b = ann.create_contacts(FOLDER, [{"display_name": "A"}, {"display_name": "B"}])
    changes, _ = sync(folder, ignore=[ItemId(a)])
    assert [i.id for _, i in changes] == [b]
