"""Contacts over plain HTTP as the Graph docs describe them: create, get, list and page, PATCH, delete,
permanentDelete, $filter / $expand of extended properties, etags and immutable ids."""

from __future__ import annotations

from .conftest import FAX_ID, STAMP_ID, assert_graph_error

ZOE = {"givenName": "Zoë", "surname": "Müller", "companyName": "Müller & Söhne", "jobTitle": "CEO",
       "emailAddresses": [{"address": "zoe@example.com", "name": "Zoë Müller"}, {"address": "z@example.org"}],
       "businessPhones": ["+49 30 1234"], "mobilePhone": "+49 170 1",
       "businessAddress": {"street": "Hauptstr. 1\nHinterhaus", "city": "Berlin", "postalCode": "10115",
                           "countryOrRegion": "DE"},
       "singleValueExtendedProperties": [{"id": STAMP_ID, "value": "uuid-zoe"}, {"id": FAX_ID, "value": "+49 30 99"}]}


def test_create_get_and_outlook_sees_it(ann):
    fid = ann.folder()
    created = ann.contact(fid, **ZOE)
    assert created["displayName"] == "Zoë Müller"  # computed, as Exchange does
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"' and created["parentFolderId"] == fid
    assert created["emailAddresses"][0] == {"name": "Zoë Müller", "address": "zoe@example.com"}
    assert created["businessAddress"]["street"] == "Hauptstr. 1\nHinterhaus"
    assert "singleValueExtendedProperties" not in created
    got = ann.get(f"/contacts/{created['id']}").json()
    assert {k: v for k, v in got.items() if k != "@odata.context"} == {
        k: v for k, v in created.items() if k != "@odata.context"}
    [outlook] = ann.graph.outlook().contacts("Business Central")
    assert outlook["business_fax"] == "+49 30 99" and outlook["extended"]["bcsync-contact-uuid"] == "uuid-zoe"
    assert outlook["email2"] == "z@example.org" and outlook["business_city"] == "Berlin"


def test_select_top_and_next_link_paging(ann):
    fid = ann.folder()
    for i in range(7):
        ann.contact(fid, displayName=f"Contact {i}")
    names, url, pages = [], f"/contactFolders/{fid}/contacts?$select=displayName&$top=3", 0
    while url:
        body = ann.get(url).json()
        pages += 1
        for c in body["value"]:
            assert set(c) == {"@odata.etag", "id", "displayName"}
            names.append(c["displayName"])
        url = body.get("@odata.nextLink")
    assert pages == 3 and names == [f"Contact {i}" for i in range(7)]
    assert_graph_error(ann.get(f"/contactFolders/{fid}/contacts", params={"$select": "displayName,shoeSize"}),
                       400, "RequestBroker--ParseUri")


def test_patch_keeps_what_is_not_sent_and_replaces_arrays(ann):
    fid = ann.folder()
    c = ann.contact(fid, **ZOE)
    r = ann.patch(f"/contacts/{c['id']}", {"jobTitle": "Chair", "emailAddresses": [{"address": "new@example.com"}],
                                           "mobilePhone": None})
    assert r.status_code == 200
    after = r.json()
    assert after["jobTitle"] == "Chair" and after["companyName"] == "Müller & Söhne"
    assert [e["address"] for e in after["emailAddresses"]] == ["new@example.com"]
    assert after["mobilePhone"] is None and after["businessPhones"] == ["+49 30 1234"]
    assert after["changeKey"] != c["changeKey"] and after["id"] == c["id"]
    stamp = ann.get(f"/contacts/{c['id']}", params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{STAMP_ID}')"}).json()
    assert stamp["singleValueExtendedProperties"] == [{"id": STAMP_ID, "value": "uuid-zoe"}]


def test_unknown_and_badly_typed_properties_are_refused(ann):
    fid = ann.folder()
    assert_graph_error(ann.post(f"/contactFolders/{fid}/contacts", {"displayName": "X", "shoeSize": 42}),
                       400, "RequestBodyRead")
    assert_graph_error(ann.post(f"/contactFolders/{fid}/contacts", {"displayName": 42}), 400, "RequestBodyRead")
    assert_graph_error(ann.post(f"/contactFolders/{fid}/contacts", {"emailAddresses": [{"adress": "x@y"}]}),
                       400, "RequestBodyRead")
    assert_graph_error(ann.post(f"/contactFolders/{fid}/contacts", {
        "singleValueExtendedProperties": [{"id": "Strin 0x3A24", "value": "1"}]}), 400)
    assert ann.graph.outlook().count("Business Central") == 0


def test_filter_by_email_and_by_extended_property(ann):
    fid = ann.folder()
    zoe = ann.contact(fid, **ZOE)
    ann.contact(fid, displayName="Other", emailAddresses=[{"address": "other@example.com"}],
                singleValueExtendedProperties=[{"id": STAMP_ID, "value": "uuid-other"}])
    by_mail = ann.get(f"/contactFolders/{fid}/contacts", params={
        "$filter": "emailAddresses/any(a:a/address eq 'ZOE@example.com')"}).json()["value"]
    assert [c["id"] for c in by_mail] == [zoe["id"]]
    by_stamp = ann.get(f"/contactFolders/{fid}/contacts", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{STAMP_ID}' and ep/value eq 'uuid-zoe')",
        "$expand": f"singleValueExtendedProperties($filter=id eq '{STAMP_ID}' or id eq '{FAX_ID}')"}).json()["value"]
    assert [c["id"] for c in by_stamp] == [zoe["id"]]
    assert {p["id"]: p["value"] for p in by_stamp[0]["singleValueExtendedProperties"]} == {
        STAMP_ID: "uuid-zoe", FAX_ID: "+49 30 99"}
    assert_graph_error(ann.get(f"/contactFolders/{fid}/contacts", params={"$filter": "emailAddresses/any(a:"}), 400)


