"""``POST /v1.0/$batch``: at most 20 requests with unique ids, ``dependsOn`` ordering (a request whose
dependency failed gets 424), answers in shuffled order, each with its own status, headers and body.
Each request meets the fault rules under its own operation: a throttled one gets 429 with Retry-After
inside the 200, ``item_errors`` fail chosen ones."""

from __future__ import annotations

import json
import random
import urllib.parse
from typing import Any

from ..ewsserver.contact_dict import props_to_dict
from . import ids
from .calls import Reply
from .errors import GraphError, error_body, throttled
from .faults import ITEM_STATUS

MAX_REQUESTS = 20
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def parse_batch(body: bytes) -> list[dict[str, Any]]:
    """The requests of a batch body, checked; 400 for a malformed or too large batch."""
    try:
        doc = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad("Invalid batch payload format.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("requests"), list):
        raise _bad("Invalid batch payload format.")
    requests = doc["requests"]
    if not requests:
        raise _bad("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise _bad(f"The number of batch requests exceeds the limit of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for r in requests:
        if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not r["id"]:
            raise _bad("Invalid batch payload format.")
        if r["id"].lower() in seen:
            raise _bad(f"Batch request id '{r['id']}' is duplicated.")
        seen.add(r["id"].lower())
        if not isinstance(r.get("method"), str) or r["method"].upper() not in _METHODS:
            raise _bad(f"Invalid method in request '{r['id']}'.")
        if not isinstance(r.get("url"), str) or not r["url"]:
            raise _bad(f"Invalid url in request '{r['id']}'.")
        deps = r.get("dependsOn", [])
        if not isinstance(deps, list) or any(not isinstance(d, str) for d in deps):
            raise _bad(f"Invalid dependsOn in request '{r['id']}'.")
        headers = r.get("headers") or {}
        if not isinstance(headers, dict):
            raise _bad(f"Invalid headers in request '{r['id']}'.")
        if "body" in r and r["body"] is not None and not any(k.lower() == "content-type" for k in headers):
            raise _bad(f"Content-Type header is required for request '{r['id']}' with a body.")
    ids_ = {r["id"].lower() for r in requests}
    for r in requests:
        for d in r.get("dependsOn", []):
            if d.lower() not in ids_ or d.lower() == r["id"].lower():
                raise _bad(f"Request '{r['id']}' depends on an unknown request '{d}'.")
    return requests


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first; the rest in any order."""
    done: set[str] = set()
    out: list[dict[str, Any]] = []
    pending = list(requests)
    random.shuffle(pending)
    while pending:
        ready = [r for r in pending if all(d.lower() in done for d in r.get("dependsOn", []))]
        if not ready:
            raise _bad("The dependsOn of the batch requests form a cycle.")
        for r in ready:
            out.append(r)
            done.add(r["id"].lower())
            pending.remove(r)
    return out


def _item_info(app, principal, r: dict[str, Any]) -> dict:
    """The Outlook-user dict of the contact a request creates or acts on, for ``item_errors`` matchers."""
    body = r.get("body")
    if isinstance(body, dict):
        emails = [e.get("address") for e in body.get("emailAddresses") or [] if isinstance(e, dict)]
        return {f"email{i + 1}": e for i, e in enumerate(emails[:3]) if isinstance(e, str)}
    parts = [p for p in r["url"].split("?", 1)[0].split("/") if p]
    if principal.delegated and len(parts) >= 3 and parts[-2].lower() == "contacts":
        try:
            with app.store.lock:
                mbx = app.store.mailbox(principal.user or "")
                return props_to_dict(ids.find_item(app.store, mbx, parts[-1]).props, {}) if mbx else {}
        except GraphError:
            return {}
    return {}


def run_batch(app, principal, requests: list[dict[str, Any]], request_id: int) -> Reply:
    index = {r["id"].lower(): i for i, r in enumerate(requests)}
    failed: set[str] = set()
    answers: list[dict[str, Any]] = []
    for r in _order(requests):
        rid = r["id"]
        if any(d.lower() in failed for d in r.get("dependsOn", [])):
            failed.add(rid.lower())
            answers.append(_answer(rid, Reply(424, error_body("FailedDependency", "A request on which this "
                                                              "request depends failed.", rid))))
            continue
        reply = _one(app, principal, r, request_id, index[rid.lower()])
        if reply.status >= 400:
            failed.add(rid.lower())
        answers.append(_answer(rid, reply))
    random.shuffle(answers)
    return Reply(200, {"responses": answers})


def _one(app, principal, r: dict[str, Any], request_id: int, position: int) -> Reply:
    url = r["url"]
    path, _, qs = (url[len("/v1.0"):] if url.lower().startswith("/v1.0/") else url).lstrip("/").partition("?")
    segments = [urllib.parse.unquote(p) for p in path.split("/") if p]
    headers = {k.lower(): str(v) for k, v in (r.get("headers") or {}).items()}
    try:
        method = r["method"].upper()
        query = app._query(qs)
        sub_op = app.dispatch_operation(principal, method, segments)
        action = app.faults.before(sub_op, app.new_request_id())  # each request of a batch meets the rules
        if action is not None:
            raise (throttled(action.params.get("backoff_ms"), action.params.get("status"))
                   if action.kind == "throttle" else
                   GraphError(500, "InternalServerError", "An internal server error occurred."))
        if app.faults.has_item_rules(sub_op, request_id):
            hit = app.faults.item_error(sub_op, request_id, position, lambda: _item_info(app, principal, r))
            if hit is not None:
                code, message, backoff = hit
                status = ITEM_STATUS.get(code, 500)
                if status == 429:
                    raise throttled(backoff, 429)
                raise GraphError(status, code, message or "The request failed.")
        return app.dispatch(principal, method, segments, query, headers, r.get("body"),
                            app.graph_url + "/" + path + ("?" + qs if qs else ""), request_id, in_batch=True)
    except GraphError as e:
        return Reply(e.status, error_body(e.code, e.message, r["id"]), e.headers)


def _answer(rid: str, reply: Reply) -> dict[str, Any]:
    headers = {"Cache-Control": "private", **reply.headers}
    if reply.body is not None:
        headers["Content-Type"] = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
    out: dict[str, Any] = {"id": rid, "status": reply.status, "headers": headers}
    if reply.body is not None:
        out["body"] = reply.body
    return out
