"""The "Outlook user": act on a mailbox directly, as its owner would in Outlook, bypassing EWS.

Changes made here are real mailbox changes: they get new change keys and show up in the next
SyncFolderItems, exactly like edits made through EWS. Contacts are flat dicts (see ``contact_dict``).
Folders are named by display name (``"Business Central"``), by path from the top of the mailbox
(``"Contacts/Business Central"``) or by distinguished id (``"contacts"``, ``"deleteditems"``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .contact_dict import apply_dict, dict_to_props, item_to_dict
from .mailbox import Folder, Item, Mailbox, Store
from .ops_folders import trash_folder
from .soap import EwsError


class FolderNotFound(KeyError):
    pass


class ItemNotFound(KeyError):
    pass


class OutlookUser:
    def __init__(self, store: Store, mailbox: Mailbox):
        self._store, self.mailbox = store, mailbox

    @property
    def email(self) -> str:
        return self.mailbox.email

    # --- folders -----------------------------------------------------------------------------------
    def _folder(self, name: str | Folder) -> Folder:
        if isinstance(name, Folder):
            return name
        mbx = self.mailbox
        key = name.strip().strip("/")
        dist = mbx.distinguished(key)
        if dist is not None and "/" not in key:
            return dist
        if "/" in key:
            matches = [f for f in mbx.folders.values() if mbx.path(f).lower() == key.lower()]
        else:
            matches = [f for f in mbx.folders.values() if f.name.lower() == key.lower()]
        if len(matches) != 1:
            raise FolderNotFound(f"{'no' if not matches else 'more than one'} folder named {name!r} in "
                                 f"{mbx.email}" + ("" if matches else f" (folders: {', '.join(self.folders())})"))
        return matches[0]

    def folders(self) -> list[str]:
        """Paths of the mailbox's folders below the top of the information store."""
        mbx = self.mailbox
        top = mbx.distinguished("msgfolderroot")
        with self._store.lock:
            return [mbx.path(f) for f in mbx.descendants(top)] if top is not None else []

    def folder_id(self, folder: str) -> str:
        with self._store.lock:
            return self.mailbox.folder_id(self._folder(folder))

    def create_folder(self, name: str, parent: str = "contacts", folder_class: str = "IPF.Contact") -> str:
        """Create a folder (a contact folder by default); returns its FolderId. Raises ValueError if the
        parent already has a folder of that name."""
        with self._store.lock:
            p = self._folder(parent)
            if any(c.name.lower() == name.lower() for c in self.mailbox.children(p)):
                raise ValueError(f"a folder named {name!r} already exists in {self.mailbox.path(p) or 'the root'}")
            f = self.mailbox.add_folder(p, name, folder_class)
            self._store.changed()
            return self.mailbox.folder_id(f)

    def ensure_folder(self, name: str, parent: str = "contacts", folder_class: str = "IPF.Contact") -> str:
        with self._store.lock:
            p = self._folder(parent)
            for c in self.mailbox.children(p):
                if c.name.lower() == name.lower():
                    return self.mailbox.folder_id(c)
            return self.create_folder(name, parent, folder_class)

    def rename_folder(self, folder: str, new_name: str) -> None:
        with self._store.lock:
            f = self._folder(folder)
            f.name, f.cn = new_name, self.mailbox.new_cn()
            self._store.changed()

    def delete_folder(self, folder: str, mode: str = "HardDelete") -> None:
        """Delete a folder with its items and subfolders: ``HardDelete`` (default) removes it for good, as
        deleting it and then emptying Deleted Items does; ``MoveToDeletedItems`` is Outlook's Delete key: the
        folder moves into Deleted Items and keeps its id (so a sync by id still finds it there)."""
        with self._store.lock:
            f = self._folder(folder)
            if f.distinguished:
                raise ValueError("distinguished folders cannot be deleted")
            if mode == "MoveToDeletedItems":
                trash_folder(self.mailbox, f, self._folder("deleteditems"))
            elif mode == "HardDelete":
                self.mailbox.delete_folder_tree(f)
            else:
                raise ValueError(f"unknown delete mode {mode!r}")
            self._store.changed()

    def recreate_folder(self, folder: str) -> str:
        """Delete a folder for good and create an empty one of the same name, class and parent, as a user who
        deletes the sync folder and makes it again; returns the new folder's id (a new identity)."""
        with self._store.lock:
            f = self._folder(folder)
            if f.distinguished or f.parent is None:
                raise ValueError("distinguished folders cannot be deleted")
            parent = self.mailbox.folders[f.parent]
            self.mailbox.delete_folder_tree(f)
            new = self.mailbox.add_folder(parent, f.name, f.folder_class)
            parent.cn = self.mailbox.new_cn()
            self._store.changed()
            return self.mailbox.folder_id(new)

    def move_folder(self, folder: str, to_parent: str) -> str:
        """Move a folder (with its contacts and subfolders) under another folder, e.g.
        ``move_folder("Business Central", "inbox")``. The folder keeps its id, as in Exchange; returns it."""
        with self._store.lock:
            f = self._folder(folder)
            self._move(f, self._folder(to_parent))
            self._store.changed()
            return self.mailbox.folder_id(f)

    def _move(self, folder: Folder, target: Folder) -> None:
        try:
            self.mailbox.move_folder(folder, target)
        except EwsError as e:
            raise ValueError(f"cannot move {self.mailbox.path(folder)!r}: {e.text}") from None

    # --- contacts ----------------------------------------------------------------------------------
    def _item(self, item_id: str) -> Item:
        try:
            mbx, serial = self._store.decode_id(item_id, 0x07)
        except EwsError as e:
            raise ItemNotFound(f"{item_id!r}: {e.text}") from None
        item = mbx.items.get(serial) if mbx is self.mailbox else None
        if item is None:
            raise ItemNotFound(f"no item {item_id!r} in {self.mailbox.email}")
        return item

    def create_contact(self, folder: str = "contacts", fields: dict[str, Any] | None = None, **kw: Any) -> str:
        """Create a contact from a dict (and/or keyword fields); returns its ItemId."""
        return self.create_contacts(folder, [{**(fields or {}), **kw}])[0]

    add_contact = create_contact

    def create_contacts(self, folder: str, contacts: Iterable[dict[str, Any]]) -> list[str]:
        with self._store.lock:
            f = self._folder(folder)
            now = self._store.now()
            ids = []
            for data in contacts:
                props, ext = dict_to_props(data)
                item = self.mailbox.add_item(f, "Contact", props, ext, now)
                ids.append(self.mailbox.item_id(item))
            self._store.changed()
            return ids

    def edit_contact(self, item_id: str, changes: dict[str, Any] | None = None, **kw: Any) -> str:
        """Change fields (``None`` or ``""`` clears one); returns the new ChangeKey."""
        with self._store.lock:
            item = self._item(item_id)
            props, ext = dict(item.props), dict(item.ext)
            apply_dict(props, ext, {**(changes or {}), **kw})
            item.props, item.ext = props, ext
            self.mailbox.touch(item, self._store.now())
            self._store.changed()
            return self.mailbox.item_changekey(item)

    def delete_contact(self, item_id: str, mode: str = "MoveToDeletedItems") -> None:
        """Delete as Outlook does: ``MoveToDeletedItems`` (default), ``SoftDelete`` (to Recoverable Items)
        or ``HardDelete`` (gone)."""
        with self._store.lock:
            item = self._item(item_id)
            mbx = self.mailbox
            trash = mbx.distinguished("deleteditems")
            if mode == "MoveToDeletedItems" and item.folder != trash.serial:
                mbx.move_item(item, trash, self._store.now())
            elif mode in ("SoftDelete", "MoveToDeletedItems"):
                mbx.move_item(item, mbx.distinguished("recoverableitemsdeletions"), self._store.now())
            elif mode == "HardDelete":
                mbx.remove_item(item)
            else:
                raise ValueError(f"unknown delete mode {mode!r}")
            self._store.changed()

    def move_contact(self, item_id: str, folder: str) -> str:
        """Move to another folder; returns the new ItemId (moving changes the id, as in Exchange)."""
        with self._store.lock:
            new = self.mailbox.move_item(self._item(item_id), self._folder(folder), self._store.now())
            self._store.changed()
            return self.mailbox.item_id(new)

    def copy_contact(self, item_id: str, folder: str) -> str:
        """Copy (extended properties included, as Outlook does); returns the copy's ItemId."""
        with self._store.lock:
            new = self.mailbox.copy_item(self._item(item_id), self._folder(folder), self._store.now())
            self._store.changed()
            return self.mailbox.item_id(new)

    def get_contact(self, item_id: str) -> dict[str, Any]:
        with self._store.lock:
            item = self._item(item_id)
            return item_to_dict(item, self.mailbox, self.mailbox.folders[item.folder])

    def contacts(self, folder: str = "contacts") -> list[dict[str, Any]]:
        """Every item of a folder as a dict, in creation order."""
        with self._store.lock:
            f = self._folder(folder)
            return [item_to_dict(it, self.mailbox, f) for it in f.items.values()]

    def find_contacts(self, folder: str = "contacts", *, email: str | None = None,
                      where: Callable[[dict], bool] | None = None) -> list[dict[str, Any]]:
        """Contacts of a folder whose EmailAddress1-3 equals ``email`` (case-insensitive) and/or matching
        ``where``."""
        out = []
        for c in self.contacts(folder):
            if email is not None and email.strip().lower() not in {
                    (c.get(k) or "").strip().lower() for k in ("email1", "email2", "email3")}:
                continue
            if where is not None and not where(c):
                continue
            out.append(c)
        return out

    def count(self, folder: str = "contacts") -> int:
        with self._store.lock:
            return len(self._folder(folder).items)
