"""The EWS adapter's lxml CreateItem payload is, byte for byte, the one exchangelib builds itself:
random contacts (unicode, characters XML cannot carry, markup, empty and missing fields), every
server version the adapter meets, compared as whole SOAP requests."""

from __future__ import annotations

import pytest
from exchangelib import BASIC, DELEGATE, Account, Build, Configuration, Contact, Credentials, Version
from exchangelib.folders import Contacts
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.items import SAVE_ONLY, SEND_TO_NONE
from exchangelib.services import CreateItem
from exchangelib.util import xml_to_str
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcsync_tui.core.profiles import Profile
from bcsync_tui.core.sync.ews import LEAN_ENTRIES, STAMP, EwsTransport, NewContact, NewValues
from bcsync_tui.core.sync.ews_payload import CreateContacts, contact_xml

VERSIONS = [Version(build=Build(15, 0, 847, 32), api_version="Exchange2013"),
            Version(build=Build(15, 1, 2507, 0), api_version="Exchange2016"),
            Version(build=Build(15, 20, 0, 0), api_version="Exchange2016")]

#: any text, including what XML cannot carry (exchangelib replaces it with "?") and markup
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
MAYBE = st.none() | TEXT.filter(bool)


def account(version: Version) -> Account:
    config = Configuration(service_endpoint="https://mail.example.invalid/EWS/Exchange.asmx",
                           credentials=Credentials("ann@example.com", "x"), auth_type=BASIC, version=version)
    return Account("ann@example.com", config=config, autodiscover=False, access_type=DELEGATE)


ACCOUNTS = {id(v): account(v) for v in VERSIONS}


@st.composite
def contacts(draw, model: type[Contact]) -> Contact:
    values = {"display_name": draw(TEXT.filter(bool))}  # required: the adapter always names the contact
    values |= {name: draw(MAYBE) for name in ("file_as", "given_name", "middle_name", "surname",
                                             "initials", "company_name", "job_title", "business_homepage")}
    emails = [EmailAddress(label=label, email=draw(TEXT.filter(bool)))
              for label in draw(st.lists(st.sampled_from(EmailAddress.LABEL_CHOICES), unique=True))]
    phones = [PhoneNumber(label=label, phone_number=draw(TEXT.filter(bool)))
              for label in draw(st.lists(st.sampled_from(["BusinessPhone", "MobilePhone", "BusinessFax", "HomePhone"]),
                                         unique=True))]
    addresses = [PhysicalAddress(label=label, street=draw(MAYBE), city=draw(MAYBE), state=draw(MAYBE),
                                 zipcode=draw(MAYBE), country=draw(MAYBE))
                 for label in draw(st.lists(st.sampled_from(PhysicalAddress.LABEL_CHOICES), unique=True))]
    item = model(**values, email_addresses=emails or None, phone_numbers=phones or None,
                 physical_addresses=addresses or None)
    stamp = draw(st.none() | TEXT)
    if stamp is not None:
        setattr(item, STAMP, stamp)
    return item


def requests_of(version: Version, items: list[Contact], lean_items: list | None = None,
                model: type[Contact] | None = None) -> tuple[bytes, bytes]:
    """The whole SOAP request, as exchangelib's CreateItem builds it and as the lean service does
    (from ``lean_items`` when given: the adapter's ``NewValues`` for the same contacts)."""
    acct = ACCOUNTS[id(version)]
    folder = Contacts(id="AAMkFolder==", changekey="ck1")
    stock = CreateItem(account=acct)
    lean = CreateContacts(account=acct, model=model or type(items[0]))
    # the lean service first: exchangelib's clean() may alter the items
    ours = lean.get_payload(items=lean_items or items, folder=folder, message_disposition=SAVE_ONLY,
                            send_meeting_invitations=SEND_TO_NONE)
    ours_bytes = lean.wrap(content=ours, api_version=version.api_version)
    theirs = stock.get_payload(items=items, folder=folder, message_disposition=SAVE_ONLY,
                               send_meeting_invitations=SEND_TO_NONE)
    theirs_bytes = stock.wrap(content=theirs, api_version=version.api_version)
    return theirs_bytes, ours_bytes


@pytest.mark.parametrize("model", [NewContact, Contact], ids=lambda m: m.__name__)
@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.api_version}-{v.build.minor_version}")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_lean_create_item_request_is_exchangelibs_byte_for_byte(model, version, data):
    items = data.draw(st.lists(contacts(model), min_size=1, max_size=4))
    theirs, ours = requests_of(version, items)
    assert ours == theirs


def test_the_request_carries_what_the_contact_holds():
    item = NewContact(display_name="Zoë <Müller> & Co", given_name="Zoë\x01",
                      email_addresses=[EmailAddress(label="EmailAddress1", email="zoe@alpen.de")])
    setattr(item, STAMP, "uuid-1")
    theirs, ours = requests_of(VERSIONS[0], [item])
    assert ours == theirs
    assert "Zoë &lt;Müller&gt; &amp; Co".encode() in ours and "Zoë?".encode() in ours
    assert b'<t:Entry Key="EmailAddress1">zoe@alpen.de</t:Entry>' in ours and b"uuid-1" in ours


def test_a_value_too_long_for_exchange_is_refused_as_exchangelib_refuses_it():
    item = NewContact(display_name="x", given_name="x" * 300)
    with pytest.raises(ValueError) as stock:
        requests_of(VERSIONS[0], [NewContact(display_name="x", given_name="x" * 300)])
    with pytest.raises(ValueError) as lean:
        contact_xml(NewContact, VERSIONS[0]).text(item)
    assert str(lean.value) == str(stock.value)


#: the master fields the adapter writes to a new contact (its SCALAR/EMAILS/PHONES/ADDRESS keys)
OUR_KEYS = ("name", "first_name", "middle_name", "surname", "initials", "company_name", "job_title", "home_page",
            "email", "email2", "phone", "mobile_phone", "fax", "address", "address2", "city", "county",
            "post_code", "country_code")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.api_version}-{v.build.minor_version}")
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_create_from_lean_values_is_the_request_of_a_new_contact(version, data):
    """The adapter fills plain ``NewValues`` with lean entries for a create; the request is byte for
    byte the one exchangelib builds from a NewContact filled with its own EmailAddress/PhoneNumber/
    PhysicalAddress objects from the same master fields (any of them missing, empty or unicode)."""
    transport = EwsTransport(Profile(name="p"), None)
    empty = {"email_addresses": [], "phone_numbers": [], "physical_addresses": []}
    stock, lean = [], []
    for fields in data.draw(st.lists(st.dictionaries(st.sampled_from(OUR_KEYS), TEXT), min_size=1, max_size=3)):
        fields = {**fields, "name": fields.get("name") or "x"}
        stamp = data.draw(st.none() | TEXT.filter(bool))
        item, values = NewContact(), NewValues()
        transport._apply(item, fields, empty)
        transport._apply(values, fields, empty, LEAN_ENTRIES)
        if stamp:
            setattr(item, STAMP, stamp)
            setattr(values, STAMP, stamp)
        stock.append(item)
        lean.append(values)
    theirs, ours = requests_of(version, stock, lean, NewContact)
    assert ours == theirs
