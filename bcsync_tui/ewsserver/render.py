"""Response shapes: which properties of an item a response carries, and how they are rendered.

Read-only properties (ItemId, DateTimeCreated, CompleteName, ...) are computed here; everything else is
the stored element, verbatim. Extended properties are only returned when asked for by ExtendedFieldURI
(AllProperties does not include them, as in Exchange).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from .contacts_xml import COMPUTED, DEFAULT_ITEM_CLASS, INDEXED, ORDER, CONTACT_ONLY, ext_key, uri_element
from .mailbox import Folder, Item, Mailbox, fmt_time
from .soap import el, local_name, schema_error, sub, t


# --- response shapes --------------------------------------------------------------------------------

class Shape:
    """An ItemShape: base shape plus additional properties (FieldURI / IndexedFieldURI / ExtendedFieldURI)."""

    __slots__ = ("base", "fields", "indexed", "ext", "body_type")

    def __init__(self, shape_elem: ET.Element | None):
        self.base = "IdOnly"
        self.fields: set[str] = set()
        self.indexed: dict[str, dict[str, set | None]] = {}
        self.ext: list[tuple[tuple, ET.Element]] = []
        self.body_type = "Best"
        if shape_elem is None:
            return
        base = shape_elem.find(t("BaseShape"))
        if base is None or base.text not in ("IdOnly", "Default", "AllProperties", "PcxPeopleSearch"):
            raise schema_error("BaseShape is missing or invalid.")
        self.base = base.text
        bt = shape_elem.find(t("BodyType"))
        if bt is not None and bt.text:
            self.body_type = bt.text
        for p in shape_elem.find(t("AdditionalProperties")) if shape_elem.find(
                t("AdditionalProperties")) is not None else ():
            kind = local_name(p.tag)
            if kind == "FieldURI":
                self.fields.add(uri_element(p.get("FieldURI") or ""))
            elif kind == "IndexedFieldURI":
                uri = (p.get("FieldURI") or "").split(":")
                container = INDEXED.get(uri[1] if len(uri) > 1 else "")
                if container is None:
                    raise schema_error(f"Invalid IndexedFieldURI {p.get('FieldURI')!r}.")
                subs = self.indexed.setdefault(container, {}).setdefault(p.get("FieldIndex") or "", set())
                if subs is not None:
                    subs.add(uri[2] if len(uri) > 2 else None)
            elif kind == "ExtendedFieldURI":
                self.ext.append((ext_key(p), p))

    def wants_all(self) -> bool:
        return self.base in ("Default", "AllProperties")


def _bool(v: bool) -> str:
    return "true" if v else "false"


def computed(name: str, item: Item, mbx: Mailbox, folder: Folder, size: int) -> ET.Element | None:
    p = item.props
    if name in CONTACT_ONLY and item.tag != "Contact":
        return None
    if name == "ItemId":
        return el(t("ItemId"), {"Id": mbx.item_id(item), "ChangeKey": mbx.item_changekey(item)})
    if name == "ParentFolderId":
        return el(t("ParentFolderId"), {"Id": mbx.folder_id(folder), "ChangeKey": mbx.folder_changekey(folder)})
    if name == "ItemClass":
        return el(t("ItemClass"), text=DEFAULT_ITEM_CLASS.get(item.tag, "IPM"))
    if name in ("Sensitivity", "Importance"):
        return el(t(name), text="Normal")
    if name in ("DateTimeReceived", "DateTimeCreated"):
        return el(t(name), text=fmt_time(item.created))
    if name == "LastModifiedTime":
        return el(t(name), text=fmt_time(item.modified))
    if name == "Size":
        return el(t("Size"), text=str(size))
    if name in ("IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "ReminderIsSet", "HasAttachments",
                "IsAssociated", "HasPicture"):
        return el(t(name), text="false")
    if name == "IsUnmodified":
        return el(t(name), text=_bool(item.modified == item.created))
    if name == "Culture":
        return el(t(name), text="en-US")
    if name == "EffectiveRights":
        er = el(t("EffectiveRights"))
        for r in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify", "Read",
                  "ViewPrivateItems"):
            sub(er, t(r), text="true" if r not in ("CreateAssociated", "CreateContents", "CreateHierarchy")
                else "false")
        return er
    if name == "LastModifiedName":
        return el(t(name), text=mbx.display_name)
    if name == "ContactSource":
        return el(t(name), text="Store")
    if name == "PostalAddressIndex":
        return el(t(name), text="None")
    if name == "CompleteName":
        cn = el(t("CompleteName"))
        for src, dst in (("GivenName", "FirstName"), ("MiddleName", "MiddleName"), ("Surname", "LastName"),
                         ("Generation", "Suffix"), ("Initials", "Initials")):
            if src in p and p[src].text:
                sub(cn, t(dst), text=p[src].text)
        parts = [p[k].text for k in ("GivenName", "MiddleName", "Surname") if k in p and p[k].text]
        full = " ".join(parts) or (p["DisplayName"].text if "DisplayName" in p else "") or ""
        sub(cn, t("FullName"), text=full)
        return cn
    return None


def _body(elem: ET.Element, body_type: str) -> ET.Element:
    stored = elem.get("BodyType", "Text")
    if body_type in ("Best", stored):
        return elem
    text = elem.text or ""
    if body_type == "Text":
        text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"(?i)<br\s*/?>|</p>", "\n", text))).strip()
    else:
        text = "<html><body>" + html.escape(text).replace("\n", "<br>") + "</body></html>"
    return el(elem.tag, {**elem.attrib, "BodyType": body_type}, text)


def _indexed_subset(container: ET.Element, wanted: dict[str, set | None]) -> ET.Element | None:
    out = el(container.tag)
    for entry in container:
        subs = wanted.get(entry.get("Key"))
        if subs is None:
            if entry.get("Key") in wanted:
                out.append(entry)
            continue
        if None in subs:
            out.append(entry)
            continue
        part = el(entry.tag, entry.attrib)
        for c in entry:
            if local_name(c.tag) in subs:
                part.append(c)
        if len(part):
            out.append(part)
    return out if len(out) else None


def item_size(item: Item) -> int:
    """The Size an item reports: its stored XML plus a fixed overhead."""
    return 200 + sum(len(ET.tostring(e)) for e in item.props.values()) + sum(
        len(ET.tostring(e)) for e in item.ext.values())


def render_item(item: Item, mbx: Mailbox, folder: Folder, shape: Shape) -> ET.Element:
    """The item element for a response, shaped as the request asked."""
    p = item.props
    if shape.wants_all():
        names = set(p) | set(COMPUTED)
        names.discard("MimeContent")
    else:
        names = {"ItemId"} | shape.fields
    indexed = {} if shape.wants_all() else shape.indexed  # AllProperties returns whole collections anyway
    for container in indexed:
        names.discard(container)
    out: list[tuple[int, ET.Element]] = []
    size = item_size(item) if "Size" in names else 0
    for name in names:
        e = p.get(name)
        if e is None:
            e = computed(name, item, mbx, folder, size)
            if e is None:
                continue
        elif name == "Body":
            e = _body(e, shape.body_type)
        out.append((ORDER.get(name, 10_000), e))
    for container, wanted in indexed.items():
        stored = p.get(container)
        if stored is not None:
            part = _indexed_subset(stored, wanted)
            if part is not None:
                out.append((ORDER[container], part))
    ext_pos = ORDER["ExtendedProperty"]
    for key, uri in shape.ext:
        prop = item.ext.get(key)
        if prop is not None:
            values = [c for c in prop if local_name(c.tag) != "ExtendedFieldURI"]
            echoed = el(t("ExtendedProperty"), children=[uri, *values])  # echo the URI as the client asked
            out.append((ext_pos, echoed))
    out.sort(key=lambda pair: pair[0])
    return el(t(item.tag), children=[e for _, e in out])


def item_id_only(item: Item, mbx: Mailbox) -> ET.Element:
    return el(t(item.tag), children=[el(t("ItemId"), {"Id": mbx.item_id(item), "ChangeKey": mbx.item_changekey(item)})])


def item_xml(item: Item) -> ET.Element:
    """The stored item as one element (props in schema order, then extended properties) for persistence."""
    pairs = sorted(item.props.items(), key=lambda kv: ORDER.get(kv[0], 10_000))
    return el(t(item.tag), children=[e for _, e in pairs] + list(item.ext.values()))
