"""JSON batching: limits, unique ids, dependsOn and 424, shuffled answers, per-request 429 and errors."""

from __future__ import annotations

from .conftest import ANN, assert_graph_error


def creates(fid: str, n: int, start: int = 0) -> list[dict]:
    return [{"id": str(i + 1), "method": "POST", "url": f"/me/contactFolders/{fid}/contacts",
             "headers": {"Content-Type": "application/json"},
             "body": {"displayName": f"C{start + i}", "emailAddresses": [{"address": f"c{start + i}@example.com"}]}}
            for i in range(n)]


def test_twenty_creates_in_one_batch_answered_in_any_order(ann):
    fid = ann.folder()
    r = ann.post("/$batch", {"requests": creates(fid, 20)})
    assert r.status_code == 200
    answers = r.json()["responses"]
    assert sorted(int(a["id"]) for a in answers) == list(range(1, 21))
    assert [a["id"] for a in answers] != [str(i) for i in range(1, 21)]  # shuffled (1 in 20! to fail)
    assert all(a["status"] == 201 and a["body"]["displayName"] for a in answers)
    assert ann.graph.outlook().count("Business Central") == 20
    assert ann.graph.stats.count("batch") == 1 and ann.graph.stats.count("createContact") == 20
    assert ann.graph.stats.writes == 21  # the folder and the contacts


def test_batch_limits(ann):
    fid = ann.folder()
    assert_graph_error(ann.post("/$batch", {"requests": creates(fid, 21)}), 400, "BadRequest")
    twice = creates(fid, 2)
    twice[1]["id"] = "1"
    assert_graph_error(ann.post("/$batch", {"requests": twice}), 400, "BadRequest")
    no_type = creates(fid, 1)
    del no_type[0]["headers"]
    assert_graph_error(ann.post("/$batch", {"requests": no_type}), 400)
    assert_graph_error(ann.post("/$batch", {"requests": []}), 400)
    assert_graph_error(ann.post("/$batch", {"requests": "all of them"}), 400)
    assert ann.graph.outlook().count("Business Central") == 0


def test_depends_on_orders_and_a_failed_dependency_gives_424(ann):
    fid = ann.folder()
    first = creates(fid, 1)[0]
    bad = {"id": "2", "method": "PATCH", "url": "/me/contacts/AAMkAnotAnId", "dependsOn": ["1"],
           "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "x"}}
    after_bad = {"id": "3", "method": "GET", "url": f"/me/contactFolders/{fid}/contacts", "dependsOn": ["2"]}
    list_after_first = {"id": "4", "method": "GET", "url": f"/me/contactFolders/{fid}/contacts?$select=displayName",
                        "dependsOn": ["1"]}
    answers = {a["id"]: a for a in ann.post("/$batch", {"requests": [first, bad, after_bad, list_after_first]})
               .json()["responses"]}
    assert answers["1"]["status"] == 201
    assert answers["2"]["status"] == 400 and answers["2"]["body"]["error"]["code"] == "ErrorInvalidIdMalformed"
    assert answers["3"]["status"] == 424
    assert [c["displayName"] for c in answers["4"]["body"]["value"]] == ["C0"]


def test_a_throttled_request_gets_its_own_429_inside_the_200(ann):
    fid = ann.folder()
    ann.graph.faults.throttle(count=2, backoff_ms=3000, operation="createContact")
    r = ann.post("/$batch", {"requests": creates(fid, 5)})
    assert r.status_code == 200
    statuses = sorted(a["status"] for a in r.json()["responses"])
    assert statuses == [201, 201, 201, 429, 429]
    throttled = [a for a in r.json()["responses"] if a["status"] == 429]
    assert all(a["headers"]["Retry-After"] == "3" for a in throttled)
    assert all(a["body"]["error"]["code"] == "TooManyRequests" for a in throttled)
    assert ann.graph.outlook().count("Business Central") == 3


def test_per_request_errors_chosen_by_email(ann):
    fid = ann.folder()
    ann.graph.faults.item_errors({"c3@example.com": "ErrorQuotaExceeded", 0: "ErrorServerBusy"}, count=None)
    answers = {a["id"]: a for a in ann.post("/$batch", {"requests": creates(fid, 5)}).json()["responses"]}
    assert answers["4"]["status"] == 507 and answers["4"]["body"]["error"]["code"] == "ErrorQuotaExceeded"
    assert answers["1"]["status"] == 429 and "Retry-After" in answers["1"]["headers"]
    assert {answers[i]["status"] for i in "235"} == {201}


def test_an_application_batches_for_a_user(app_client):
    r = app_client.post("/$batch", {"requests": [
        {"id": "a", "method": "POST", "url": f"/users/{ANN}/contactFolders", "body": {"displayName": "BC"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "b", "method": "GET", "url": "/me/contactFolders"}]})
    answers = {a["id"]: a for a in r.json()["responses"]}
    assert answers["a"]["status"] == 201 and answers["b"]["status"] == 400


def test_batch_needs_a_token(graph):
    import requests
    r = requests.post(graph.graph_url + "/$batch", json={"requests": []}, verify=graph.ca_file, timeout=10)
    assert_graph_error(r, 401, "InvalidAuthenticationToken")
