"""Answers where the loopback server used to differ from Exchange, each one found by running exchangelib's
own test suite against it (tools/exchangelib_suite.py, issue 10 part 4); the exchangelib test that pins
the behaviour is named in each test."""

from __future__ import annotations

import pytest
from exchangelib import Contact, Message
from exchangelib.errors import ErrorFolderExists, ErrorInvalidChangeKey, ErrorItemNotFound, ErrorObjectTypeChanged
from exchangelib.folders import Contacts, Folder, Messages

from .conftest import FOLDER


def test_update_of_a_deleted_folder_is_item_not_found(account, folder):
    # test_folder.py::test_create_update_empty_delete
    folder_id, changekey = folder.id, folder.changekey
    folder.delete()
    folder.id, folder.changekey = folder_id, changekey
    folder.name = "Renamed"
    with pytest.raises(ErrorItemNotFound):
        folder.save(update_fields=["name"])


def test_folder_class_cannot_change(server, account, folder):
    # test_folder.py::test_create_update_empty_delete
    folder.folder_class = "IPF.Note"
    with pytest.raises(ErrorObjectTypeChanged):
        folder.save(update_fields=["folder_class"])
    folder.folder_class = "IPF.Contact"  # the same class again (a full save sends it) is no change
    folder.name = "Renamed"
    folder.save()
    folder.refresh()
    assert folder.name == "Renamed" and folder.folder_class == "IPF.Contact"
    assert "Contacts/Renamed" in server.outlook().folders()


def test_a_plain_folder_gets_no_folder_class(account):
    # test_folder.py::test_refresh, test_update, test_counts (a Folder that came back as Messages broke refresh())
    plain = Folder(parent=account.inbox, name="Plain").save()
    plain.refresh()
    assert type(plain) is Folder and plain.folder_class is None
    assert type(account.inbox // "Plain") is Folder
    notes = Messages(parent=account.inbox, name="Notes folder").save()
    notes.refresh()
    assert notes.folder_class == "IPF.Note"
    contacts = Contacts(parent=account.contacts, name=FOLDER).save()
    contacts.refresh()
    assert contacts.folder_class == "IPF.Contact"
    assert account.root.tois.folder_class is None  # test_folder.py::test_folder_grouping


def test_folder_exists_names_the_folder(account, folder):
    # test_folder.py::test_case_sensitivity
    with pytest.raises(ErrorFolderExists, match=f"Could not create folder '{FOLDER.lower()}'"):
        Contacts(parent=account.contacts, name=FOLDER.lower()).save()


def test_malformed_changekey_on_delete_is_refused(server, account, folder):
    # test_items/test_bulk.py::test_bulk_failure
    ann = server.outlook()
    ids = ann.create_contacts(FOLDER, [{"display_name": f"C{i}"} for i in range(3)])
    items = list(account.fetch(ids=[(i, None) for i in ids], only_fields=["display_name"]))
    items[1].changekey = "XXX"
    stale = items[2].changekey
    ann.edit_contact(ids[2], job_title="changed after we read it")
    items[2].changekey = stale
    results = account.bulk_delete(items)
    assert results[0] is True and results[2] is True  # a stale change key does not stop a delete
    assert isinstance(results[1], ErrorInvalidChangeKey)
    assert [c["id"] for c in ann.contacts(FOLDER)] == [ids[1]]


def test_restrictions_see_values_the_server_fills_in(server, account, folder):
    # test_items/test_basics.py::test_filter_on_simple_fields (reminder_is_set=False matched nothing)
    server.outlook().create_contacts(FOLDER, [{"display_name": f"C{i}"} for i in range(2)])
    Contact(folder=folder, display_name="Set", reminder_is_set=True).save()
    assert folder.filter(reminder_is_set=False).count() == 2
    assert [c.display_name for c in folder.filter(reminder_is_set=True)] == ["Set"]
    assert folder.filter(importance="Normal").count() == 3
    assert folder.filter(sensitivity="Private").count() == 0


def test_subject_is_its_own_field(server, account, folder):
    # test_items/test_basics.py::test_item_update_wipe (Subject fell back to DisplayName after DeleteItemField)
    c = Contact(folder=folder, display_name="Display", subject="Subject").save()
    c.subject = None
    c.save(update_fields=["subject"])
    again = folder.get(id=c.id)
    assert again.subject is None and again.display_name == "Display"
    plain = Contact(folder=folder, display_name="No subject").save()
    assert folder.get(id=plain.id).subject is None
    assert folder.filter(subject="Display").count() == 0


def test_unread_count_follows_is_read(account):
    # test_folder.py::test_counts
    f = Folder(parent=account.inbox, name="Counted").save()
    unread = [Message(account=account, folder=f, subject=f"S{i}", is_read=False).save() for i in range(2)]
    Message(account=account, folder=f, subject="read", is_read=True).save()
    f.refresh()
    assert (f.total_count, f.unread_count) == (3, 2)
    unread[0].is_read = True
    unread[0].save(update_fields=["is_read"])
    f.refresh()
    assert f.unread_count == 1
