"""Folders: find-or-create the sync folder, duplicates, deep traversal, rename, delete."""

from __future__ import annotations

import pytest
from exchangelib.errors import ErrorDeleteDistinguishedFolder, ErrorFolderExists, ErrorFolderNotFound
from exchangelib.folders import Contacts, DeletedItems

from .conftest import FOLDER, connect, find_or_create


def test_find_or_create_business_central(server, account):
    with pytest.raises(ErrorFolderNotFound):
        account.contacts // FOLDER  # noqa: B018
    created = find_or_create(account)
    assert isinstance(created, Contacts) and created.name == FOLDER
    cold = server.stats.total
    assert cold <= 8, server.stats.by_operation
    assert server.outlook().folders().count(f"Contacts/{FOLDER}") == 1

    server.stats.reset()
    again = find_or_create(connect(server))
    assert again.id == created.id
    assert isinstance(again, Contacts)
    assert server.stats.by_operation == {"GetFolder": 3, "FindFolder": 1}  # root, contacts, find, complex fields


def test_duplicate_folder_name_is_refused(account):
    find_or_create(account)
    with pytest.raises(ErrorFolderExists):
        Contacts(parent=account.contacts, name=FOLDER.upper()).save()


def test_lookup_does_not_match_other_names(server, account):
    server.outlook().create_folder("Business Central (old)")
    with pytest.raises(ErrorFolderNotFound):
        account.contacts // FOLDER  # noqa: B018


def test_deep_traversal_and_well_known_folders(account):
    find_or_create(account)
    names = {f.name for f in account.root.walk()}
    assert {"Top of Information Store", "Contacts", FOLDER, "Deleted Items", "Inbox"} <= names
    assert isinstance(account.trash, DeletedItems)
    assert [f.name for f in account.contacts.children] == [FOLDER]


def test_rename_and_delete(server, account):
    folder = find_or_create(account)
    folder.name = "Renamed"
    folder.save(update_fields=["name"])
    assert "Contacts/Renamed" in server.outlook().folders()
    folder.delete()
    assert not any(p.startswith("Contacts/Renamed") for p in server.outlook().folders())
    with pytest.raises(ErrorDeleteDistinguishedFolder):
        account.contacts.delete()


def test_total_count_follows_items(server, account):
    folder = find_or_create(account)
    server.outlook().create_contacts(FOLDER, [{"display_name": f"C{i}"} for i in range(3)])
    folder.refresh()
    assert folder.total_count == 3
