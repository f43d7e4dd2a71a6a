"""SyncFolderItems (with its opaque sync state), ConvertId and ResolveNames.

A sync state is what the client already knows of a folder: the set of (item serial, change number)
pairs it has been told about, plus the mailbox, folder and "sync epoch" it belongs to. It is gzip'd
(so it looks like Exchange's ``H4sI...`` blobs and, like them, grows with the folder: tens of KB for
thousands of items), signed with the server's secret and base64'd. Tampered, foreign (another folder)
or expired (``Faults.expire_sync_states``) states fail with ErrorInvalidSyncStateData. Because the
state carries everything, it survives a server restart when the store is persisted.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import struct
import uuid
import xml.etree.ElementTree as ET
import zlib

from .render import Shape, render_item
from .mailbox import KIND_FOLDER, KIND_ITEM, Folder, Mailbox, Store
from .ops_common import MAX_SYNC_CHANGES, Context, choice, error, ok, per_element, required, response
from .soap import EwsError, el, m, schema_error, sub, t

_MAX_STATE_BYTES = 32 * 1024 * 1024
_HEADER = struct.Struct(">16sQI")
_INVALID = "Synchronization state data is corrupt or otherwise invalid."


def encode_state(store: Store, mbx: Mailbox, folder: Folder, known: dict[int, int]) -> str:
    serials = sorted(known)
    body = _HEADER.pack(mbx.guid.bytes, folder.serial, mbx.sync_epoch)
    body += struct.pack(f">{2 * len(serials)}Q", *serials, *(known[s] for s in serials))
    mac = hmac.new(store.secret, body, hashlib.sha256).digest()[:16]
    return base64.b64encode(gzip.compress(mac + body, compresslevel=6, mtime=0)).decode()


def decode_state(store: Store, mbx: Mailbox, folder: Folder, state: str) -> dict[int, int]:
    bad = EwsError("ErrorInvalidSyncStateData", _INVALID)
    try:
        packed = base64.b64decode(state, validate=True)
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = d.decompress(packed, _MAX_STATE_BYTES)
        if d.unconsumed_tail:
            raise bad
    except (binascii.Error, ValueError, zlib.error):
        raise bad from None
    if len(raw) < 16 + _HEADER.size:
        raise bad
    mac, body = raw[:16], raw[16:]
    if not hmac.compare_digest(mac, hmac.new(store.secret, body, hashlib.sha256).digest()[:16]):
        raise bad
    guid, folder_serial, epoch = _HEADER.unpack_from(body)
    if guid != mbx.guid.bytes or folder_serial != folder.serial or epoch != mbx.sync_epoch:
        raise bad
    rest = body[_HEADER.size:]
    if len(rest) % 16:
        raise bad
    n = len(rest) // 16
    values = struct.unpack(f">{2 * n}Q", rest)
    return dict(zip(values[:n], values[n:]))


def sync_folder_items(ctx: Context, body: ET.Element) -> ET.Element:
    op = "SyncFolderItems"
    shape = Shape(body.find(m("ItemShape")))
    try:
        max_changes = int(body.findtext(m("MaxChangesReturned")) or "")
    except ValueError:
        raise schema_error("MaxChangesReturned is missing or not a number.") from None
    if not 1 <= max_changes <= MAX_SYNC_CHANGES:
        raise schema_error(f"The element 'MaxChangesReturned' has an invalid value '{max_changes}': it must be "
                           f"between 1 and {MAX_SYNC_CHANGES}.")
    scope = body.findtext(m("SyncScope"))
    if scope is not None and scope not in ("NormalItems", "NormalAndAssociatedItems"):
        raise schema_error(f"The element 'SyncScope' has an invalid value '{scope}'.")
    state = (body.findtext(m("SyncState")) or "").strip()

    def failed(err: EwsError) -> ET.Element:
        # The empty SyncState / IncludesLastItemInRange let exchangelib reach the ResponseCode and raise
        # ErrorInvalidSyncStateData (without them it fails with an AttributeError on ``.text``).
        return response(op, [error(op, err, el(m("SyncState"), text=""),
                                   el(m("IncludesLastItemInRange"), text="true"))])

    try:
        try:
            mbx, folder = ctx.one_folder(body.find(m("SyncFolderId")), "SyncFolderId")
        except EwsError as e:
            if e.code != "ErrorFolderNotFound":
                raise
            # Exchange turns "no such folder" into its own code here (and only here): a deleted sync folder
            # answers ErrorSyncFolderNotFound, not ErrorFolderNotFound (ResponseCode reference).
            raise EwsError("ErrorSyncFolderNotFound", "The folder to be synchronized could not be found.") from None
        known = decode_state(ctx.store, mbx, folder, state) if state else {}
        ignore: set[int] = set()
        ign = body.find(m("Ignore"))
        for iid in ign if ign is not None else ():
            try:
                imbx, serial = ctx.store.decode_id(iid.get("Id"), KIND_ITEM)
                if imbx is mbx:
                    ignore.add(serial)
            except EwsError:
                pass
    except EwsError as e:
        return failed(e)

    items = folder.items
    deletes = [s for s in known if s not in items]
    pending = sorted((it for it in items.values() if it.serial not in known or it.cn > known[it.serial]),
                     key=lambda it: it.cn)
    changes = el(m("Changes"))
    budget = max_changes
    new_known = dict(known)
    for serial in deletes:
        if budget == 0:
            break
        del new_known[serial]
        if serial in ignore:
            continue
        change = sub(changes, t("Delete"))
        sub(change, t("ItemId"), {"Id": mbx.item_id(serial)})
        budget -= 1
    done = 0
    for it in pending:
        if budget == 0:
            break
        created = it.serial not in known
        new_known[it.serial] = it.cn
        done += 1
        if it.serial in ignore:
            continue
        change = sub(changes, t("Create" if created else "Update"))
        change.append(render_item(it, mbx, folder, shape))
        budget -= 1
    complete = len(new_known) == len(items) and done == len(pending)
    new_state = encode_state(ctx.store, mbx, folder, new_known)
    return response(op, [ok(op, el(m("SyncState"), text=new_state),
                            el(m("IncludesLastItemInRange"), text="true" if complete else "false"), changes)])


# --- ConvertId --------------------------------------------------------------------------------------

_FORMATS = ("EwsLegacyId", "EwsId", "EntryId", "HexEntryId", "StoreId", "OwaId")


def _to_entry(mbx: Mailbox, kind: int, serial: int) -> bytes:
    return b"\x00\x00\x00\x00" + mbx.guid.bytes + bytes([kind]) + serial.to_bytes(8, "big")


def _from_entry(store: Store, raw: bytes) -> tuple[Mailbox, int, int]:
    if len(raw) != 29 or raw[:4] != b"\x00\x00\x00\x00":
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
    mbx = store.mailbox_by_guid(str(uuid.UUID(bytes=raw[4:20])))
    if mbx is None:
        raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
    return mbx, raw[20], int.from_bytes(raw[21:], "big")


def convert_id(ctx: Context, body: ET.Element) -> ET.Element:
    op = "ConvertId"
    dest = choice(body, "DestinationFormat", _FORMATS, "")

    def one(_index: int, src: ET.Element) -> list[ET.Element]:
        fmt, value = src.get("Format", ""), src.get("Id", "")
        if fmt in ("EwsId", "EwsLegacyId", "OwaId"):
            kind = KIND_FOLDER
            try:
                mbx, serial = ctx.store.decode_id(value, KIND_ITEM)
                kind = KIND_ITEM
            except EwsError:
                mbx, serial = ctx.store.decode_id(value, KIND_FOLDER)
        elif fmt in ("EntryId", "StoreId"):
            try:
                mbx, kind, serial = _from_entry(ctx.store, base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        elif fmt == "HexEntryId":
            try:
                mbx, kind, serial = _from_entry(ctx.store, bytes.fromhex(value))
            except ValueError:
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        else:
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
        ctx.check_access(mbx)
        if dest in ("EwsId", "EwsLegacyId", "OwaId"):
            out = mbx.make_id(kind, serial)
        elif dest == "HexEntryId":
            out = _to_entry(mbx, kind, serial).hex().upper()
        else:
            out = base64.b64encode(_to_entry(mbx, kind, serial)).decode()
        alt = el(m("AlternateId"), {"Format": dest, "Id": out, "Mailbox": mbx.email})
        alt.set("{http://www.w3.org/2001/XMLSchema-instance}type", "t:AlternateIdType")
        return [alt]
    return per_element(op, required(body, "SourceIds", op), one, empty=None)


# --- ResolveNames -----------------------------------------------------------------------------------

def resolve_names(ctx: Context, body: ET.Element) -> ET.Element:
    op = "ResolveNames"
    full = body.get("ReturnFullContactData", "false").lower() in ("true", "1")
    msgs = []
    for entry in body.findall(m("UnresolvedEntry")):
        text = (entry.text or "").strip()
        exact = text.lower().startswith("smtp:")
        needle = (text[5:] if exact else text).strip().casefold()
        hits: list[tuple[str, str, str, ET.Element | None]] = []  # name, email, type, contact element
        for mbx in ctx.store.mailboxes.values():
            names = (mbx.display_name.casefold(), mbx.email.casefold())
            if (needle == names[1]) if exact else any(n.startswith(needle) for n in names):
                hits.append((mbx.display_name, mbx.email, "Mailbox", None))
        contacts = ctx.user.distinguished("contacts")
        for it in list(contacts.items.values()) if contacts is not None and needle else []:
            emails = [e.text or "" for e in (it.props.get("EmailAddresses") or [])]
            dn = it.props.get("DisplayName")
            name = (dn.text or "") if dn is not None else ""
            if (any(e.casefold() == needle for e in emails) if exact else
                    name.casefold().startswith(needle) or any(e.casefold().startswith(needle) for e in emails)):
                hits.append((name, emails[0] if emails else "", "Contact", it))
        if not hits:
            msgs.append(error(op, EwsError("ErrorNameResolutionNoResults", "No results were found.")))
            continue
        rs = el(m("ResolutionSet"), {"TotalItemsInView": str(min(len(hits), 100)),
                                     "IncludesLastItemInRange": "true" if len(hits) <= 100 else "false"})
        for name, email, mtype, item in hits[:100]:
            res = sub(rs, t("Resolution"))
            mb = sub(res, t("Mailbox"))
            sub(mb, t("Name"), text=name)
            sub(mb, t("EmailAddress"), text=email)
            sub(mb, t("RoutingType"), text="SMTP")
            sub(mb, t("MailboxType"), text=mtype)
            if item is not None:
                sub(mb, t("ItemId"), {"Id": ctx.user.item_id(item), "ChangeKey": ctx.user.item_changekey(item)})
                if full:
                    shape = Shape(None)
                    shape.base = "AllProperties"
                    res.append(render_item(item, ctx.user, ctx.user.folders[item.folder], shape))
        if len(hits) > 1:
            msg = error(op, EwsError("ErrorNameResolutionMultipleResults", "Multiple results were found.",
                                     response_class="Warning"), rs)
        else:
            msg = ok(op, rs)
        msgs.append(msg)
    if not msgs:
        raise schema_error("ResolveNames needs an UnresolvedEntry.")
    return response(op, msgs)


HANDLERS = {"SyncFolderItems": sync_folder_items, "ConvertId": convert_id, "ResolveNames": resolve_names}
