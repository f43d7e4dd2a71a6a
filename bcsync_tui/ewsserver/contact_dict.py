"""Contacts as flat Python dicts (the "Outlook user" view) and back.

Keys (all optional; a missing key means the field is not set):

* names: ``display_name, file_as, given_name, middle_name, surname, initials, nickname, generation``
* work: ``company_name, job_title, department, office, manager, assistant_name, profession,
  business_home_page``; private: ``spouse_name, mileage``
* e-mail: ``email1, email2, email3``; IM: ``im1, im2, im3``
* phones: the snake_case of every EWS PhoneNumberKey: ``business_phone, business_phone2, mobile_phone,
  business_fax, home_phone, home_phone2, home_fax, other_telephone, other_fax, pager, car_phone,
  assistant_phone, callback, company_main_phone, isdn, primary_phone, radio_phone, telex, tty_tdd_phone``
* addresses: ``{business,home,other}_{street,city,state,postal_code,country}`` (street may hold two lines)
* ``body`` (notes, plain text), ``categories``, ``children``, ``companies`` (lists of strings)
* ``extended``: {name: value}; a key is a property name (``"bcsync-contact-uuid"``), a hex tag
  (``"0x3a45"``) or, to create one in a given property set, a tuple ``(property_set_id, name)`` or
  ``(property_set_id, name, property_type)``. Reading returns names / hex tags as keys.

Read dicts also carry ``id, changekey, folder`` (folder path such as ``"Contacts/Business Central"``),
``item_class, created, modified`` (ISO-8601 UTC) and ``unmapped`` ({element name: XML text}) for any
element the mapping above does not cover -- those are kept verbatim and never lost.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from .contacts_xml import ADDRESS_PARTS, DISTINGUISHED_SETS, INDEX_KEYS, ORDER, ext_friendly, ext_key
from .mailbox import Folder, Item, Mailbox, fmt_time
from .soap import el, local_name, serialize_standalone, sub, t

SIMPLE = {
    "display_name": "DisplayName", "file_as": "FileAs", "given_name": "GivenName", "middle_name": "MiddleName",
    "surname": "Surname", "initials": "Initials", "nickname": "Nickname", "generation": "Generation",
    "company_name": "CompanyName", "job_title": "JobTitle", "department": "Department", "office": "OfficeLocation",
    "manager": "Manager", "assistant_name": "AssistantName", "profession": "Profession",
    "business_home_page": "BusinessHomePage", "spouse_name": "SpouseName", "mileage": "Mileage",
    "subject": "Subject", "item_class": "ItemClass", "file_as_mapping": "FileAsMapping",
}
LISTS = {"categories": "Categories", "children": "Children", "companies": "Companies"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


INDEXED_KEYS: dict[str, tuple[str, str, str | None]] = {}  # dict key -> (container, entry key, address part)
for _i in (1, 2, 3):
    INDEXED_KEYS[f"email{_i}"] = ("EmailAddresses", f"EmailAddress{_i}", None)
    INDEXED_KEYS[f"im{_i}"] = ("ImAddresses", f"ImAddress{_i}", None)
for _k in INDEX_KEYS["PhoneNumbers"]:
    INDEXED_KEYS[_snake(_k)] = ("PhoneNumbers", _k, None)
_PART_KEYS = {"Street": "street", "City": "city", "State": "state", "PostalCode": "postal_code",
              "CountryOrRegion": "country"}
for _label in INDEX_KEYS["PhysicalAddresses"]:
    for _part, _suffix in _PART_KEYS.items():
        INDEXED_KEYS[f"{_label.lower()}_{_suffix}"] = ("PhysicalAddresses", _label, _part)
_REVERSE = {v: k for k, v in INDEXED_KEYS.items()}
MAPPED = set(SIMPLE.values()) | set(LISTS.values()) | set(INDEX_KEYS) | {"Body"}
PUBLIC_STRINGS = DISTINGUISHED_SETS["publicstrings"]


def props_to_dict(props: dict[str, ET.Element], ext: dict[tuple, ET.Element]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in SIMPLE.items():
        e = props.get(name)
        if e is not None:
            out[key] = e.text or ""
    for key, name in LISTS.items():
        e = props.get(name)
        if e is not None:
            out[key] = [c.text or "" for c in e]
    body = props.get("Body")
    if body is not None:
        out["body"] = body.text or ""
    for container in INDEX_KEYS:
        c = props.get(container)
        for entry in c if c is not None else ():
            label = entry.get("Key")
            if container == "PhysicalAddresses":
                for part in entry:
                    k = _REVERSE.get((container, label, local_name(part.tag)))
                    if k:
                        out[k] = part.text or ""
            else:
                k = _REVERSE.get((container, label, None))
                if k:
                    out[k] = entry.text or ""
    extended: dict[str, Any] = {}
    for key, prop in ext.items():
        values = prop.find(t("Values"))
        if values is not None:
            extended[ext_friendly(key)] = [v.text or "" for v in values]
        else:
            v = prop.find(t("Value"))
            extended[ext_friendly(key)] = (v.text or "") if v is not None else ""
    out["extended"] = extended
    unmapped = {name: serialize_standalone(e) for name, e in props.items() if name not in MAPPED}
    if unmapped:
        out["unmapped"] = unmapped
    return out


def item_to_dict(item: Item, mbx: Mailbox, folder: Folder) -> dict[str, Any]:
    d = props_to_dict(item.props, item.ext)
    d.update(id=mbx.item_id(item), changekey=mbx.item_changekey(item), folder=mbx.path(folder),
             created=fmt_time(item.created), modified=fmt_time(item.modified))
    d.setdefault("item_class", "IPM.Contact" if item.tag == "Contact" else "IPM")
    return d


def _ext_element(set_id: str, name: str, ptype: str, value: Any) -> tuple[tuple, ET.Element]:
    uri_attrs = {"PropertySetId": str(uuid.UUID(set_id)), "PropertyName": name, "PropertyType": ptype}
    if name.lower().startswith("0x") and set_id == "":
        uri_attrs = {"PropertyTag": name, "PropertyType": ptype}
    prop = el(t("ExtendedProperty"))
    uri = sub(prop, t("ExtendedFieldURI"), uri_attrs)
    if isinstance(value, (list, tuple)):
        vals = sub(prop, t("Values"))
        for v in value:
            sub(vals, t("Value"), text=_text(v))
    else:
        sub(prop, t("Value"), text=_text(value))
    return ext_key(uri), prop


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def apply_dict(props: dict[str, ET.Element], ext: dict[tuple, ET.Element], changes: dict[str, Any]) -> None:
    """Apply a dict of changes to props/ext in place; ``None`` or ``""`` (or ``[]``) removes a field."""
    indexed: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        empty = value is None or value == "" or value == []
        if key in ("id", "changekey", "folder", "created", "modified", "unmapped"):
            continue
        if key == "extended":
            _apply_extended(ext, value or {})
        elif key in SIMPLE:
            if empty:
                props.pop(SIMPLE[key], None)
            else:
                props[SIMPLE[key]] = el(t(SIMPLE[key]), text=str(value))
        elif key in LISTS:
            if empty:
                props.pop(LISTS[key], None)
            else:
                props[LISTS[key]] = el(t(LISTS[key]), children=[el(t("String"), text=str(v)) for v in value])
        elif key == "body":
            if empty:
                props.pop("Body", None)
            else:
                props["Body"] = el(t("Body"), {"BodyType": "Text"}, str(value))
        elif key in INDEXED_KEYS:
            indexed[key] = None if empty else str(value)
        else:
            raise KeyError(f"unknown contact field {key!r}")
    if indexed:
        _apply_indexed(props, indexed)


def _apply_indexed(props: dict[str, ET.Element], changes: dict[str, str | None]) -> None:
    by_container: dict[str, dict[str, ET.Element]] = {}
    for container in INDEX_KEYS:
        c = props.get(container)
        by_container[container] = {e.get("Key"): e for e in c} if c is not None else {}
    for key, value in changes.items():
        container, label, part = INDEXED_KEYS[key]
        entries = by_container[container]
        if part is None:
            if value is None:
                entries.pop(label, None)
            else:
                entries[label] = el(t("Entry"), {"Key": label}, value)
            continue
        old = entries.get(label)
        parts = {local_name(c.tag): c.text or "" for c in (old if old is not None else [])}
        if value is None:
            parts.pop(part, None)
        else:
            parts[part] = value
        if parts:
            entries[label] = el(t("Entry"), {"Key": label},
                                children=[el(t(p), text=parts[p]) for p in ADDRESS_PARTS if p in parts])
        else:
            entries.pop(label, None)
    for container, entries in by_container.items():
        if entries:
            props[container] = el(t(container), children=[entries[k] for k in INDEX_KEYS[container] if k in entries])
        else:
            props.pop(container, None)


def _apply_extended(ext: dict[tuple, ET.Element], changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(key, tuple):
            set_id, name = key[0], key[1]
            ptype = key[2] if len(key) > 2 else ("StringArray" if isinstance(value, (list, tuple)) else "String")
            existing = None
        else:
            existing = next((k for k in ext if ext_friendly(k).lower() == str(key).lower()), None)
            set_id, name = ("", key) if str(key).lower().startswith("0x") else (PUBLIC_STRINGS, key)
            ptype = None
        if existing is not None:
            uri = ext[existing].find(t("ExtendedFieldURI"))
            ptype = uri.get("PropertyType", "String")
            if value is None:
                del ext[existing]
                continue
            prop = el(t("ExtendedProperty"), children=[uri])
            if ptype.endswith("Array"):
                vals = sub(prop, t("Values"))
                for v in value:
                    sub(vals, t("Value"), text=_text(v))
            else:
                sub(prop, t("Value"), text=_text(value))
            ext[existing] = prop
            continue
        if value is None:
            if isinstance(key, tuple):
                ext.pop(_ext_element(set_id, name, ptype or "String", "")[0], None)
            continue
        k, prop = _ext_element(set_id, name, ptype or ("StringArray" if isinstance(value, (list, tuple))
                                                       else "String"), value)
        ext[k] = prop


def dict_to_props(data: dict[str, Any]) -> tuple[dict[str, ET.Element], dict[tuple, ET.Element]]:
    props: dict[str, ET.Element] = {}
    ext: dict[tuple, ET.Element] = {}
    apply_dict(props, ext, data)
    if "DisplayName" not in props:
        parts = [props[k].text for k in ("GivenName", "MiddleName", "Surname") if k in props and props[k].text]
        name = " ".join(parts) or (props["CompanyName"].text if "CompanyName" in props else "")
        if name:
            props["DisplayName"] = el(t("DisplayName"), text=name)
    return props, ext


def sorted_props(props: dict[str, ET.Element]) -> list[ET.Element]:
    return [e for _, e in sorted(props.items(), key=lambda kv: ORDER.get(kv[0], 10_000))]


def master_to_outlook(contact: dict[str, Any]) -> dict[str, Any]:
    """A master contact (``bcsync_tui.core.model`` dict) as Outlook would hold it (SPEC §3)."""
    g = lambda k: str(contact.get(k) or "").strip()  # noqa: E731
    street = "\n".join(s for s in (g("address"), g("address2")) if s)
    out = {
        "display_name": g("name"), "file_as": g("name"), "given_name": g("first_name"),
        "middle_name": g("middle_name"), "surname": g("surname"), "initials": g("initials"),
        "company_name": g("company_name"), "job_title": g("job_title"), "email1": g("email"), "email2": g("email2"),
        "business_phone": g("phone"), "mobile_phone": g("mobile_phone"), "business_fax": g("fax"),
        "business_home_page": g("home_page"), "business_street": street, "business_city": g("city"),
        "business_state": g("county"), "business_postal_code": g("post_code"), "business_country": g("country_code"),
    }
    return {k: v for k, v in out.items() if v}
