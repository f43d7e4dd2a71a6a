"""The EWS adapter's lean CreateItem contact sends exactly what a stock exchangelib Contact sends.

If an exchangelib upgrade adds a field it always serialises, these fail instead of the sync
quietly sending something different."""

from __future__ import annotations

import pytest
from exchangelib import Build, Contact, Version
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.util import xml_to_str

from bcsync_tui.core.sync.ews import STAMP, NewContact

VERSIONS = [Version(build=Build(15, 0, 847, 32), api_version="Exchange2013"),
            Version(build=Build(15, 1, 2507, 0), api_version="Exchange2016")]

FULL = {
    "display_name": "Zoë Müller", "file_as": "Zoë Müller", "given_name": "Zoë", "middle_name": "M",
    "surname": "Müller", "initials": "ZM", "company_name": "Alpen <GmbH> & Co", "job_title": "Buyer",
    "business_homepage": "https://alpen.example",
    "email_addresses": [EmailAddress(label="EmailAddress1", email="zoe@alpen.de"),
                        EmailAddress(label="EmailAddress2", email="z@alpen.de")],
    "phone_numbers": [PhoneNumber(label="BusinessPhone", phone_number="+49 89 1"),
                      PhoneNumber(label="MobilePhone", phone_number="+49 170 2"),
                      PhoneNumber(label="BusinessFax", phone_number="+49 89 3")],
    "physical_addresses": [PhysicalAddress(label="Business", street="Hauptstr. 1\nHinterhaus", city="München",
                                           state="Bayern", zipcode="80331", country="DE")],
}


def payload(cls, values: dict, stamp: str | None, version: Version) -> str:
    item = cls(**values)
    if stamp:
        setattr(item, STAMP, stamp)
    return xml_to_str(item.to_xml(version=version))


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.api_version)
@pytest.mark.parametrize("keys", [tuple(FULL), (), ("surname", "email_addresses"),
                                  ("company_name", "physical_addresses", "phone_numbers")])
def test_new_contact_xml_equals_a_stock_contacts(version, keys):
    values = {"display_name": FULL["display_name"], **{k: FULL[k] for k in keys}}  # the adapter always names it
    for stamp in ("0b6f2c1e-uuid", None):
        assert payload(NewContact, values, stamp, version) == payload(Contact, values, stamp, version)


def test_new_contact_knows_every_field_the_adapter_writes():
    from bcsync_tui.core.sync import ews

    written = set(ews.SCALAR.values()) | {"file_as", "email_addresses", "phone_numbers", "physical_addresses", STAMP}
    assert written <= {f.name for f in NewContact.FIELDS}
