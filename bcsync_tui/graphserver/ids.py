"""Graph ids of the shared mailbox model.

A Graph REST id is the EWS id with ``/`` and ``+`` replaced by ``-`` and ``_`` (URL-safe), as Exchange Online
does it, so it changes when the item moves. With ``Prefer: IdType="ImmutableId"`` items get an immutable
id instead, built from the item's origin serial, which moves keep. Both forms are accepted everywhere.
"""

from __future__ import annotations

from ..ewsserver.mailbox import KIND_FOLDER, KIND_IMMUTABLE, KIND_ITEM, Folder, Item, Mailbox, Store
from ..ewsserver.soap import EwsError
from .errors import GraphError, not_found


def to_rest(ews_id: str) -> str:
    return ews_id.replace("/", "-").replace("+", "_")


def to_ews(rest_id: str) -> str:
    return rest_id.replace("-", "/").replace("_", "+")


def item_id(mbx: Mailbox, item: Item, immutable: bool) -> str:
    return to_rest(mbx.make_id(KIND_IMMUTABLE, item.origin) if immutable else mbx.item_id(item))


def removed_id(mbx: Mailbox, serial: int, origin: int, immutable: bool) -> str:
    return to_rest(mbx.make_id(KIND_IMMUTABLE, origin) if immutable else mbx.item_id(serial))


def folder_id(mbx: Mailbox, folder: Folder) -> str:
    return to_rest(mbx.folder_id(folder))


def _malformed() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def find_item(store: Store, mbx: Mailbox, value: str) -> Item:
    """The item of ``mbx`` with this REST or immutable id; 400 for a malformed id, 404 if it is not there."""
    raw = to_ews(value)
    for kind in (KIND_ITEM, KIND_IMMUTABLE):
        try:
            owner, serial = store.decode_id(raw, kind)
        except EwsError as e:
            if e.code == "ErrorInvalidIdMalformed":
                continue
            raise not_found() from None
        item = None
        if owner is mbx:
            item = mbx.items.get(serial) if kind == KIND_ITEM else mbx.item_by_origin(serial)
        if item is None:
            raise not_found()
        return item
    raise _malformed()


def find_folder(store: Store, mbx: Mailbox, value: str) -> Folder:
    """A folder by id, or the well-known name ``contacts``."""
    if value.lower() == "contacts":
        folder = mbx.distinguished("contacts")
        if folder is not None:
            return folder
    try:
        owner, serial = store.decode_id(to_ews(value), KIND_FOLDER)
    except EwsError as e:
        if e.code in ("ErrorInvalidIdMalformed", "ErrorInvalidFolderId", "ErrorInvalidIdEmpty"):
            raise _malformed() from None
        raise not_found() from None
    folder = mbx.folders.get(serial) if owner is mbx else None
    if folder is None:
        raise not_found()
    return folder


ID_TYPES = ("ewsId", "restId", "restImmutableEntryId")
MAX_TRANSLATE = 1000


def translate(store: Store, mbx: Mailbox, body: object) -> list[dict]:
    """``POST /me/translateExchangeIds``: EWS ids, REST ids and immutable ids of items into one another."""
    if not isinstance(body, dict) or not isinstance(body.get("inputIds"), list):
        raise GraphError(400, "BadRequest", "The request body must carry 'inputIds'.")
    source, target = body.get("sourceIdType"), body.get("targetIdType")
    if source not in ID_TYPES or target not in ID_TYPES:
        raise GraphError(400, "BadRequest", f"sourceIdType and targetIdType must be among {', '.join(ID_TYPES)}.")
    if len(body["inputIds"]) > MAX_TRANSLATE:
        raise GraphError(400, "BadRequest", f"At most {MAX_TRANSLATE} ids can be translated at once.")
    out: list[dict] = []
    for value in body["inputIds"]:
        if not isinstance(value, str):
            raise GraphError(400, "BadRequest", "Every input id must be a string.")
        try:
            item = find_item(store, mbx, to_rest(value) if source == "ewsId" else value)
        except GraphError as e:
            out.append({"sourceId": value, "errorDetails": {"code": e.code, "message": e.message}})
            continue
        rest = item_id(mbx, item, target == "restImmutableEntryId")
        out.append({"sourceId": value, "targetId": to_ews(rest) if target == "ewsId" else rest})
    return out