def test_delete_goes_to_deleted_items_and_permanent_delete_purges(ann):
    fid = ann.folder()
    a, b = ann.contact(fid, displayName="A"), ann.contact(fid, displayName="B")
    assert ann.delete(f"/contacts/{a['id']}").status_code == 204
    assert_graph_error(ann.get(f"/contacts/{a['id']}"), 404, "ErrorItemNotFound")
    assert [c["display_name"] for c in ann.graph.outlook().contacts("deleteditems")] == ["A"]
    assert ann.post(f"/contactFolders/{fid}/contacts/{b['id']}/permanentDelete").status_code == 204
    assert ann.graph.outlook().count("Business Central") == 0
    assert ann.graph.outlook().count("deleteditems") == 1


def test_stale_etag_is_412_unless_the_server_ignores_if_match(ann):
    fid = ann.folder()
    c = ann.contact(fid, displayName="A")
    ann.graph.outlook().edit_contact(ann.graph.outlook().contacts("Business Central")[0]["id"], job_title="Boss")
    stale = {"If-Match": c["@odata.etag"]}
    assert_graph_error(ann.patch(f"/contacts/{c['id']}", {"jobTitle": "Mine"}, headers=stale), 412,
                       "ErrorIrresolvableConflict")
    assert_graph_error(ann.delete(f"/contacts/{c['id']}", headers=stale), 412, "ErrorIrresolvableConflict")
    current = ann.get(f"/contacts/{c['id']}").json()
    assert current["jobTitle"] == "Boss"
    ok = ann.patch(f"/contacts/{c['id']}", {"jobTitle": "Mine"}, headers={"If-Match": current["@odata.etag"]})
    assert ok.status_code == 200
    ann.graph.ignore_if_match = True
    assert ann.patch(f"/contacts/{c['id']}", {"jobTitle": "Blind"}, headers=stale).status_code == 200


def test_immutable_ids_survive_a_move(ann):
    fid = ann.folder()
    prefer = {"Prefer": 'IdType="ImmutableId"'}
    r = ann.post(f"/contactFolders/{fid}/contacts", {"displayName": "Mover"}, headers=prefer)
    assert r.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    immutable = r.json()["id"]
    rest = ann.get(f"/contactFolders/{fid}/contacts").json()["value"][0]["id"]
    assert rest != immutable
    outlook = ann.graph.outlook()
    outlook.create_folder("Archive")
    outlook.move_contact(outlook.contacts("Business Central")[0]["id"], "Archive")
    assert_graph_error(ann.get(f"/contacts/{rest}"), 404, "ErrorItemNotFound")
    moved = ann.get(f"/contacts/{immutable}", headers=prefer)
    assert moved.status_code == 200 and moved.json()["id"] == immutable
    assert moved.json()["parentFolderId"] != fid


def test_the_default_contacts_folder(ann):
    r = ann.post("/contacts", {"displayName": "In Contacts"})
    assert r.status_code == 201
    assert [c["displayName"] for c in ann.get("/contacts").json()["value"]] == ["In Contacts"]
    assert ann.graph.outlook().count("contacts") == 1


def test_translate_exchange_ids(ann):
    fid = ann.folder()
    c = ann.contact(fid, displayName="A")
    ews_id = ann.graph.outlook().contacts("Business Central")[0]["id"]
    r = ann.post("/translateExchangeIds", {"inputIds": [ews_id, "bogus"], "sourceIdType": "ewsId",
                                           "targetIdType": "restId"})
    assert r.status_code == 200
    ok, bad = r.json()["value"]
    assert ok == {"sourceId": ews_id, "targetId": c["id"]}
    assert bad["errorDetails"]["code"] == "ErrorInvalidIdMalformed"
    immutable = ann.post("/translateExchangeIds", {"inputIds": [c["id"]], "sourceIdType": "restId",
                                                   "targetIdType": "restImmutableEntryId"}).json()["value"][0]
    by_immutable = ann.get(f"/contacts/{immutable['targetId']}", headers={"Prefer": 'IdType="ImmutableId"'})
    assert by_immutable.json()["id"] == immutable["targetId"]
    assert_graph_error(ann.post("/translateExchangeIds", {"inputIds": [ews_id], "sourceIdType": "ewsId",
                                                          "targetIdType": "madeUp"}), 400)
