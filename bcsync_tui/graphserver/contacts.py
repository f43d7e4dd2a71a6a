"""Contacts: list (``$select``, ``$top``/``$skip`` paging by ``@odata.nextLink``, ``$filter``, ``$orderby``,
``$expand`` of extended properties), create, get, PATCH, DELETE (to Deleted Items) and ``permanentDelete``
(to Recoverable Items' Purges). ``If-Match`` with a stale etag gives 412 unless the server ignores it."""

from __future__ import annotations

import urllib.parse
from typing import Any

from ..ewsserver.mailbox import Folder, Item
from ..ewsserver.soap import el, t
from . import odata
from .calls import Call, Reply
from .errors import GraphError, method_not_allowed
from .mapping import CONTACT_TYPE, NAVIGATION, PROPERTIES, apply_contact, contact_json, extended_properties

EXPANDABLE = {"singleValueExtendedProperties", "multiValueExtendedProperties"}
_QUERY_OPTIONS = {"$select", "$top", "$skip", "$filter", "$expand", "$orderby", "$count", "$deltatoken",
                  "$skiptoken", "$format"}


class Shape:
    """What to answer for each contact: ``$select`` and ``$expand`` of one call."""

    def __init__(self, call: Call):
        for k in call.query:
            if k.startswith("$") and k.lower() not in _QUERY_OPTIONS:
                raise GraphError(400, "BadRequest", f"Query option '{k}' is not allowed.")
        sel = call.query.get("$select")
        self.select = odata.parse_select(sel, PROPERTIES, CONTACT_TYPE) if sel else None
        exp = call.query.get("$expand")
        self.expand = odata.parse_expand(exp, EXPANDABLE, CONTACT_TYPE) if exp else []
        self.immutable = call.immutable

    def render(self, call: Call, item: Item, folder: Folder, full: dict[str, Any] | None = None) -> dict[str, Any]:
        full = full or cached_json(call, item, folder, self.immutable)
        out = full if self.select is None else {
            "@odata.etag": full["@odata.etag"], "id": full["id"], **{k: full[k] for k in self.select}}
        for e in self.expand:
            if e.name == "singleValueExtendedProperties":
                props = extended_properties(item)
                if e.filter is not None:
                    props = [p for p in props if odata.matches(e.filter, p)]
                out = {**out, "singleValueExtendedProperties@odata.context": call.context(
                    f"contacts('{full['id']}')/singleValueExtendedProperties"), "singleValueExtendedProperties": props}
            else:
                out = {**out, "multiValueExtendedProperties": []}
        return out


def cached_json(call: Call, item: Item, folder: Folder, immutable: bool, *, with_ext: bool = False
                ) -> dict[str, Any]:
    """The full JSON of an item (with ``with_ext``: plus every extended property, what ``$filter`` sees),
    kept per change number so listing and filtering a big folder renders each contact once. Callers
    build new dicts around it and never change it."""
    cache = call.store.__dict__.setdefault("_graph_json_cache", {})
    key = (call.mailbox.guid, item.serial, immutable, with_ext)
    hit = cache.get(key)
    if hit is None or hit[0] != item.cn:
        doc = contact_json(item, call.mailbox, folder, immutable=immutable)
        if with_ext:
            doc = {**doc, "singleValueExtendedProperties": extended_properties(item)}
        hit = cache[key] = (item.cn, doc)
    return hit[1]


def searchable(call: Call, item: Item, folder: Folder) -> dict[str, Any]:
    return cached_json(call, item, folder, call.immutable, with_ext=True)


