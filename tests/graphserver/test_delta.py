"""Delta query per folder: pages to a deltaLink, then only changes; updates, deletes and moves;
expired and forged tokens; replays."""

from __future__ import annotations

import urllib.parse

from .conftest import assert_graph_error


def run_delta(client, url: str, page: int | None = None) -> tuple[list[dict], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, requests)."""
    headers = {"Prefer": f"odata.maxpagesize={page}"} if page else {}
    items, requests = [], 0
    while True:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        requests += 1
        body = r.json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], requests
        url = body["@odata.nextLink"]


def test_full_listing_then_only_changes(ann):
    fid = ann.folder()
    made = [ann.contact(fid, displayName=f"C{i}") for i in range(5)]
    items, link, requests = run_delta(ann, f"/contactFolders/{fid}/contacts/delta?$select=displayName", page=2)
    assert requests == 3 and sorted(i["displayName"] for i in items) == [f"C{i}" for i in range(5)]
    assert set(items[0]) == {"@odata.type", "@odata.etag", "id", "displayName"}
    assert "$deltatoken=" in link
    nothing, link, requests = run_delta(ann, link)
    assert nothing == [] and requests == 1
    ann.patch(f"/contacts/{made[1]['id']}", {"displayName": "C1 renamed"})
    ann.delete(f"/contacts/{made[2]['id']}")
    outlook = ann.graph.outlook()
    outlook.create_folder("Elsewhere")
    outlook.move_contact(made[3]["id"], "Elsewhere")
    new = ann.contact(fid, displayName="C5")
    changes, link, _ = run_delta(ann, link)
    by_id = {c["id"]: c for c in changes}
    assert by_id[made[1]["id"]]["displayName"] == "C1 renamed"
    assert set(by_id[made[1]["id"]]) == {"@odata.type", "@odata.etag", "id", "displayName"}  # $select kept
    assert by_id[made[2]["id"]]["@removed"] == {"reason": "deleted"}
    assert by_id[made[3]["id"]]["@removed"] == {"reason": "changed"}
    assert by_id[new["id"]]["displayName"] == "C5"
    assert len(changes) == 4
    assert run_delta(ann, link)[0] == []


def test_delta_function_spellings(ann):
    fid = ann.folder()
    ann.contact(fid, displayName="A")
    for spelling in ("delta()", "microsoft.graph.delta"):
        items, _, _ = run_delta(ann, f"/contactFolders/{fid}/contacts/{spelling}")
        assert [i["displayName"] for i in items] == ["A"]


def test_expired_delta_tokens_are_410_gone(ann):
    fid = ann.folder()
    ann.contact(fid, displayName="A")
    ann.contact(fid, displayName="B")
    first = ann.get(f"/contactFolders/{fid}/contacts/delta", headers={"Prefer": "odata.maxpagesize=1"}).json()
    _, link, _ = run_delta(ann, f"/contactFolders/{fid}/contacts/delta")
    ann.graph.expire_delta_tokens()
    for url in (link, first["@odata.nextLink"]):
        r = ann.get(url)
        assert_graph_error(r, 410, "syncStateNotFound")
        assert urllib.parse.urlparse(r.headers["Location"]).query == "$deltatoken="
    again, _, _ = run_delta(ann, f"/contactFolders/{fid}/contacts/delta")
    assert len(again) == 2


def test_forged_and_foreign_tokens(ann):
    fid, other = ann.folder(), ann.folder("Other")
    _, link, _ = run_delta(ann, f"/contactFolders/{fid}/contacts/delta")
    token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["$deltatoken"][0]
    key, offset, mac = token.split(".")
    assert_graph_error(ann.get(f"/contactFolders/{fid}/contacts/delta",
                               params={"$deltatoken": f"{key}.{int(offset) + 1}.{mac}"}), 400)
    assert_graph_error(ann.get(f"/contactFolders/{other}/contacts/delta", params={"$deltatoken": token}), 400)


def test_replays_send_a_known_item_again(ann):
    fid = ann.folder()
    a = ann.contact(fid, displayName="A")
    _, link, _ = run_delta(ann, f"/contactFolders/{fid}/contacts/delta")
    ann.graph.replay_delta(1)
    again, link, _ = run_delta(ann, link)
    assert [c["id"] for c in again] == [a["id"]]
    assert run_delta(ann, link)[0] == []


def test_immutable_ids_in_delta_across_a_move(ann):
    fid = ann.folder()
    prefer = {"Prefer": 'IdType="ImmutableId"'}
    c = ann.post(f"/contactFolders/{fid}/contacts", {"displayName": "Mover"}, headers=prefer).json()
    r = ann.get(f"/contactFolders/{fid}/contacts/delta", headers=prefer).json()
    assert [i["id"] for i in r["value"]] == [c["id"]]
    outlook = ann.graph.outlook()
    outlook.create_folder("Archive")
    outlook.move_contact(outlook.contacts("Business Central")[0]["id"], "Archive")
    gone = ann.get(r["@odata.deltaLink"], headers=prefer).json()["value"]
    assert gone == [{"@odata.type": "#microsoft.graph.contact", "id": c["id"], "@removed": {"reason": "changed"}}]
