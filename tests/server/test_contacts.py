"""Contacts through a real exchangelib client: every SPEC §3 field, paging, updates, conflicts, deletes."""

from __future__ import annotations

import pytest
from exchangelib import Contact
from exchangelib.errors import ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.items import ALWAYS_OVERWRITE, AUTO_RESOLVE, NEVER_OVERWRITE

from .conftest import FOLDER


def make_contact(folder, i: int, stamp_field: str | None = None) -> Contact:
    c = Contact(
        folder=folder, display_name=f"Zoë Müller {i}", file_as=f"Müller, Zoë {i}", given_name="Zoë",
        middle_name="Ødegård", surname=f"Müller {i}", initials="ZØM", company_name="Fjord Shipping AS",
        job_title="Purchasing Manager", business_homepage="https://fjord.example.no",
        email_addresses=[EmailAddress(label="EmailAddress1", email=f"zoe.{i}@fjord.example.no"),
                         EmailAddress(label="EmailAddress2", email=f"z{i}@private.example")],
        phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+47 22 12 34 56"),
                       PhoneNumber(label="MobilePhone", phone_number="+47 900 00 000"),
                       PhoneNumber(label="BusinessFax", phone_number="+47 22 12 34 57")],
        physical_addresses=[PhysicalAddress(label="Business", street="Storgata 1\nPostboks 123", city="Oslo",
                                            state="Oslo", zipcode="0150", country="NO")],
    )
    if stamp_field:
        setattr(c, stamp_field, f"uuid-{i}")
    return c


def test_bulk_create_250_with_every_mapped_field(server, account, folder, stamp):
    items = [make_contact(folder, i, stamp) for i in range(250)]
    results = account.bulk_create(folder=folder, items=items)
    assert len(results) == 250 and not [r for r in results if isinstance(r, Exception)]
    assert server.stats["CreateItem"] == 3  # chunks of 100
    assert len({r.id for r in results}) == 250
    c = server.outlook().contacts(FOLDER)[7]
    assert c["display_name"] == "Zoë Müller 7" and c["file_as"] == "Müller, Zoë 7"
    assert (c["given_name"], c["middle_name"], c["surname"]) == ("Zoë", "Ødegård", "Müller 7")
    assert c["initials"] == "ZØM"
    assert (c["company_name"], c["job_title"]) == ("Fjord Shipping AS", "Purchasing Manager")
    assert (c["email1"], c["email2"]) == ("zoe.7@fjord.example.no", "z7@private.example")
    assert (c["business_phone"], c["mobile_phone"], c["business_fax"]) == ("+47 22 12 34 56", "+47 900 00 000",
                                                                             "+47 22 12 34 57")
    assert c["business_home_page"] == "https://fjord.example.no"
    assert c["business_street"] == "Storgata 1\nPostboks 123"
    assert (c["business_city"], c["business_state"], c["business_postal_code"], c["business_country"]) == (
        "Oslo", "Oslo", "0150", "NO")
    assert c["extended"] == {"bcsync-test-stamp": "uuid-7"}


def test_reading_back_every_field(account, folder, stamp):
    account.bulk_create(folder=folder, items=[make_contact(folder, 1, stamp)])
    got = folder.get(display_name="Zoë Müller 1")
    assert got.physical_addresses[0].street == "Storgata 1\nPostboks 123"
    assert {e.label: e.email for e in got.email_addresses}["EmailAddress2"] == "z1@private.example"
    assert {p.label: p.phone_number for p in got.phone_numbers}["BusinessFax"] == "+47 22 12 34 57"
    assert getattr(got, stamp) == "uuid-1"
    assert got.item_class == "IPM.Contact" and got.datetime_created is not None and got.last_modified_time


def test_paging_with_only_and_page_size(server, account, folder, stamp):
    account.bulk_create(folder=folder, items=[make_contact(folder, i, stamp) for i in range(250)])
    server.stats.reset()
    ids = list(folder.all().values_list("id", "changekey"))
    assert len(ids) == 250 and server.stats.by_operation == {"FindItem": 3}
    server.stats.reset()
    got = list(folder.all().only("display_name", "email_addresses", stamp).order_by("display_name"))
    assert len(got) == 250 and sorted(getattr(g, stamp) for g in got) == sorted(f"uuid-{i}" for i in range(250))
    assert server.stats.by_operation == {"FindItem": 3, "GetItem": 3}
    server.stats.reset()
    qs = folder.all().only("display_name")
    qs.page_size, qs.chunk_size = 1000, 500
    assert len(list(qs)) == 250
    assert server.stats.by_operation == {"FindItem": 1, "GetItem": 1}
    sliced = list(folder.all().order_by("display_name").values_list("display_name", flat=True)[10:20])
    assert len(sliced) == 10
    assert folder.filter(**{stamp: "uuid-42"}).count() == 1
    assert folder.filter(display_name__startswith="Zoë Müller 24").count() == 11  # 24, 240-249


