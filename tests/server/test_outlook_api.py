"""The Outlook-user API: what tests use to play the user editing in Outlook."""

from __future__ import annotations

import pytest

from bcsync_tui.ewsserver import FolderNotFound, ItemNotFound, master_to_outlook

from .conftest import BOB, FOLDER


def test_folders_and_contacts(server):
    ann = server.outlook()
    assert "Contacts" in ann.folders() and "Deleted Items" in ann.folders()
    fid = ann.create_folder(FOLDER)
    assert ann.ensure_folder(FOLDER) == fid and ann.folder_id(f"Contacts/{FOLDER}") == fid
    with pytest.raises(ValueError):
        ann.create_folder(FOLDER.lower())
    cid = ann.create_contact(FOLDER, given_name="Zoë", surname="Müller", email1="zoe@example.com",
                             business_street="Hauptstraße 1\n2. Stock", categories=["A"],
                             extended={("6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21", "bcsync-contact-uuid"): "u-1"})
    c = ann.get_contact(cid)
    assert c["display_name"] == "Zoë Müller" and c["folder"] == f"Contacts/{FOLDER}"
    assert c["extended"] == {"bcsync-contact-uuid": "u-1"} and c["business_street"] == "Hauptstraße 1\n2. Stock"
    ck = ann.edit_contact(cid, {"email1": "", "email2": "zoe2@example.com", "extended": {"bcsync-contact-uuid": "u-2"}})
    c = ann.get_contact(cid)
    assert ck == c["changekey"] and "email1" not in c and c["email2"] == "zoe2@example.com"
    assert c["extended"] == {"bcsync-contact-uuid": "u-2"}
    copy = ann.copy_contact(cid, "contacts")
    assert ann.get_contact(copy)["extended"] == {"bcsync-contact-uuid": "u-2"}
    moved = ann.move_contact(cid, "Deleted Items")
    assert moved != cid and ann.count(FOLDER) == 0
    with pytest.raises(ItemNotFound):
        ann.get_contact(cid)
    ann.delete_contact(moved)  # from Deleted Items: to Recoverable Items
    assert ann.count("deleteditems") == 0 and ann.count("recoverableitemsdeletions") == 1
    assert ann.find_contacts("contacts", email="ZOE2@example.com")[0]["id"] == copy
    with pytest.raises(FolderNotFound):
        ann.contacts("No such folder")
    with pytest.raises(KeyError):
        ann.create_contact(FOLDER, no_such_field="x")


def test_mailboxes_are_separate(server):
    server.outlook(BOB).create_contact("contacts", display_name="Bob's")
    assert server.outlook().count("contacts") == 0 and server.outlook(BOB).count("contacts") == 1
    with pytest.raises(ItemNotFound):
        server.outlook().get_contact(server.outlook(BOB).contacts()[0]["id"])


def test_master_to_outlook_follows_spec_mapping():
    o = master_to_outlook({"name": "Zoë Müller", "first_name": "Zoë", "surname": "Müller", "email": "z@x.example",
                           "email2": "", "phone": "1", "mobile_phone": "2", "fax": "3", "home_page": "https://x",
                           "address": "Street 1", "address2": "Floor 2", "city": "Oslo", "county": "Oslo",
                           "post_code": "0150", "country_code": "NO", "company_name": "X AS", "job_title": "CEO",
                           "territory_code": "NORDIC"})
    assert o == {"display_name": "Zoë Müller", "file_as": "Zoë Müller", "given_name": "Zoë", "surname": "Müller",
                 "company_name": "X AS", "job_title": "CEO", "email1": "z@x.example", "business_phone": "1",
                 "mobile_phone": "2", "business_fax": "3", "business_home_page": "https://x",
                 "business_street": "Street 1\nFloor 2", "business_city": "Oslo", "business_state": "Oslo",
                 "business_postal_code": "0150", "business_country": "NO"}
