"""The master's fields ↔ Graph contact JSON: names, arrays kept whole, stamp and fax as extended properties."""

from __future__ import annotations

from bcsync_tui.core import model
from bcsync_tui.core.sync.graph_fields import FAX_ID, STAMP_ID, STAMP_SET, contact_body, to_remote


def _doc(**over):
    doc = {"id": "AAMk1", "changeKey": "CK1", "parentFolderId": "F1", "displayName": "Ann Lee", "givenName": "Ann",
           "surname": "Lee", "emailAddresses": [{"name": "Ann", "address": "ann@example.com"},
                                                {"name": "x", "address": "ann2@example.com"},
                                                {"name": "third", "address": "ann3@example.com"}],
           "businessPhones": ["+47 1", "+47 2"], "mobilePhone": "+47 9",
           "businessAddress": {"street": "Storgata 1\r\nBakgården", "city": "Oslo", "postalCode": "0150",
                               "countryOrRegion": "NO", "state": ""},
           "singleValueExtendedProperties": [{"id": STAMP_ID.replace(STAMP_SET, STAMP_SET.upper()), "value": "uuid-1"},
                                             {"id": "String 0x3a24", "value": "+47 5"}]}
    doc.update(over)
    return doc


def test_a_graph_contact_reads_as_the_masters_fields():
    item = to_remote(_doc())
    assert (item.item_id, item.change_key, item.stamp) == ("AAMk1", "CK1", "uuid-1")
    f = item.fields
    assert set(f) == set(model.SYNCED_KEYS)
    assert (f["email"], f["email2"], f["phone"], f["mobile_phone"], f["fax"]) == (
        "ann@example.com", "ann2@example.com", "+47 1", "+47 9", "+47 5")
    assert (f["address"], f["address2"], f["city"], f["post_code"], f["country_code"]) == (
        "Storgata 1", "Bakgården", "Oslo", "0150", "NO")


def test_a_contact_without_extended_properties_has_no_stamp_and_no_fax():
    item = to_remote(_doc(singleValueExtendedProperties=None, emailAddresses=[], businessPhones=[]))
    assert item.stamp is None and item.fields["fax"] == "" and item.fields["email"] == "" and item.fields["phone"] == ""


def test_an_update_keeps_the_entries_it_does_not_map():
    body = contact_body({"email2": "new2@example.com", "phone": "+47 3", "city": "Bergen"}, _doc(), None)
    assert [e["address"] for e in body["emailAddresses"]] == ["ann@example.com", "new2@example.com",
                                                              "ann3@example.com"]
    assert body["emailAddresses"][0]["name"] == "Ann"  # untouched entries keep their display name
    assert body["businessPhones"] == ["+47 3", "+47 2"]
    assert body["businessAddress"]["street"] == "Storgata 1\nBakgården"
    assert body["businessAddress"]["city"] == "Bergen" and body["businessAddress"]["postalCode"] == "0150"
    assert "givenName" not in body and "singleValueExtendedProperties" not in body


def test_an_update_clears_with_null_and_sets_fax_and_stamp_as_extended_properties():
    body = contact_body({"job_title": "", "fax": "", "name": "Ann B. Lee"}, _doc(), "uuid-2")
    assert body["jobTitle"] is None
    assert body["displayName"] == body["fileAs"] == "Ann B. Lee"
    assert {"id": STAMP_ID, "value": "uuid-2"} in body["singleValueExtendedProperties"]
    assert {"id": FAX_ID, "value": ""} in body["singleValueExtendedProperties"]


def test_a_new_contact_sends_only_what_is_set_and_is_named_by_its_email_when_nameless():
    fields = dict.fromkeys(model.SYNCED_KEYS, "")
    fields.update(email="bo@example.com", fax="+47 7")
    body = contact_body(fields, None, "uuid-3")
    assert body["displayName"] == "bo@example.com"
    assert body["emailAddresses"] == [{"address": "bo@example.com", "name": "bo@example.com"}]
    assert "businessPhones" not in body and "businessAddress" not in body and "givenName" not in body
    assert body["singleValueExtendedProperties"] == [{"id": STAMP_ID, "value": "uuid-3"}, {"id": FAX_ID, "value": "+47 7"}]


# --- a new contact's body, built lean, is the general builder's JSON byte for byte ---------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bcsync_tui.core.sync.graph_fields import new_contact_body  # noqa: E402

_VALUE = st.sampled_from(["", " ", "a", "Ann", "ann@example.com", "Straße 1\nHof", "张伟", "0"]) | st.text(max_size=12)


@st.composite
def _fields(draw):
    keys = draw(st.lists(st.sampled_from(model.SYNCED_KEYS), unique=True))
    return {key: draw(_VALUE) for key in keys}


@given(fields=_fields(), stamp=st.none() | st.sampled_from(["", "6f0a8e1c-uuid"]))
def test_a_new_contacts_body_is_the_general_builders_json_key_for_key(fields, stamp):
    import orjson

    assert orjson.dumps(new_contact_body(fields, stamp)) == orjson.dumps(contact_body(fields, None, stamp))


def test_a_new_contact_with_every_field_reads_back_as_written():
    fields = {key: f"v-{key}" for key in model.SYNCED_KEYS}
    fields["email"], fields["email2"] = "ann@example.com", "ann2@example.com"
    body = new_contact_body(fields, "uuid-1")
    item = to_remote({"id": "AAMk1", **body})
    assert item.stamp == "uuid-1" and item.fields == fields
