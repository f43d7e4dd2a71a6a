"""The sync folder deleted, recreated or moved, by the Outlook user or through EWS (issue 10, part 2):
SyncFolderItems on a folder that is gone answers ErrorSyncFolderNotFound, as Exchange does; a moved
folder keeps its id (MoveFolder, exchangelib's ``Folder.move``) and its sync state stays good."""

from __future__ import annotations

import pytest
from exchangelib.errors import (ErrorFolderExists, ErrorFolderNotFound, ErrorMoveCopyFailed,
                                ErrorMoveDistinguishedFolder, ErrorSyncFolderNotFound, ErrorToFolderNotFound)
from exchangelib.folders import Contacts
from exchangelib.properties import FolderId

from .conftest import FOLDER, connect, find_or_create


def sync(folder, state=None):
    folder.item_sync_state = None
    changes = list(folder.sync_items(sync_state=state, only_fields=["display_name"]))
    return changes, folder.item_sync_state


def test_sync_of_a_deleted_folder_answers_sync_folder_not_found(server, account, folder):
    server.outlook().create_contact(FOLDER, display_name="Ann")
    _, state = sync(folder)
    server.outlook().delete_folder(FOLDER)
    with pytest.raises(ErrorSyncFolderNotFound):
        sync(folder, state)
    with pytest.raises(ErrorSyncFolderNotFound):  # without a state (a full sync) too
        sync(folder)
    with pytest.raises(ErrorFolderNotFound):  # looking it up by name is a different question
        account.contacts // FOLDER  # noqa: B018


def test_a_folder_deleted_to_deleted_items_keeps_syncing_by_id(server, account, folder):
    ann = server.outlook()
    ann.create_contact(FOLDER, display_name="Ann")
    _, state = sync(folder)
    ann.delete_folder(FOLDER, mode="MoveToDeletedItems")  # Outlook's Delete key
    assert f"Deleted Items/{FOLDER}" in ann.folders()
    ann.create_contact(f"Deleted Items/{FOLDER}", display_name="Bob")
    changes, _ = sync(folder, state)
    assert [(kind, item.display_name) for kind, item in changes] == [("create", "Bob")]
    folder.refresh()  # what a client can tell it by: its parent is now Deleted Items
    assert folder.parent_folder_id.id == account.trash.id


def test_a_recreated_folder_is_a_new_folder(server, account, folder):
    ann = server.outlook()
    ann.create_contact(FOLDER, display_name="Ann")
    _, state = sync(folder)
    new_id = ann.recreate_folder(FOLDER)
    assert new_id != folder.id and ann.folder_id(FOLDER) == new_id
    assert ann.count(FOLDER) == 0
    with pytest.raises(ErrorSyncFolderNotFound):
        sync(folder, state)
    again = connect(server).contacts // FOLDER
    assert again.id == new_id and isinstance(again, Contacts)
    assert sync(again) == ([], again.item_sync_state)


def test_outlook_user_moves_the_sync_folder_elsewhere(server, account, folder):
    ann = server.outlook()
    ann.create_contact(FOLDER, display_name="Ann")
    _, state = sync(folder)
    assert ann.move_folder(FOLDER, "inbox") == folder.id  # a moved folder keeps its id
    assert f"Inbox/{FOLDER}" in ann.folders() and f"Contacts/{FOLDER}" not in ann.folders()
    ann.create_contact(f"Inbox/{FOLDER}", display_name="Bob")
    changes, _ = sync(folder, state)  # found by id, the old sync state still good
    assert [(kind, item.display_name) for kind, item in changes] == [("create", "Bob")]
    with pytest.raises(ErrorFolderNotFound):
        connect(server).contacts // FOLDER  # noqa: B018
    with pytest.raises(ValueError):
        ann.move_folder("contacts", "inbox")


def test_move_folder_through_exchangelib_keeps_the_id(server, account, folder):
    ann = server.outlook()
    ann.create_contact(FOLDER, display_name="Ann")
    _, state = sync(folder)
    old_id, old_ck = folder.id, folder.changekey
    folder.move(account.inbox)  # exchangelib raises ValueError("ID mismatch") if the id changed
    assert folder.id == old_id and folder.changekey != old_ck
    assert f"Inbox/{FOLDER}" in ann.folders()
    folder.refresh()
    assert folder.parent_folder_id.id == account.inbox.id
    assert sync(folder, state)[0] == []
    assert [c["display_name"] for c in ann.contacts(f"Inbox/{FOLDER}")] == ["Ann"]  # contacts went with it


def test_move_folder_refusals(server, account, folder):
    child = Contacts(parent=folder, name="Child").save()
    with pytest.raises(ErrorMoveCopyFailed):
        folder.move(child)  # into its own subfolder
    with pytest.raises(ErrorMoveDistinguishedFolder):
        account.contacts.move(account.inbox)
    clash = Contacts(parent=account.inbox, name=FOLDER.upper()).save()
    with pytest.raises(ErrorFolderExists):
        folder.move(account.inbox)
    clash.delete()
    gone = find_or_create(account, "Gone")
    gone_id = FolderId(id=gone.id, changekey=gone.changekey)
    gone.delete()
    with pytest.raises(ErrorToFolderNotFound):
        folder.move(gone_id)
    assert server.outlook().folders().count(f"Contacts/{FOLDER}") == 1


def test_deleting_to_deleted_items_twice_numbers_the_second(server):
    ann = server.outlook()
    first = ann.create_folder(FOLDER)
    ann.delete_folder(FOLDER, mode="MoveToDeletedItems")
    second = ann.create_folder(FOLDER)
    ann.delete_folder(f"Contacts/{FOLDER}", mode="MoveToDeletedItems")
    assert ann.folder_id(f"Deleted Items/{FOLDER}") == first
    assert ann.folder_id(f"Deleted Items/{FOLDER} 2") == second
