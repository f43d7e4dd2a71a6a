"""UpdateItem details checked with hand-written requests: append, deletes of address parts, extended
properties named by DistinguishedPropertySetId or GUID, errors per item in request order."""

from __future__ import annotations

import re

from .conftest import raw_post, soap

PUBLIC_STRINGS = "00020329-0000-0000-c000-000000000046"


def update(server, item_id, changekey, updates, resolution="AutoResolve"):
    ck = f' ChangeKey="{changekey}"' if changekey else ""
    return raw_post(server, soap(
        f'<m:UpdateItem ConflictResolution="{resolution}" MessageDisposition="SaveOnly"><m:ItemChanges>'
        f'<t:ItemChange><t:ItemId Id="{item_id}"{ck}/><t:Updates>{updates}</t:Updates></t:ItemChange>'
        '</m:ItemChanges></m:UpdateItem>'))


def test_append_body_and_refuse_other_appends(server):
    ann = server.outlook()
    cid = ann.create_contact("contacts", display_name="A", body="first line")
    status, _, body = update(server, cid, None,
                             '<t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:Contact>'
                             '<t:Body BodyType="Text">\nsecond line</t:Body></t:Contact></t:AppendToItemField>')
    assert status == 200 and b"NoError" in body
    assert ann.get_contact(cid)["body"] == "first line\nsecond line"
    status, _, body = update(server, cid, None,
                             '<t:AppendToItemField><t:FieldURI FieldURI="contacts:JobTitle"/><t:Contact>'
                             '<t:JobTitle>x</t:JobTitle></t:Contact></t:AppendToItemField>')
    assert b"ErrorInvalidPropertyAppend" in body


def test_address_parts_and_mismatched_values(server):
    ann = server.outlook()
    cid = ann.create_contact("contacts", display_name="A", business_street="S 1", business_city="Oslo",
                             business_country="NO")
    status, _, body = update(server, cid, None,
                             '<t:DeleteItemField><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:City" '
                             'FieldIndex="Business"/></t:DeleteItemField>'
                             '<t:SetItemField><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:PostalCode" '
                             'FieldIndex="Business"/><t:Contact><t:PhysicalAddresses><t:Entry Key="Business">'
                             '<t:PostalCode>0150</t:PostalCode></t:Entry></t:PhysicalAddresses></t:Contact>'
                             '</t:SetItemField>')
    assert b"NoError" in body
    c = ann.get_contact(cid)
    assert "business_city" not in c and c["business_postal_code"] == "0150" and c["business_street"] == "S 1"
    status, _, body = update(server, cid, None,
                             '<t:SetItemField><t:FieldURI FieldURI="contacts:JobTitle"/><t:Contact>'
                             '<t:CompanyName>wrong</t:CompanyName></t:Contact></t:SetItemField>')
    assert b"ErrorUpdatePropertyMismatch" in body
    status, _, body = update(server, cid, None,
                             '<t:SetItemField><t:FieldURI FieldURI="item:DateTimeCreated"/><t:Contact>'
                             '<t:DateTimeCreated>2020-01-01T00:00:00Z</t:DateTimeCreated></t:Contact></t:SetItemField>')
    assert b"ErrorInvalidPropertySet" in body
    assert ann.get_contact(cid)["business_postal_code"] == "0150"  # failed changes leave the item untouched