def list_contacts(call: Call, folder: Folder) -> Reply:
    shape = Shape(call)
    items = list(folder.items.values())
    if "$filter" in call.query:
        pred = odata.parse_filter(call.query["$filter"])
        items = [it for it in items if odata.matches(pred, searchable(call, it, folder))]
    if "$orderby" in call.query:
        key, desc = odata.parse_orderby(call.query["$orderby"], PROPERTIES, CONTACT_TYPE)
        items.sort(key=lambda it: str(cached_json(call, it, folder, False)[key] or "").casefold(), reverse=desc)
    top = call.top()
    raw_skip = call.query.get("$skip", "0")
    if not raw_skip.isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw_skip}' for $skip.")
    skip = int(raw_skip)
    page = items[skip:skip + top]
    body: dict[str, Any] = {"@odata.context": call.context(_collection(call, shape)),
                            "value": [shape.render(call, it, folder) for it in page]}
    if "$count" in call.query and call.query["$count"].lower() == "true":
        body["@odata.count"] = len(items)
    if skip + top < len(items):
        query = {**call.query, "$top": str(top), "$skip": str(skip + top)}
        body["@odata.nextLink"] = call.request_url.split("?", 1)[0] + "?" + urllib.parse.urlencode(
            query, quote_via=urllib.parse.quote, safe="$,'()/:=")
    return Reply(200, body)


def _collection(call: Call, shape: Shape) -> str:
    return "contacts" + (f"({','.join(shape.select)})" if shape.select else "")


def create_contact(call: Call, folder: Folder) -> Reply:
    props: dict = {}
    ext: dict = {}
    apply_contact(props, ext, call.body)
    if "DisplayName" not in props:
        parts = [props[k].text for k in ("GivenName", "MiddleName", "Surname") if k in props and props[k].text]
        name = " ".join(parts) or (props["CompanyName"].text if "CompanyName" in props else "")
        if name:
            props["DisplayName"] = el(t("DisplayName"), text=name)
    mbx = call.mailbox
    item = mbx.add_item(folder, "Contact", props, ext, call.store.now())
    call.store.changed()
    shape = Shape(call)
    return Reply(201, {"@odata.context": call.context("contacts/$entity"), **shape.render(call, item, folder)})


def check_if_match(call: Call, item: Item, ignore: bool) -> None:
    tag = call.headers.get("if-match")
    if tag is None or ignore or tag.strip() == "*":
        return
    current = call.mailbox.item_changekey(item)
    wanted = tag.strip().removeprefix("W/").strip('"')
    if wanted != current:
        raise GraphError(412, "ErrorIrresolvableConflict", "The send or update operation could not be performed "
                         "because the change key passed in the request does not match the current change key for "
                         "the item.")


def contact_call(call: Call, item: Item, ignore_if_match: bool) -> Reply:
    mbx = call.mailbox
    folder = mbx.folders[item.folder]
    if call.method == "GET":
        shape = Shape(call)
        return Reply(200, {"@odata.context": call.context("contacts/$entity"), **shape.render(call, item, folder)})
    if call.method == "PATCH":
        check_if_match(call, item, ignore_if_match)
        if isinstance(call.body, dict) and any(k in NAVIGATION - {"singleValueExtendedProperties"}
                                               for k in call.body):
            raise GraphError(400, "ErrorInvalidProperty", "Navigation properties cannot be patched.")
        props, ext = dict(item.props), dict(item.ext)
        apply_contact(props, ext, call.body)
        item.props, item.ext = props, ext
        mbx.touch(item, call.store.now())
        call.store.changed()
        shape = Shape(call)
        return Reply(200, {"@odata.context": call.context("contacts/$entity"), **shape.render(call, item, folder)})
    if call.method == "DELETE":
        check_if_match(call, item, ignore_if_match)
        trash = mbx.distinguished("deleteditems")
        in_trash = trash is not None and item.folder == trash.serial
        return _bin(call, item, "recoverableitemsdeletions" if in_trash else "deleteditems")
    raise method_not_allowed()


def permanent_delete(call: Call, item: Item) -> Reply:
    if call.method != "POST":
        raise method_not_allowed()
    return _bin(call, item, "recoverableitemspurges")


def _bin(call: Call, item: Item, folder: str) -> Reply:
    """Move a deleted item to the distinguished folder ``folder`` (gone for good if the mailbox has none)."""
    target = call.mailbox.distinguished(folder)
    if target is not None:
        call.mailbox.move_item(item, target, call.store.now())
    else:
        call.mailbox.remove_item(item)
    call.store.changed()
    return Reply(204)
