"""One mailbox, two protocols: filled over EWS through exchangelib, read over Graph (and back), stamps included."""

from __future__ import annotations

import pytest
from exchangelib import (BASIC, DELEGATE, UTC, Account, Build, Configuration, Contact, Credentials, ExtendedProperty,
                         Version)
from exchangelib.folders import Contacts
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.protocol import close_connections

from bcsync_tui.ewsserver import LoopbackExchange
from bcsync_tui.graphserver import LoopbackGraph

from .conftest import ANN, FAX_ID, STAMP_ID, Graph, device_sign_in

PASSWORD = "Ann-s3cret"


class SyncStamp(ExtendedProperty):
    """The sync engine's stamp (core/sync/ews.py): the same property set and name."""

    property_set_id = "6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21"
    property_name = "bcsync-contact-uuid"
    property_type = "String"


@pytest.fixture
def both():
    Contact.register("graph_test_stamp", SyncStamp)
    try:
        with LoopbackExchange(users={ANN: PASSWORD}) as ews, LoopbackGraph(share=ews, tls=True) as g:
            config = Configuration(service_endpoint=ews.url, credentials=Credentials(ANN, PASSWORD), auth_type=BASIC,
                                   version=Version(Build(15, 2, 1118, 7)))
            account = Account(ANN, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=UTC)
            yield account, Graph(g, device_sign_in(g)["access_token"])
    finally:
        close_connections()
        Contact.deregister("graph_test_stamp")


def test_a_mailbox_filled_over_ews_reads_back_over_graph(both):
    account, graph = both
    folder = Contacts(parent=account.contacts, name="Business Central").save()
    people = []
    for i in range(3):
        c = Contact(folder=folder, display_name=f"Kunde {i} GmbH", given_name=f"Vor{i}", surname=f"Nach{i}",
                    company_name=f"Kunde {i} GmbH", job_title="Einkauf",
                    email_addresses=[EmailAddress(email=f"k{i}@example.com", label="EmailAddress1")],
                    phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number=f"+49 30 {i}"),
                                   PhoneNumber(label="BusinessFax", phone_number=f"+49 30 9{i}")],
                    physical_addresses=[PhysicalAddress(label="Business", street=f"Weg {i}", city="Köln",
                                                        zipcode="50667", country="DE")],
                    graph_test_stamp=f"uuid-{i}")
        c.save()
        people.append(c)
    [bc] = [f for f in graph.get("/contactFolders", params={"$filter": "displayName eq 'Business Central'"})
            .json()["value"]]
    listed = graph.get(f"/contactFolders/{bc['id']}/contacts", params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{STAMP_ID}' or id eq '{FAX_ID}')"}).json()["value"]
    assert len(listed) == 3
    for c, item in zip(sorted(listed, key=lambda x: x["displayName"]), people):
        assert c["id"] == item.id.replace("/", "-").replace("+", "_")
        assert c["changeKey"] == item.changekey
        assert (c["displayName"], c["givenName"], c["surname"], c["jobTitle"]) == (
            item.display_name, item.given_name, item.surname, "Einkauf")
        assert c["emailAddresses"][0]["address"] == item.email_addresses[0].email
        assert c["businessPhones"] == [item.phone_numbers[0].phone_number]
        assert c["businessAddress"] == {"street": item.physical_addresses[0].street, "city": "Köln",
                                        "postalCode": "50667", "countryOrRegion": "DE"}
        props = {p["id"]: p["value"] for p in c["singleValueExtendedProperties"]}
        assert props == {STAMP_ID: item.graph_test_stamp, FAX_ID: item.phone_numbers[1].phone_number}
    found = graph.get(f"/contactFolders/{bc['id']}/contacts", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{STAMP_ID}' and ep/value eq 'uuid-1')"}).json()
    assert [c["displayName"] for c in found["value"]] == ["Kunde 1 GmbH"]


def test_written_over_graph_read_over_ews(both):
    account, graph = both
    fid = graph.folder("Business Central")
    made = graph.contact(fid, displayName="Über Graph", emailAddresses=[{"address": "g@example.com"}],
                         singleValueExtendedProperties=[{"id": STAMP_ID, "value": "uuid-g"},
                                                        {"id": FAX_ID, "value": "+43 1 2"}])
    folder = account.contacts // "Business Central"
    [item] = list(folder.all())
    assert item.display_name == "Über Graph" and item.graph_test_stamp == "uuid-g"
    assert {p.label: p.phone_number for p in item.phone_numbers} == {"BusinessFax": "+43 1 2"}
    assert item.changekey == made["changeKey"]
    item.job_title = "über EWS"
    item.save(update_fields=["job_title"])
    after = graph.get(f"/contacts/{made['id']}").json()
    assert after["jobTitle"] == "über EWS" and after["changeKey"] == item.changekey
