"""Folder operations: GetFolder, FindFolder, CreateFolder, UpdateFolder, MoveFolder, DeleteFolder, EmptyFolder."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .contacts_xml import uri_element
from .mailbox import Folder, Mailbox
from .ops_common import Context, choice, container, error, ok, paging, per_element, required, response, root_folder
from .restrictions import evaluate, folder_getter, unread_count
from .soap import EwsError, el, local_name, m, schema_error, sub, t

FOLDER_ORDER = {n: i for i, n in enumerate(
    "FolderId ParentFolderId FolderClass DisplayName TotalCount ChildFolderCount ExtendedProperty "
    "ManagedFolderInformation EffectiveRights DistinguishedFolderId PolicyTag ArchiveTag ReplicaList "
    "SharingEffectiveRights PermissionSet UnreadCount".split())}
_ELEMENT_FOR_CLASS = (("IPF.Contact", "ContactsFolder"), ("IPF.Appointment", "CalendarFolder"),
                      ("IPF.Task", "TasksFolder"))
#: The FolderClass a new folder gets when the request names none. A plain ``Folder`` gets none at all, as in
#: Exchange (exchangelib's test_folder expects such a folder to come back as a generic Folder, not Messages).
_CLASS_FOR_ELEMENT = {"ContactsFolder": "IPF.Contact", "CalendarFolder": "IPF.Appointment",
                      "TasksFolder": "IPF.Task", "Folder": "", "SearchFolder": "IPF.Note"}


def folder_element(folder: Folder) -> str:
    cls = folder.folder_class or ""
    for prefix, name in _ELEMENT_FOR_CLASS:
        if cls == prefix or cls.startswith(prefix + "."):
            return name
    return "Folder"


class FolderShape:
    def __init__(self, elem: ET.Element | None):
        base = elem.find(t("BaseShape")) if elem is not None else None
        if elem is not None and (base is None or base.text not in ("IdOnly", "Default", "AllProperties")):
            raise schema_error("FolderShape BaseShape is missing or invalid.")
        self.base = base.text if base is not None else "IdOnly"
        self.fields = {"FolderId"}
        if self.base == "Default":
            self.fields |= {"DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"}
        elif self.base == "AllProperties":
            self.fields |= {"ParentFolderId", "FolderClass", "DisplayName", "TotalCount", "ChildFolderCount",
                            "UnreadCount", "EffectiveRights", "DistinguishedFolderId", "PermissionSet"}
        extra = elem.find(t("AdditionalProperties")) if elem is not None else None
        for p in extra if extra is not None else ():
            if local_name(p.tag) == "FieldURI":
                self.fields.add(uri_element(p.get("FieldURI") or ""))


def _permission(user: str) -> ET.Element:
    p = el(t("Permission"))
    uid = sub(p, t("UserId"))
    sub(uid, t("DistinguishedUser"), text=user)
    for name in ("CanCreateItems", "CanCreateSubFolders", "IsFolderOwner", "IsFolderVisible", "IsFolderContact"):
        sub(p, t(name), text="false")
    for name in ("EditItems", "DeleteItems"):
        sub(p, t(name), text="None")
    sub(p, t("ReadItems"), text="None")
    sub(p, t("PermissionLevel"), text="None")
    return p


def render_folder(mbx: Mailbox, folder: Folder, shape: FolderShape, *, find: bool = False) -> ET.Element:
    parts: list[tuple[int, ET.Element]] = []
    f = shape.fields
    elem_name = folder_element(folder)

    def add(name: str, e: ET.Element) -> None:
        parts.append((FOLDER_ORDER.get(name, 99), e))

    add("FolderId", el(t("FolderId"), {"Id": mbx.folder_id(folder), "ChangeKey": mbx.folder_changekey(folder)}))
    if "ParentFolderId" in f and folder.parent is not None:
        parent = mbx.folders[folder.parent]
        add("ParentFolderId", el(t("ParentFolderId"), {"Id": mbx.folder_id(parent),
                                                        "ChangeKey": mbx.folder_changekey(parent)}))
    if "FolderClass" in f and folder.folder_class:
        add("FolderClass", el(t("FolderClass"), text=folder.folder_class))
    if "DisplayName" in f:
        add("DisplayName", el(t("DisplayName"), text=folder.name))
    if "TotalCount" in f:
        add("TotalCount", el(t("TotalCount"), text=str(len(folder.items))))
    if "ChildFolderCount" in f:
        add("ChildFolderCount", el(t("ChildFolderCount"), text=str(len(mbx.children(folder)))))
    if "EffectiveRights" in f:
        er = el(t("EffectiveRights"))
        for r in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify", "Read",
                  "ViewPrivateItems"):
            sub(er, t(r), text="true")
        add("EffectiveRights", er)
    if "DistinguishedFolderId" in f and folder.distinguished:
        add("DistinguishedFolderId", el(t("DistinguishedFolderId"), text=folder.distinguished))
    if "PermissionSet" in f and not find:
        ps = el(t("PermissionSet"))
        perms = sub(ps, t("Permissions"))
        perms.append(_permission("Default"))
        perms.append(_permission("Anonymous"))
        add("PermissionSet", ps)
    if "UnreadCount" in f and elem_name == "Folder":
        add("UnreadCount", el(t("UnreadCount"), text=str(unread_count(folder))))
    parts.sort(key=lambda p: p[0])
    return el(t(elem_name), children=[e for _, e in parts])


def get_folder(ctx: Context, body: ET.Element) -> ET.Element:
    shape = FolderShape(body.find(m("FolderShape")))

    def one(_index: int, fid: ET.Element) -> list[ET.Element]:
        mbx, folder = ctx.resolve_folder(fid)
        return [container("Folders", render_folder(mbx, folder, shape))]
    return per_element("GetFolder", required(body, "FolderIds", "GetFolder"), one, empty="Folders")


def find_folder(ctx: Context, body: ET.Element) -> ET.Element:
    traversal = choice(body, "Traversal", ("Shallow", "Deep", "SoftDeleted"), "Shallow")
    shape = FolderShape(body.find(m("FolderShape")))
    restriction = body.find(m("Restriction"))
    view = next((c for c in body if local_name(c.tag).endswith("FolderView")), None)
    parents = body.find(m("ParentFolderIds"))
    if parents is None:
        raise schema_error("FindFolder needs ParentFolderIds.")
    msgs = []
    for pid in parents:
        try:
            mbx, parent = ctx.resolve_folder(pid)
            if traversal == "SoftDeleted":
                found: list[Folder] = []
            else:
                found = mbx.children(parent) if traversal == "Shallow" else mbx.descendants(parent)
            if restriction is not None and len(restriction):
                found = [f for f in found if evaluate(restriction[0], folder_getter(f, mbx))]
            total = len(found)
            offset, limit = paging(view, total)
            page = found[offset:offset + limit]
            folders = el(t("Folders"), children=[render_folder(mbx, f, shape, find=True) for f in page])
            msgs.append(ok("FindFolder", root_folder(offset, len(page), total, folders)))
        except EwsError as e:
            msgs.append(error("FindFolder", e))
    return response("FindFolder", msgs)


def _name_taken(mbx: Mailbox, parent: Folder, name: str, exclude: Folder | None = None) -> bool:
    return any(c.name.lower() == name.lower() and c is not exclude for c in mbx.children(parent))


def _folder_exists(name: str) -> EwsError:
    # exchangelib's test_case_sensitivity reads the folder's name in Exchange's message text.
    return EwsError("ErrorFolderExists", f"A folder with the specified name already exists., Could not create "
                    f"folder '{name}'.")


def _target_folder(ctx: Context, fid: ET.Element) -> tuple[Mailbox, Folder]:
    """The folder an UpdateFolder / MoveFolder acts on. A FolderId whose folder is gone answers
    ErrorItemNotFound there, as Exchange does (exchangelib's test_create_update_empty_delete)."""
    try:
        return ctx.resolve_folder(fid)
    except EwsError as e:
        if e.code == "ErrorFolderNotFound" and local_name(fid.tag) == "FolderId":
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.") from None
        raise


def _ident(mbx: Mailbox, folder: Folder) -> ET.Element:
    return el(t(folder_element(folder)), children=[el(t("FolderId"), {
        "Id": mbx.folder_id(folder), "ChangeKey": mbx.folder_changekey(folder)})])


def create_folder(ctx: Context, body: ET.Element) -> ET.Element:
    folders = body.find(m("Folders"))
    if folders is None:
        raise schema_error("CreateFolder needs Folders.")
    try:
        mbx, parent = ctx.one_folder(body.find(m("ParentFolderId")), "ParentFolderId")
    except EwsError as e:
        return response("CreateFolder", [error("CreateFolder", e, container("Folders")) for _ in folders])
    msgs = []
    for spec in folders:
        kind = local_name(spec.tag)
        if kind not in _CLASS_FOR_ELEMENT:
            raise schema_error(f"The element '{kind}' is not a folder type.")
        name = spec.findtext(t("DisplayName"))
        folder_class = spec.findtext(t("FolderClass")) or _CLASS_FOR_ELEMENT[kind]
        if not name:
            msgs.append(error("CreateFolder", EwsError("ErrorInvalidPropertySet", "A folder needs a display name."),
                              container("Folders")))
            continue
        if _name_taken(mbx, parent, name):
            msgs.append(error("CreateFolder", _folder_exists(name), container("Folders")))
            continue
        folder = mbx.add_folder(parent, name, folder_class)
        parent.cn = mbx.new_cn()
        ctx.wrote()
        msgs.append(ok("CreateFolder", container("Folders", _ident(mbx, folder))))
    return response("CreateFolder", msgs)


def update_folder(ctx: Context, body: ET.Element) -> ET.Element:
    changes = body.find(m("FolderChanges"))
    if changes is None:
        raise schema_error("UpdateFolder needs FolderChanges.")
    msgs = []
    for change in changes:
        try:
            ids = [c for c in change if local_name(c.tag) in ("FolderId", "DistinguishedFolderId")]
            if len(ids) != 1:
                raise schema_error("FolderChange needs one folder id.")
            mbx, folder = _target_folder(ctx, ids[0])
            updates = change.find(t("Updates"))
            name = folder.name
            for u in updates if updates is not None else ():
                path = u.find(t("FieldURI"))
                field = uri_element(path.get("FieldURI") or "") if path is not None else ""
                value_holder = next((c for c in u if c is not path), None)
                value = value_holder.findtext(t(field)) if value_holder is not None else None
                if field == "DisplayName":
                    if local_name(u.tag) != "SetFolderField" or not value:
                        raise EwsError("ErrorInvalidPropertyDelete", "The display name cannot be deleted.")
                    name = value
                elif field == "FolderClass":
                    new_class = (value or "") if local_name(u.tag) == "SetFolderField" else ""
                    if new_class != folder.folder_class:
                        raise EwsError("ErrorObjectTypeChanged", "The folder class of a folder cannot be changed.")
            if folder.distinguished and name != folder.name:
                raise EwsError("ErrorCannotRenameOrMoveDistinguishedFolder", "Distinguished folders cannot be "
                               "renamed or moved.")
            parent = mbx.folders.get(folder.parent) if folder.parent is not None else None
            if parent is not None and name != folder.name and _name_taken(mbx, parent, name, folder):
                raise EwsError("ErrorFolderExists", "A folder with the specified name already exists.")
            folder.name = name
            folder.cn = mbx.new_cn()
            ctx.wrote()
            msgs.append(ok("UpdateFolder", container("Folders", _ident(mbx, folder))))
        except EwsError as e:
            msgs.append(error("UpdateFolder", e, container("Folders")))
    return response("UpdateFolder", msgs)


def _is_under(mbx: Mailbox, folder: Folder, ancestor: Folder) -> bool:
    f: Folder | None = folder
    while f is not None:
        if f is ancestor:
            return True
        f = mbx.folders.get(f.parent) if f.parent is not None else None
    return False


def move_folder(ctx: Context, body: ET.Element) -> ET.Element:
    """MoveFolder: the folder keeps its FolderId (only items get new ids when they move) and gets a new
    ChangeKey; exchangelib's ``Folder.move`` checks that the id it gets back is the one it sent."""
    ids = required(body, "FolderIds", "MoveFolder")
    try:
        tmbx, target = ctx.one_folder(body.find(m("ToFolderId")), "ToFolderId")
    except EwsError as e:
        if e.code == "ErrorFolderNotFound":
            e = EwsError("ErrorToFolderNotFound", "The destination folder could not be found.")
        return response("MoveFolder", [error("MoveFolder", e, container("Folders")) for _ in ids])

    def one(_index: int, fid: ET.Element) -> list[ET.Element]:
        mbx, folder = _target_folder(ctx, fid)
        if tmbx is not mbx:
            raise EwsError("ErrorMoveCopyFailed", "A folder cannot be moved to another mailbox.")
        mbx.move_folder(folder, target)
        ctx.wrote()
        return [container("Folders", _ident(mbx, folder))]
    return per_element("MoveFolder", ids, one, empty="Folders")


def trash_folder(mbx: Mailbox, folder: Folder, trash: Folder) -> None:
    """Move a folder into Deleted Items, as Outlook's Delete does (it keeps its id); a name taken there
    gets a number ("Business Central 2")."""
    name, n = folder.name, 1
    while _name_taken(mbx, trash, name, folder):
        n += 1
        name = f"{folder.name} {n}"
    folder.name = name
    mbx.move_folder(folder, trash)


def delete_folder(ctx: Context, body: ET.Element) -> ET.Element:
    delete_type = body.get("DeleteType", "")
    if delete_type not in ("HardDelete", "SoftDelete", "MoveToDeletedItems"):
        raise schema_error(f"The 'DeleteType' attribute is invalid - The value '{delete_type}' is invalid.")
    ids = body.find(m("FolderIds"))
    if ids is None:
        raise schema_error("DeleteFolder needs FolderIds.")
    msgs = []
    for fid in ids:
        try:
            mbx, folder = ctx.resolve_folder(fid)
            if folder.distinguished:
                raise EwsError("ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
            trash = mbx.distinguished("deleteditems")
            parent = mbx.folders.get(folder.parent) if folder.parent is not None else None
            if delete_type == "MoveToDeletedItems" and trash is not None and not _is_under(mbx, folder, trash):
                trash_folder(mbx, folder, trash)
            else:
                mbx.delete_folder_tree(folder)
            if parent is not None:
                parent.cn = mbx.new_cn()
            ctx.wrote()
            msgs.append(ok("DeleteFolder"))
        except EwsError as e:
            msgs.append(error("DeleteFolder", e))
    return response("DeleteFolder", msgs)


def empty_folder(ctx: Context, body: ET.Element) -> ET.Element:
    delete_type = body.get("DeleteType", "HardDelete")
    subfolders = (body.get("DeleteSubFolders", "false").lower() in ("true", "1"))
    ids = body.find(m("FolderIds"))
    if ids is None:
        raise schema_error("EmptyFolder needs FolderIds.")
    msgs = []
    for fid in ids:
        try:
            mbx, folder = ctx.resolve_folder(fid)
            trash = mbx.distinguished("deleteditems")
            for item in list(folder.items.values()):
                if delete_type == "MoveToDeletedItems" and trash is not None and folder is not trash:
                    mbx.move_item(item, trash, ctx.now)
                else:
                    mbx.remove_item(item)
                ctx.wrote()
            if subfolders:
                for c in mbx.children(folder):
                    mbx.delete_folder_tree(c)
                    ctx.wrote()
            msgs.append(ok("EmptyFolder"))
        except EwsError as e:
            msgs.append(error("EmptyFolder", e))
    return response("EmptyFolder", msgs)


HANDLERS = {"GetFolder": get_folder, "FindFolder": find_folder, "CreateFolder": create_folder,
            "UpdateFolder": update_folder, "MoveFolder": move_folder, "DeleteFolder": delete_folder,
            "EmptyFolder": empty_folder}
