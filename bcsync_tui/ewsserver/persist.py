"""Saving and loading the mailboxes: one JSON file, written atomically (temp file, fsync, os.replace), mode 0600.

Items are kept as the XML the clients sent (``<t:Contact>...</t:Contact>``), so unknown elements and
extended properties round-trip exactly. Passwords are never written: users come from the command line
or the Python API at every start. The signing secret is kept, so sync states survive a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path

from defusedxml.ElementTree import fromstring as _safe_fromstring

from .contacts_xml import ext_key
from .render import item_xml
from .mailbox import Folder, Item, Mailbox, Store
from .soap import local_name, serialize_standalone, t

FORMAT = "bcsync-loopback-exchange"
VERSION = 1


def _item_text(store: Store, mbx: Mailbox, it: Item) -> str:
    """The item's XML; cached by change number so a save re-serialises only what changed."""
    cache = store.__dict__.setdefault("_xml_cache", {})
    key = (mbx.guid, it.serial)
    hit = cache.get(key)
    if hit is None or hit[0] != it.cn:
        hit = cache[key] = (it.cn, serialize_standalone(item_xml(it)))
    return hit[1]


def dump(store: Store) -> str:
    """The store as JSON text. Call with ``store.lock`` held."""
    boxes = []
    for mbx in store.mailboxes.values():
        boxes.append({
            "email": mbx.email, "display_name": mbx.display_name, "guid": str(mbx.guid),
            "next_serial": mbx.next_serial, "next_cn": mbx.next_cn, "sync_epoch": mbx.sync_epoch,
            "delegates": sorted(mbx.delegates),
            "folders": [{"serial": f.serial, "parent": f.parent, "name": f.name, "class": f.folder_class,
                         "distinguished": f.distinguished, "cn": f.cn} for f in mbx.folders.values()],
            "items": [{"serial": it.serial, "folder": it.folder, "cn": it.cn, "tag": it.tag, "created": it.created,
                       "modified": it.modified, "origin": it.origin, "xml": _item_text(store, mbx, it)}
                      for f in mbx.folders.values() for it in f.items.values()],
        })
    return json.dumps({"format": FORMAT, "version": VERSION, "secret": store.secret.hex(), "mailboxes": boxes},
                      ensure_ascii=False, separators=(",", ":"))


def write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(store: Store, path: Path) -> None:
    with store.lock:
        text = dump(store)
    write_atomic(path, text)


def load(path: Path, store: Store) -> None:
    """Fill an empty store from ``path``. Raises ValueError for a file that is not ours."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a loopback Exchange data file")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported data file version {data.get('version')!r}")
    store.secret = bytes.fromhex(data["secret"])
    for b in data["mailboxes"]:
        mbx = Mailbox(b["email"], b.get("display_name"), uuid.UUID(b["guid"]))
        mbx.next_serial, mbx.next_cn, mbx.sync_epoch = b["next_serial"], b["next_cn"], b["sync_epoch"]
        mbx.delegates = set(b.get("delegates", []))
        for f in b["folders"]:
            mbx.folders[f["serial"]] = Folder(f["serial"], f["parent"], f["name"], f["class"], f["distinguished"],
                                              f["cn"])
        for i in b["items"]:
            elem = _safe_fromstring(i["xml"].encode("utf-8"), forbid_dtd=True)
            props, ext = {}, {}
            for c in elem:
                if c.tag == t("ExtendedProperty"):
                    ext[ext_key(c.find(t("ExtendedFieldURI")))] = c
                else:
                    props[local_name(c.tag)] = c
            it = Item(i["serial"], i["folder"], i["cn"], i["tag"], i["created"], i["modified"], props, ext,
                      i.get("origin"))
            folder = mbx.folders.get(it.folder)
            if folder is None:
                continue
            mbx.items[it.serial] = it
            folder.items[it.serial] = it
        store.add_mailbox(mbx)
