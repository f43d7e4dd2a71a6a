"""The mailbox data model: mailboxes, folders, items, ids, change keys and change numbers.

Every change to an item gives it a new change number (``cn``, per mailbox, monotonic) and with it a
new ChangeKey. Moving an item gives it a new serial and so a new ItemId, as Exchange does. Ids are
opaque base64 strings shaped like Exchange's (``AAMkA...``); they encode the mailbox GUID, the kind
(folder or item) and a serial, so any id can be resolved to its mailbox without a lookup table.

All state is guarded by ``Store.lock`` (an RLock); callers hold it for a whole request.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from .soap import EwsError

KIND_FOLDER = 0x01
KIND_ITEM = 0x07
KIND_IMMUTABLE = 0x46  # an item id that survives moves (Graph's ImmutableId); its serial is the item's origin
_ID_PREFIX = b"\x00\x03\x24\x00"  # base64 "AAMkA...", like a real EWS id
_ID_MIDDLE = b"\x00\x46\x00\x00"
_CK_LEN = b"\x16\x00\x00\x00"
_CK_TYPE = {"Contact": 0x11, "DistributionList": 0x12, "Folder": 0x01, "CalendarItem": 0x0F, "Task": 0x13}

# (distinguished id, display name, folder class, parent distinguished id)
STANDARD_FOLDERS = (
    ("root", "", "", None),
    ("msgfolderroot", "Top of Information Store", "", "root"),  # no FolderClass, as in Exchange
    ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    ("contacts", "Contacts", "IPF.Contact", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
    ("drafts", "Drafts", "IPF.Note", "msgfolderroot"),
    ("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    ("journal", "Journal", "IPF.Journal", "msgfolderroot"),
    ("junkemail", "Junk Email", "IPF.Note", "msgfolderroot"),
    ("notes", "Notes", "IPF.StickyNote", "msgfolderroot"),
    ("outbox", "Outbox", "IPF.Note", "msgfolderroot"),
    ("sentitems", "Sent Items", "IPF.Note", "msgfolderroot"),
    ("tasks", "Tasks", "IPF.Task", "msgfolderroot"),
    ("recoverableitemsroot", "Recoverable Items", "", "root"),
    ("recoverableitemsdeletions", "Deletions", "", "recoverableitemsroot"),
    ("recoverableitemspurges", "Purges", "", "recoverableitemsroot"),
    ("recoverableitemsversions", "Versions", "", "recoverableitemsroot"),
)


def fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Folder:
    __slots__ = ("serial", "parent", "name", "folder_class", "distinguished", "cn", "items")

    def __init__(self, serial: int, parent: int | None, name: str, folder_class: str,
                 distinguished: str | None, cn: int):
        self.serial, self.parent, self.name = serial, parent, name
        self.folder_class, self.distinguished, self.cn = folder_class, distinguished, cn
        self.items: dict[int, Item] = {}  # insertion ordered: creation order, used as the default view order


class Item:
    """One item. ``props`` maps an element's local name to the element (TNS), verbatim as the client sent it,
    in no particular order; ``ext`` maps a normalised extended-property key to the full ExtendedProperty element.
    ``origin`` is the serial the item was first created with; moves keep it (the basis of immutable ids)."""

    __slots__ = ("serial", "folder", "cn", "tag", "created", "modified", "props", "ext", "origin")

    def __init__(self, serial: int, folder: int, cn: int, tag: str, created: float, modified: float,
                 props: dict[str, ET.Element], ext: dict[tuple, ET.Element], origin: int | None = None):
        self.serial, self.folder, self.cn, self.tag = serial, folder, cn, tag
        self.created, self.modified, self.props, self.ext = created, modified, props, ext
        self.origin = serial if origin is None else origin


class Mailbox:
    def __init__(self, email: str, display_name: str | None = None, guid: uuid.UUID | None = None):
        self.email = email
        self.display_name = display_name or email.split("@", 1)[0].replace(".", " ").title()
        self.guid = guid or uuid.uuid4()
        self.folders: dict[int, Folder] = {}
        self.items: dict[int, Item] = {}
        self.next_serial = 1
        self.next_cn = 1
        self.sync_epoch = 1
        self.delegates: set[str] = set()
        self._origins: dict[int, int] = {}  # origin -> serial, a cache checked on every use

    # --- ids ---------------------------------------------------------------------------------------
    def new_serial(self) -> int:
        s = self.next_serial
        self.next_serial += 1
        return s

    def new_cn(self) -> int:
        c = self.next_cn
        self.next_cn += 1
        return c

    def make_id(self, kind: int, serial: int) -> str:
        raw = (_ID_PREFIX + str(self.guid).encode() + _ID_MIDDLE + bytes([kind]) + serial.to_bytes(8, "big")
               + b"\x00\x00")
        return base64.b64encode(raw).decode()

    def item_id(self, item: Item | int) -> str:
        return self.make_id(KIND_ITEM, item if isinstance(item, int) else item.serial)

    def folder_id(self, folder: Folder) -> str:
        return self.make_id(KIND_FOLDER, folder.serial)

    def changekey(self, kind_tag: str, cn: int) -> str:
        raw = bytes([_CK_TYPE.get(kind_tag, 0x09), 0, 0, 0]) + _CK_LEN + self.guid.bytes + cn.to_bytes(6, "big")
        return base64.b64encode(raw).decode()

    def item_changekey(self, item: Item) -> str:
        return self.changekey(item.tag, item.cn)

    def folder_changekey(self, folder: Folder) -> str:
        return self.changekey("Folder", folder.cn)

    def parse_changekey(self, ck: str) -> int:
        """The change number in a change key of this mailbox; EwsError(ErrorInvalidChangeKey) if it is not one."""
        try:
            raw = base64.b64decode(ck, validate=True)
        except (binascii.Error, ValueError):
            raise EwsError("ErrorInvalidChangeKey", "The change key is invalid.") from None
        if len(raw) != 30 or raw[4:8] != _CK_LEN or raw[8:24] != self.guid.bytes:
            raise EwsError("ErrorInvalidChangeKey", "The change key is invalid.")
        return int.from_bytes(raw[24:], "big")

    # --- folders -----------------------------------------------------------------------------------
    def add_folder(self, parent: Folder | None, name: str, folder_class: str,
                   distinguished: str | None = None) -> Folder:
        f = Folder(self.new_serial(), parent.serial if parent else None, name, folder_class, distinguished,
                   self.new_cn())
        self.folders[f.serial] = f
        return f

    def create_standard_folders(self) -> None:
        by_name: dict[str, Folder] = {}
        for dist, name, cls, parent in STANDARD_FOLDERS:
            by_name[dist] = self.add_folder(by_name.get(parent) if parent else None, name, cls, dist)

    def distinguished(self, name: str) -> Folder | None:
        name = name.lower()
        for f in self.folders.values():
            if f.distinguished == name:
                return f
        return None

    def children(self, folder: Folder) -> list[Folder]:
        return [f for f in self.folders.values() if f.parent == folder.serial]

    def descendants(self, folder: Folder) -> list[Folder]:
        out: list[Folder] = []
        for c in self.children(folder):
            out.append(c)
            out.extend(self.descendants(c))
        return out

    def path(self, folder: Folder) -> str:
        parts: list[str] = []
        f: Folder | None = folder
        while f is not None and f.distinguished not in ("root", "msgfolderroot"):
            parts.append(f.name)
            f = self.folders.get(f.parent) if f.parent is not None else None
        return "/".join(reversed(parts))

    # --- items -------------------------------------------------------------------------------------
    def add_item(self, folder: Folder, tag: str, props: dict, ext: dict, now: float,
                 created: float | None = None, origin: int | None = None) -> Item:
        it = Item(self.new_serial(), folder.serial, self.new_cn(), tag, created or now, now, props, ext, origin)
        self.items[it.serial] = it
        folder.items[it.serial] = it
        folder.cn = self.new_cn()
        return it

    def touch(self, item: Item, now: float) -> None:
        item.cn = self.new_cn()
        item.modified = now

    def remove_item(self, item: Item) -> None:
        self.items.pop(item.serial, None)
        f = self.folders.get(item.folder)
        if f is not None:
            f.items.pop(item.serial, None)
            f.cn = self.new_cn()

    def move_item(self, item: Item, target: Folder, now: float) -> Item:
        """Move: the item gets a new id (and change key) in the target folder, as in Exchange."""
        self.remove_item(item)
        return self.add_item(target, item.tag, item.props, item.ext, now, created=item.created, origin=item.origin)

    def item_by_origin(self, origin: int) -> Item | None:
        """The item (wherever it was moved since) that was first created with serial ``origin``."""
        it = self.items.get(self._origins.get(origin, -1))
        if it is None or it.origin != origin:
            self._origins = {i.origin: i.serial for i in self.items.values()}
            it = self.items.get(self._origins.get(origin, -1))
        return it

    def copy_item(self, item: Item, target: Folder, now: float) -> Item:
        """Copy ``item`` (of this or another mailbox) into ``target`` of this mailbox."""
        props = {k: copy.deepcopy(v) for k, v in item.props.items()}
        ext = {k: copy.deepcopy(v) for k, v in item.ext.items()}
        return self.add_item(target, item.tag, props, ext, now, created=now)

    def move_folder(self, folder: Folder, target: Folder) -> None:
        """Move ``folder`` (items and subfolders with it) under ``target``. Unlike an item, a moved folder
        keeps its id, as in Exchange; it gets a new change key. EwsError for what Exchange refuses."""
        if folder.distinguished:
            raise EwsError("ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved.")
        if target is folder or target in self.descendants(folder):
            raise EwsError("ErrorMoveCopyFailed", "A folder cannot be moved into itself or its subfolders.")
        if any(c.name.lower() == folder.name.lower() and c is not folder for c in self.children(target)):
            raise EwsError("ErrorFolderExists", f"A folder with the specified name already exists., Could not "
                           f"move folder '{folder.name}'.")
        old = self.folders.get(folder.parent) if folder.parent is not None else None
        folder.parent = target.serial
        for f in (old, target, folder):
            if f is not None:
                f.cn = self.new_cn()

    def delete_folder_tree(self, folder: Folder) -> None:
        for c in self.children(folder):
            self.delete_folder_tree(c)
        for it in list(folder.items.values()):
            self.items.pop(it.serial, None)
        folder.items.clear()
        self.folders.pop(folder.serial, None)


class Store:
    """All mailboxes of one server, their lock and the secret that signs sync states."""

    def __init__(self, clock=time.time):
        self.lock = threading.RLock()
        self.mailboxes: dict[str, Mailbox] = {}
        self._by_guid: dict[str, Mailbox] = {}
        self.secret = os.urandom(32)
        self.clock = clock
        self.generation = 0  # bumped on every write; the persister saves when it moves

    def add_mailbox(self, mbx: Mailbox) -> Mailbox:
        self.mailboxes[mbx.email.lower()] = mbx
        self._by_guid[str(mbx.guid)] = mbx
        return mbx

    def ensure_mailbox(self, email: str) -> Mailbox:
        mbx = self.mailboxes.get(email.lower())
        if mbx is None:
            mbx = self.add_mailbox(Mailbox(email))
            mbx.create_standard_folders()
            self.changed()
        return mbx

    def mailbox(self, email: str) -> Mailbox | None:
        return self.mailboxes.get(email.lower())

    def mailbox_by_guid(self, guid: str) -> Mailbox | None:
        return self._by_guid.get(guid)

    def changed(self) -> None:
        self.generation += 1

    def now(self) -> float:
        return float(int(self.clock()))  # Exchange stores times at one-second resolution

    def decode_id(self, value: str | None, kind: int) -> tuple[Mailbox, int]:
        """Mailbox and serial of an id; EwsError ErrorInvalidIdMalformed / ErrorInvalidIdEmpty otherwise."""
        if not value:
            raise EwsError("ErrorInvalidIdEmpty", "The Id is empty.")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        if len(raw) != 55 or not raw.startswith(_ID_PREFIX) or raw[40:44] != _ID_MIDDLE:
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
        mbx = self._by_guid.get(raw[4:40].decode("ascii", "replace"))
        if raw[44] != kind:
            if kind == KIND_FOLDER:
                raise EwsError("ErrorInvalidFolderId", "The specified folder id is invalid.")
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
        if mbx is None:
            raise EwsError("ErrorItemNotFound" if kind == KIND_ITEM else "ErrorFolderNotFound",
                           "The specified object was not found in the store.")
        return mbx, int.from_bytes(raw[45:53], "big")
