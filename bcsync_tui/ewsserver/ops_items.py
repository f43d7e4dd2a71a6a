"""Item operations: FindItem, GetItem, CreateItem, UpdateItem, DeleteItem, MoveItem, CopyItem."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .contact_dict import props_to_dict
from .contacts_xml import apply_change, parse_new_item, validate_ext
from .render import Shape, item_id_only, render_item
from .mailbox import Folder, Item, Mailbox
from .ops_common import Context, choice, container, error, ok, paging, per_element, required, response, root_folder
from .restrictions import apply_sort, evaluate, item_getter, parse_sort
from .soap import EwsError, el, local_name, m, schema_error, sub, t

CONFLICT_CHOICES = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")
DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")
_ID_TAGS = ("ItemId", "OccurrenceItemId", "RecurringMasterItemId")


def _folder_of(mbx: Mailbox, item: Item) -> Folder:
    return mbx.folders[item.folder]


def find_item(ctx: Context, body: ET.Element) -> ET.Element:
    traversal = choice(body, "Traversal", ("Shallow", "Deep", "SoftDeleted", "Associated"), "Shallow")
    shape = Shape(body.find(m("ItemShape")))
    view = next((c for c in body if local_name(c.tag) in ("IndexedPageItemView", "FractionalPageItemView",
                                                           "ContactsView", "CalendarView")), None)
    restriction = body.find(m("Restriction"))
    orders = parse_sort(body.find(m("SortOrder")))
    query = body.findtext(m("QueryString"))
    parents = body.find(m("ParentFolderIds"))
    if parents is None:
        raise schema_error("FindItem needs ParentFolderIds.")
    msgs = []
    for pid in parents:
        try:
            mbx, folder = ctx.resolve_folder(pid)
            if traversal in ("SoftDeleted", "Associated"):
                found: list[Item] = []
            elif traversal == "Deep":
                found = list(folder.items.values())
                for f in mbx.descendants(folder):
                    found.extend(f.items.values())
            else:
                found = list(folder.items.values())
            getter = lambda it, mbx=mbx: item_getter(it, mbx, _folder_of(mbx, it))  # noqa: E731
            if restriction is not None and len(restriction):
                found = [it for it in found if evaluate(restriction[0], getter(it))]
            if query:
                q = query.strip().strip('"').casefold()
                found = [it for it in found if q in " ".join(
                    "".join(e.itertext()) for e in it.props.values()).casefold()]
            if view is not None and local_name(view.tag) == "ContactsView":
                lo, hi = (view.get("InitialName") or "").casefold(), (view.get("FinalName") or "").casefold()

                def name_of(it: Item) -> str:
                    e = it.props.get("FileAs") or it.props.get("DisplayName")
                    return (e.text or "").casefold() if e is not None else ""
                found = [it for it in found if (not lo or name_of(it) >= lo) and (not hi or name_of(it) <= hi)]
            if orders:
                found = apply_sort(found, orders, getter)
            total = len(found)
            offset, limit = paging(view if view is not None and local_name(view.tag) != "CalendarView" else None,
                                   total)
            page = found[offset:offset + limit]
            items = el(t("Items"), children=[render_item(it, mbx, _folder_of(mbx, it), shape) for it in page])
            msgs.append(ok("FindItem", root_folder(offset, len(page), total, items)))
        except EwsError as e:
            msgs.append(error("FindItem", e))
    return response("FindItem", msgs)


def _check_fault(ctx: Context, index: int, mbx: Mailbox, item: Item) -> None:
    fault = ctx.item_fault(index, lambda: props_to_dict(item.props, item.ext))
    if fault:
        raise fault


def get_item(ctx: Context, body: ET.Element) -> ET.Element:
    shape = Shape(body.find(m("ItemShape")))

    def one(index: int, iid: ET.Element) -> list[ET.Element]:
        mbx, item = ctx.resolve_item(iid)
        _check_fault(ctx, index, mbx, item)
        return [container("Items", render_item(item, mbx, _folder_of(mbx, item), shape))]
    return per_element("GetItem", required(body, "ItemIds", "GetItem"), one)


def create_item(ctx: Context, body: ET.Element) -> ET.Element:
    items = required(body, "Items", "CreateItem")
    parsed: list[tuple[str, dict, dict] | EwsError] = []
    for spec in items:  # validate everything first: a schema error fails the whole request, as in Exchange
        try:
            parsed.append(parse_new_item(spec))
        except EwsError as e:
            parsed.append(e)
    target_holder = body.find(m("SavedItemFolderId"))
    target: tuple[Mailbox, Folder] | EwsError | None = None
    if target_holder is not None:
        try:
            target = ctx.one_folder(target_holder, "SavedItemFolderId")
        except EwsError as e:
            target = e

    def one(index: int, entry: tuple[str, dict, dict] | EwsError) -> list[ET.Element]:
        if isinstance(entry, EwsError):
            raise entry
        tag, props, ext = entry
        if isinstance(target, EwsError):
            raise target
        mbx, folder = target if target is not None else (
            ctx.user, ctx.user.distinguished("contacts" if tag in ("Contact", "DistributionList") else "drafts"))
        validate_ext(ext)
        fault = ctx.item_fault(index, lambda: props_to_dict(props, ext))
        if fault:
            raise fault
        item = mbx.add_item(folder, tag, props, ext, ctx.now)
        ctx.wrote()
        return [container("Items", item_id_only(item, mbx))]
    return per_element("CreateItem", parsed, one)


def update_item(ctx: Context, body: ET.Element) -> ET.Element:
    resolution = choice(body, "ConflictResolution", CONFLICT_CHOICES, "AutoResolve")

    def one(index: int, change: ET.Element) -> list[ET.Element]:
        ids = [c for c in change if local_name(c.tag) in _ID_TAGS]
        if len(ids) != 1:
            raise schema_error("ItemChange needs one ItemId.")
        mbx, item = ctx.resolve_item(ids[0])
        ck = ids[0].get("ChangeKey")
        if ck:
            cn = mbx.parse_changekey(ck)
            if cn != item.cn and resolution == "NeverOverwrite":
                raise EwsError("ErrorIrresolvableConflict", "The send or update operation could not be "
                               "performed because the change key passed in the request does not match the "
                               "current change key for the item.")
        _check_fault(ctx, index, mbx, item)
        props, ext = dict(item.props), dict(item.ext)
        updates = change.find(t("Updates"))
        for u in updates if updates is not None else ():
            if local_name(u.tag) not in ("SetItemField", "AppendToItemField", "DeleteItemField"):
                raise schema_error(f"The element '{local_name(u.tag)}' is invalid in Updates.")
            apply_change(props, ext, u)
        item.props, item.ext = props, ext
        mbx.touch(item, ctx.now)
        ctx.wrote()
        conflicts = el(m("ConflictResults"))
        sub(conflicts, t("Count"), text="0")
        return [container("Items", item_id_only(item, mbx)), conflicts]
    return per_element("UpdateItem", required(body, "ItemChanges", "UpdateItem"), one)


def _dumpster(mbx: Mailbox) -> Folder | None:
    return mbx.distinguished("recoverableitemsdeletions")


def delete_item(ctx: Context, body: ET.Element) -> ET.Element:
    delete_type = choice(body, "DeleteType", DELETE_TYPES, "")

    def one(index: int, iid: ET.Element) -> list[ET.Element]:
        mbx, item = ctx.resolve_item(iid)
        if iid.get("ChangeKey") is not None:  # one that cannot be parsed is refused; a stale one is ignored
            mbx.parse_changekey(iid.get("ChangeKey") or "")
        _check_fault(ctx, index, mbx, item)
        trash, dumpster = mbx.distinguished("deleteditems"), _dumpster(mbx)
        in_trash = trash is not None and item.folder == trash.serial
        if delete_type == "MoveToDeletedItems" and trash is not None and not in_trash:
            mbx.move_item(item, trash, ctx.now)
        elif delete_type != "HardDelete" and dumpster is not None and item.folder != dumpster.serial:
            mbx.move_item(item, dumpster, ctx.now)
        else:
            mbx.remove_item(item)
        ctx.wrote()
        return []
    return per_element("DeleteItem", required(body, "ItemIds", "DeleteItem"), one, empty=None)


def _move_or_copy(ctx: Context, body: ET.Element, op: str) -> ET.Element:
    ids = required(body, "ItemIds", op)
    return_ids = body.get("ReturnNewItemIds", "true").lower() in ("true", "1")
    try:
        tmbx, target = ctx.one_folder(body.find(m("ToFolderId")), "ToFolderId")
    except EwsError as e:
        return response(op, [error(op, e, container("Items")) for _ in ids])

    def one(index: int, iid: ET.Element) -> list[ET.Element]:
        mbx, item = ctx.resolve_item(iid)
        _check_fault(ctx, index, mbx, item)
        if op == "MoveItem":
            if mbx is tmbx:
                new = mbx.move_item(item, target, ctx.now)
            else:
                new = tmbx.add_item(target, item.tag, item.props, item.ext, ctx.now, created=item.created)
                mbx.remove_item(item)
        else:  # a copy keeps every property, extended ones included, as in Outlook
            new = tmbx.copy_item(item, target, ctx.now)
        ctx.wrote()
        return [container("Items", *([item_id_only(new, tmbx)] if return_ids else []))]
    return per_element(op, ids, one)


def move_item(ctx: Context, body: ET.Element) -> ET.Element:
    return _move_or_copy(ctx, body, "MoveItem")


def copy_item(ctx: Context, body: ET.Element) -> ET.Element:
    return _move_or_copy(ctx, body, "CopyItem")


HANDLERS = {"FindItem": find_item, "GetItem": get_item, "CreateItem": create_item, "UpdateItem": update_item,
            "DeleteItem": delete_item, "MoveItem": move_item, "CopyItem": copy_item}
