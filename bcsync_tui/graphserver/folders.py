"""Contact folders: ``/contactFolders`` (the folders in the default Contacts folder), ``/{id}``,
``/{id}/childFolders``; list (``$filter=displayName eq '…'``, ``$top``), create, get, rename, delete."""

from __future__ import annotations

from typing import Any

from ..ewsserver.mailbox import Folder, Mailbox
from . import ids, odata
from .calls import Call, Reply
from .errors import GraphError, bad_request, method_not_allowed, unknown_property, wrong_type

FOLDER_TYPE = "microsoft.graph.contactFolder"
FOLDER_PROPERTIES = {"id", "displayName", "parentFolderId"}


def folder_json(mbx: Mailbox, folder: Folder) -> dict[str, Any]:
    parent = mbx.folders.get(folder.parent) if folder.parent is not None else None
    return {"id": ids.folder_id(mbx, folder), "displayName": folder.name,
            "parentFolderId": ids.folder_id(mbx, parent) if parent is not None else None}


def _contact_folders(mbx: Mailbox, parent: Folder) -> list[Folder]:
    return [f for f in mbx.children(parent) if f.folder_class.startswith("IPF.Contact")]


def _name(body: Any, required: bool) -> str | None:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for k in body:
        if k not in FOLDER_PROPERTIES and not k.startswith("@odata."):
            raise unknown_property(k, FOLDER_TYPE)
    name = body.get("displayName")
    if name is not None and not isinstance(name, str):
        raise wrong_type()
    if required and not (name or "").strip():
        raise GraphError(400, "ErrorInvalidRequest", "The folder name must not be empty.")
    return name


def list_folders(call: Call, parent: Folder) -> Reply:
    mbx = call.mailbox
    rows = [folder_json(mbx, f) for f in _contact_folders(mbx, parent)]
    if "$filter" in call.query:
        pred = odata.parse_filter(call.query["$filter"])
        rows = [r for r in rows if odata.matches(pred, r)]
    if "$select" in call.query:
        keep = set(odata.parse_select(call.query["$select"], FOLDER_PROPERTIES, FOLDER_TYPE)) | {"id"}
        rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
    return Reply(200, {"@odata.context": call.context("contactFolders"), "value": rows[:call.top(100)]})


def create_folder(call: Call, parent: Folder) -> Reply:
    name = _name(call.body, True)
    mbx = call.mailbox
    name = (name or "").strip()
    if any(c.name.lower() == name.lower() for c in mbx.children(parent)):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    folder = mbx.add_folder(parent, name, "IPF.Contact")
    call.store.changed()
    return Reply(201, {"@odata.context": call.context("contactFolders/$entity"), **folder_json(mbx, folder)})


def folder_call(call: Call, folder: Folder) -> Reply:
    mbx = call.mailbox
    if call.method == "GET":
        return Reply(200, {"@odata.context": call.context("contactFolders/$entity"), **folder_json(mbx, folder)})
    if call.method == "PATCH":
        name = _name(call.body, False)
        if name is not None:
            if not name.strip():
                raise GraphError(400, "ErrorInvalidRequest", "The folder name must not be empty.")
            siblings = mbx.children(mbx.folders[folder.parent]) if folder.parent in mbx.folders else []
            if any(c is not folder and c.name.lower() == name.strip().lower() for c in siblings):
                raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            folder.name, folder.cn = name.strip(), mbx.new_cn()
            call.store.changed()
        return Reply(200, {"@odata.context": call.context("contactFolders/$entity"), **folder_json(mbx, folder)})
    if call.method == "DELETE":
        if folder.distinguished:
            raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
        mbx.delete_folder_tree(folder)
        call.store.changed()
        return Reply(204)
    raise method_not_allowed()