def test_distinguished_set_and_guid_name_the_same_property(server):
    ann = server.outlook()
    cid = ann.create_contact("contacts", display_name="A")
    uri = 'DistinguishedPropertySetId="PublicStrings" PropertyName="Keywords2" PropertyType="String"'
    status, _, body = update(server, cid, None,
                             f'<t:SetItemField><t:ExtendedFieldURI {uri}/><t:Contact><t:ExtendedProperty>'
                             f'<t:ExtendedFieldURI {uri}/><t:Value>v1</t:Value></t:ExtendedProperty></t:Contact>'
                             '</t:SetItemField>')
    assert b"NoError" in body
    status, _, body = raw_post(server, soap(
        '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
        f'<t:ExtendedFieldURI PropertySetId="{PUBLIC_STRINGS}" PropertyName="Keywords2" PropertyType="String"/>'
        f'</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="{cid}"/></m:ItemIds></m:GetItem>'))
    assert b"<t:Value>v1</t:Value>" in body
    bad = 'PropertyTag="0x3A45" PropertyName="x" PropertyType="String"'
    status, _, body = update(server, cid, None,
                             f'<t:SetItemField><t:ExtendedFieldURI {bad}/><t:Contact><t:ExtendedProperty>'
                             f'<t:ExtendedFieldURI {bad}/><t:Value>v</t:Value></t:ExtendedProperty></t:Contact>'
                             '</t:SetItemField>')
    assert b"ErrorInvalidExtendedProperty" in body
    num = 'PropertySetId="0b7d7a52-3c55-4d44-9a7e-5a1c2f8e9d10" PropertyName="n" PropertyType="Integer"'
    status, _, body = update(server, cid, None,
                             f'<t:SetItemField><t:ExtendedFieldURI {num}/><t:Contact><t:ExtendedProperty>'
                             f'<t:ExtendedFieldURI {num}/><t:Value>abc</t:Value></t:ExtendedProperty></t:Contact>'
                             '</t:SetItemField>')
    assert b"ErrorInvalidExtendedPropertyValue" in body


def test_batch_answers_keep_request_order(server):
    ann = server.outlook()
    a, b = ann.create_contacts("contacts", [{"display_name": "A"}, {"display_name": "B"}])
    stale = ann.get_contact(a)["changekey"]
    ann.edit_contact(a, job_title="moved on")
    changes = "".join(
        f'<t:ItemChange><t:ItemId Id="{i}" ChangeKey="{ck}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="contacts:JobTitle"/><t:Contact><t:JobTitle>new</t:JobTitle></t:Contact>'
        '</t:SetItemField></t:Updates></t:ItemChange>'
        for i, ck in ((b, ann.get_contact(b)["changekey"]), (a, stale), ("AAMkAnope", "x")))
    status, _, body = raw_post(server, soap(
        f'<m:UpdateItem ConflictResolution="NeverOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges>{changes}'
        '</m:ItemChanges></m:UpdateItem>'))
    codes = re.findall(rb"<m:ResponseCode>(\w+)</m:ResponseCode>", body)
    assert codes == [b"NoError", b"ErrorIrresolvableConflict", b"ErrorInvalidIdMalformed"]
    assert ann.get_contact(a)["job_title"] == "moved on" and ann.get_contact(b)["job_title"] == "new"


def test_name_fields_are_limited_to_255_characters(server, account):
    # exchangelib refuses such values itself (CharField max_length), so they go by hand; its
    # test_items/test_basics.py::test_text_field_settings shows what Exchange does with them.
    ann = server.outlook()
    cid = ann.create_contact("contacts", display_name="A", given_name="Ann")
    status, _, body = update(server, cid, None,
                             '<t:SetItemField><t:FieldURI FieldURI="contacts:GivenName"/><t:Contact>'
                             f'<t:GivenName>{"g" * 256}</t:GivenName></t:Contact></t:SetItemField>')
    assert b"ErrorPropertyUpdate" in body and b'FieldURI="contacts:GivenName"' in body
    status, _, body = update(server, cid, None,
                             '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Contact>'
                             f'<t:Subject>{"s" * 300}</t:Subject></t:Contact></t:SetItemField>'
                             '<t:SetItemField><t:FieldURI FieldURI="contacts:Surname"/><t:Contact>'
                             f'<t:Surname>{"n" * 255}</t:Surname></t:Contact></t:SetItemField>')
    assert b"NoError" in body
    item = account.contacts.get(id=cid)
    assert item.subject == "s" * 255 and item.surname == "n" * 255 and item.given_name == "Ann"
    status, _, body = raw_post(server, soap(
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Contact><t:DisplayName>B</t:DisplayName>'
        f'<t:MiddleName>{"m" * 256}</t:MiddleName></t:Contact></m:Items></m:CreateItem>'))
    assert b"ErrorPropertyUpdate" in body and ann.count("contacts") == 1
