"""Contact folders over plain HTTP: list, $filter by displayName, create, get, rename, delete, child folders."""

from __future__ import annotations

from .conftest import assert_graph_error


def test_folder_lifecycle(ann):
    fid = ann.folder("Business Central")
    listed = ann.get("/contactFolders").json()["value"]
    assert [f["displayName"] for f in listed] == ["Business Central"]
    default = ann.get("/contactFolders/contacts").json()
    assert listed[0]["parentFolderId"] == default["id"] and default["displayName"] == "Contacts"
    found = ann.get("/contactFolders", params={"$filter": "displayName eq 'business central'"}).json()["value"]
    assert [f["id"] for f in found] == [fid]
    assert ann.get("/contactFolders", params={"$filter": "displayName eq 'Other'"}).json()["value"] == []
    r = ann.patch(f"/contactFolders/{fid}", {"displayName": "BC"})
    assert r.status_code == 200 and r.json()["displayName"] == "BC"
    assert ann.get(f"/contactFolders/{fid}").json()["displayName"] == "BC"
    assert ann.delete(f"/contactFolders/{fid}").status_code == 204
    assert_graph_error(ann.get(f"/contactFolders/{fid}"), 404, "ErrorItemNotFound")
    assert ann.graph.outlook().folders().count("Contacts/BC") == 0


def test_child_folders_and_their_contacts(ann):
    parent = ann.folder("Customers")
    r = ann.post(f"/contactFolders/{parent}/childFolders", {"displayName": "Vienna"})
    assert r.status_code == 201
    child = r.json()["id"]
    assert [f["id"] for f in ann.get(f"/contactFolders/{parent}/childFolders").json()["value"]] == [child]
    c = ann.post(f"/contactFolders/{parent}/childFolders/{child}/contacts", {"displayName": "Wien GmbH"})
    assert c.status_code == 201 and c.json()["parentFolderId"] == child
    assert "Contacts/Customers/Vienna" in ann.graph.outlook().folders()


def test_duplicate_and_bad_folders(ann):
    ann.folder("Business Central")
    assert_graph_error(ann.post("/contactFolders", {"displayName": "business central"}), 409, "ErrorFolderExists")
    assert_graph_error(ann.post("/contactFolders", {"displayName": ""}), 400)
    assert_graph_error(ann.post("/contactFolders", {"displayName": "X", "colour": "red"}), 400, "RequestBodyRead")
    assert_graph_error(ann.get("/contactFolders/AAMk-not-an-id"), 400, "ErrorInvalidIdMalformed")
    assert_graph_error(ann.delete("/contactFolders/contacts"), 400)


def test_folders_made_in_outlook_are_listed(ann):
    ann.graph.outlook().create_folder("Made in Outlook")
    assert [f["displayName"] for f in ann.get("/contactFolders").json()["value"]] == ["Made in Outlook"]