def test_find_count_limit_caps_a_page_at_1000(server, account, folder):
    server.outlook().create_contacts(FOLDER, [{"display_name": f"C{i}", "email1": f"c{i}@x.example"}
                                              for i in range(1001)])
    qs = folder.all().values_list("id", flat=True)
    qs.page_size = 5000
    assert len(list(qs)) == 1001
    assert server.stats["FindItem"] == 2  # 1,000 then 1


def test_bulk_update_sets_and_clears_fields(server, account, folder, stamp):
    account.bulk_create(folder=folder, items=[make_contact(folder, i, stamp) for i in range(20)])
    items = list(folder.all().only("company_name", "job_title", "phone_numbers", stamp))
    for it in items:
        it.company_name = "Nordlys Energi AS"
        it.job_title = None
        it.phone_numbers = [PhoneNumber(label="BusinessPhone", phone_number="+47 55 00 00 00")]
        setattr(it, stamp, "restamped")
    res = account.bulk_update([(it, ["company_name", "job_title", "phone_numbers", stamp]) for it in items])
    assert len(res) == 20 and all(r[1] != it.changekey for r, it in zip(res, items))
    c = server.outlook().contacts(FOLDER)[0]
    assert c["company_name"] == "Nordlys Energi AS" and "job_title" not in c
    assert c["business_phone"] == "+47 55 00 00 00" and "mobile_phone" not in c and "business_fax" not in c
    assert c["extended"]["bcsync-test-stamp"] == "restamped"
    assert c["email1"].startswith("zoe.") and c["business_city"] == "Oslo"  # untouched


def test_stale_changekey_never_overwrite_conflicts(server, account, folder):
    item = make_contact(folder, 1)
    item.save()
    stale = folder.get(id=item.id)
    server.outlook().edit_contact(item.id, job_title="Changed in Outlook")
    stale.job_title = "Changed by the sync"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["job_title"], conflict_resolution=NEVER_OVERWRITE)
    assert server.outlook().get_contact(item.id)["job_title"] == "Changed in Outlook"
    fresh = folder.get(id=item.id)
    fresh.job_title = "Merged"
    fresh.save(update_fields=["job_title"], conflict_resolution=NEVER_OVERWRITE)
    assert server.outlook().get_contact(item.id)["job_title"] == "Merged"
    stale.save(update_fields=["job_title"], conflict_resolution=AUTO_RESOLVE)  # overwrites silently
    stale.save(update_fields=["job_title"], conflict_resolution=ALWAYS_OVERWRITE)
    assert server.outlook().get_contact(item.id)["job_title"] == "Changed by the sync"


def test_every_change_gets_a_new_changekey(server, folder):
    item = make_contact(folder, 1)
    item.save()
    keys = {item.changekey}
    for title in ("A", "B", "B"):
        item.job_title = title
        item.save(update_fields=["job_title"])
        keys.add(item.changekey)
    keys.add(server.outlook().edit_contact(item.id, job_title="C"))
    assert len(keys) == 5


def test_delete_move_to_trash_and_soft_delete(server, account, folder, stamp):
    items = [make_contact(folder, i, stamp) for i in range(3)]
    account.bulk_create(folder=folder, items=items)
    a, b, c = list(folder.all().order_by("display_name"))
    a_id = a.id
    a.delete()
    b.move_to_trash()
    c.soft_delete()
    assert server.outlook().count(FOLDER) == 0
    trash = server.outlook().contacts("deleteditems")
    assert [t["display_name"] for t in trash] == ["Zoë Müller 1"]
    assert trash[0]["extended"] == {"bcsync-test-stamp": "uuid-1"} and trash[0]["email1"] == "zoe.1@fjord.example.no"
    assert [x.display_name for x in account.trash.all()] == ["Zoë Müller 1"]
    assert server.outlook().count("recoverableitemsdeletions") == 1
    with pytest.raises(ErrorItemNotFound):
        folder.get(id=a_id)


def test_move_gives_a_new_id(server, account, folder):
    item = make_contact(folder, 1)
    item.save()
    old = item.id
    item.move(to_folder=account.contacts)
    assert item.id != old
    assert [c["id"] for c in server.outlook().contacts("contacts")] == [item.id]
    assert server.outlook().count(FOLDER) == 0


def test_copy_keeps_extended_properties(server, account, folder, stamp):
    item = make_contact(folder, 5, stamp)
    item.save()
    copy_id = item.copy(to_folder=account.contacts)
    copied = account.contacts.get(id=copy_id.id if hasattr(copy_id, "id") else copy_id[0])
    assert getattr(copied, stamp) == "uuid-5"
    assert copied.email_addresses[0].email == "zoe.5@fjord.example.no"
    assert server.outlook().count(FOLDER) == 1 and server.outlook().count("contacts") == 1


def test_unmapped_fields_survive_an_update_fields_save(server, account, folder):
    cid = server.outlook().create_contact(FOLDER, {
        "display_name": "Åsa Lindqvist", "given_name": "Åsa", "surname": "Lindqvist", "email1": "asa@example.se",
        "email3": "asa.private@example.se", "home_phone": "+46 8 123 456", "home_street": "Hemvägen 3",
        "home_city": "Uppsala", "body": "Likes fika.\nCall after 10.", "categories": ["VIP", "Customer"],
        "nickname": "Åsa", "spouse_name": "Per", "im1": "asa@im.example", "extended": {"Custom": "keep me"}})
    item = folder.all().only("display_name", "company_name").get(id=cid)
    item.company_name = "Kvarts AB"
    item.save(update_fields=["company_name"])
    c = server.outlook().get_contact(cid)
    assert c["company_name"] == "Kvarts AB"
    for key, value in (("body", "Likes fika.\nCall after 10."), ("categories", ["VIP", "Customer"]),
                       ("email3", "asa.private@example.se"), ("home_phone", "+46 8 123 456"),
                       ("home_street", "Hemvägen 3"), ("nickname", "Åsa"), ("spouse_name", "Per"),
                       ("im1", "asa@im.example")):
        assert c[key] == value, key
    assert c["extended"] == {"Custom": "keep me"}
    full = folder.get(id=cid)
    assert full.body == "Likes fika.\nCall after 10." and full.categories == ["VIP", "Customer"]


def test_save_without_update_fields_after_only_wipes_fields_like_exchange(server, folder):
    """The EXCHANGELIB.md pitfall reproduces: the server applies the DeleteItemFields exchangelib sends."""
    cid = server.outlook().create_contact(FOLDER, display_name="Wiped", company_name="Gone AS", job_title="Gone")
    item = folder.all().only("display_name").get(id=cid)
    item.save()
    c = server.outlook().get_contact(cid)
    assert "company_name" not in c and "job_title" not in c and c["display_name"] == "Wiped"


def test_indexed_fields_are_replaced_as_a_whole(server, folder):
    cid = server.outlook().create_contact(FOLDER, display_name="X", email1="a@x.example", email2="b@x.example",
                                          email3="c@x.example")
    item = folder.get(id=cid)
    item.email_addresses = [EmailAddress(label="EmailAddress1", email="new@x.example")]
    item.save(update_fields=["email_addresses"])
    c = server.outlook().get_contact(cid)
    assert c["email1"] == "new@x.example" and "email2" not in c and "email3" not in c


def test_outlook_edits_are_seen_by_the_client(server, folder, stamp):
    item = make_contact(folder, 3, stamp)
    item.save()
    server.outlook().edit_contact(item.id, {"email1": "moved@new.example", "business_city": None,
                                            "extended": {"bcsync-test-stamp": None}})
    again = folder.get(id=item.id)
    assert again.changekey != item.changekey
    assert again.email_addresses[0].email == "moved@new.example"
    assert again.physical_addresses[0].city is None and again.physical_addresses[0].zipcode == "0150"
    assert getattr(again, stamp) is None


def test_ids_of_missing_and_malformed_items(server, account, folder):
    item = make_contact(folder, 1)
    item.save()
    server.outlook().delete_contact(item.id, mode="HardDelete")
    results = list(account.fetch(ids=[(item.id, item.changekey), ("bm90IGFuIGlk", None)]))
    assert type(results[0]).__name__ == "ErrorItemNotFound"
    assert type(results[1]).__name__ == "ErrorInvalidIdMalformed"



def test_find_by_stamp_restriction(server, account, folder, stamp):
    account.bulk_create(folder=folder, items=[make_contact(folder, i, stamp) for i in range(30)])
    server.stats.reset()
    found = list(folder.filter(**{f"{stamp}__in": ["uuid-3", "uuid-17", "uuid-99"]}).only(stamp))
    assert sorted(getattr(i, stamp) for i in found) == ["uuid-17", "uuid-3"]
    assert all(i.id and i.changekey for i in found)
    assert server.stats["FindItem"] == 1  # (exchangelib fetches extended properties with GetItem)
