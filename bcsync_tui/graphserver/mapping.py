"""Graph's contact JSON to and from the mailbox items the EWS server stores (EWS XML elements).

The conversion goes through the Outlook-user dict of ``ewsserver.contact_dict`` (``props_to_dict`` /
``apply_dict``), so a field means the same over both protocols. Graph's extras:

* ``emailAddresses[].name`` is the EWS Entry's ``Name`` attribute;
* ``birthday`` is the EWS ``Birthday`` element; ``title`` is PidTagDisplayNamePrefix (``String 0x3A45``);
* the fax numbers, which Graph has no property for, are read and written as the extended properties
  ``String 0x3A24`` (business), ``0x3A25`` (home) and ``0x3A23`` (other) -- stored as EWS PhoneNumbers;
* ``singleValueExtendedProperties`` are the item's EWS ExtendedProperty elements, ids such as
  ``String {GUID} Name bcsync-contact-uuid``, ``Integer {GUID} Id 0x8005`` or ``String 0x3A24``.
"""

from __future__ import annotations

import functools
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from ..ewsserver.contact_dict import apply_dict, props_to_dict
from ..ewsserver.contacts_xml import DISTINGUISHED_SETS, PROPERTY_TYPES, check_ext_value, ext_key
from ..ewsserver.mailbox import Folder, Item, Mailbox, fmt_time
from ..ewsserver.soap import EwsError, el, sub, t
from . import ids
from .errors import GraphError, bad_request, unknown_property, wrong_type

CONTACT_TYPE = "microsoft.graph.contact"
SCALARS = {"assistantName": "assistant_name", "businessHomePage": "business_home_page",
           "companyName": "company_name", "department": "department", "displayName": "display_name",
           "fileAs": "file_as", "generation": "generation", "givenName": "given_name", "initials": "initials",
           "jobTitle": "job_title", "manager": "manager", "middleName": "middle_name", "nickName": "nickname",
           "officeLocation": "office", "profession": "profession", "spouseName": "spouse_name",
           "surname": "surname", "mobilePhone": "mobile_phone", "personalNotes": "body"}
LISTS = {"categories": "categories", "children": "children"}
PHONE_LISTS = {"businessPhones": ("business_phone", "business_phone2"), "homePhones": ("home_phone", "home_phone2")}
ADDRESSES = {"businessAddress": "business", "homeAddress": "home", "otherAddress": "other"}
ADDRESS_PARTS = {"street": "street", "city": "city", "state": "state", "countryOrRegion": "country",
                 "postalCode": "postal_code"}
FAX_TAGS = {0x3A24: "business_fax", 0x3A25: "home_fax", 0x3A23: "other_fax"}
TITLE_TAG = 0x3A45
READ_ONLY = {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId"}
EXTRA = {"birthday", "title", "emailAddresses", "imAddresses", "yomiGivenName", "yomiSurname", "yomiCompanyName"}
NAVIGATION = {"singleValueExtendedProperties", "multiValueExtendedProperties", "extensions", "photo"}
#: every structural property of a contact, in the order Graph answers them
ORDER = ["id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "parentFolderId", "birthday",
         "fileAs", "displayName", "givenName", "initials", "middleName", "nickName", "surname", "title",
         "yomiGivenName", "yomiSurname", "yomiCompanyName", "generation", "imAddresses", "jobTitle", "companyName",
         "department", "officeLocation", "profession", "businessHomePage", "assistantName", "manager",
         "homePhones", "mobilePhone", "businessPhones", "spouseName", "personalNotes", "children",
         "emailAddresses", "homeAddress", "businessAddress", "otherAddress"]
PROPERTIES = set(ORDER)
_YOMI = {"yomiGivenName": 0x802C, "yomiSurname": 0x802D, "yomiCompanyName": 0x802E}  # PSETID_Address
_ADDRESS_SET = DISTINGUISHED_SETS["address"]
_TYPES = {p.lower(): p for p in PROPERTY_TYPES}
_EXT_ID = re.compile(r"^\s*(\w+)\s+(?:\{([0-9a-fA-F-]{36})\}\s+(Name|Id)\s+(.+?)|(0x[0-9a-fA-F]{1,4}))\s*$")


# --- extended property ids -------------------------------------------------------------------------

def parse_ext_id(text: Any) -> tuple[dict[str, str], tuple]:
    """(ExtendedFieldURI attributes, normalised key) of a Graph extended-property id; 400 if malformed."""
    if not isinstance(text, str):
        raise bad_request(f"The extended property id '{text}' is not valid.", "ErrorInvalidProperty")
    attrs, key = _parse_ext_id(text)
    return dict(attrs), key


@functools.lru_cache(maxsize=1024)
def _parse_ext_id(text: str) -> tuple[tuple[tuple[str, str], ...], tuple]:
    m = _EXT_ID.match(text)
    ptype = _TYPES.get(m.group(1).lower()) if m else None
    if m is None or ptype is None or ptype.endswith("Array"):
        raise bad_request(f"The extended property id '{text}' is not valid.", "ErrorInvalidProperty")
    if m.group(5):
        attrs = {"PropertyTag": m.group(5), "PropertyType": ptype}
    else:
        attrs = {"PropertySetId": str(uuid.UUID(m.group(2))), "PropertyType": ptype}
        attrs["PropertyName" if m.group(3) == "Name" else "PropertyId"] = m.group(4)
    try:
        return tuple(attrs.items()), ext_key(el(t("ExtendedFieldURI"), attrs))
    except Exception:  # ext_key raises EwsError / SoapFault for combinations it refuses
        raise bad_request(f"The extended property id '{text}' is not valid.", "ErrorInvalidProperty") from None


def ext_id(key: tuple, ptype: str) -> str:
    if key[0] == "tag":
        return f"{ptype} 0x{key[1]:04X}"
    if key[0] == "name":
        return f"{ptype} {{{key[1]}}} Name {key[2]}"
    return f"{ptype} {{{key[1]}}} Id 0x{key[2]:04X}"


def _ext_element(attrs: dict[str, str], value: str) -> ET.Element:
    prop = el(t("ExtendedProperty"))
    sub(prop, t("ExtendedFieldURI"), attrs)
    sub(prop, t("Value"), text=value)
    return prop


def extended_properties(item: Item) -> list[dict[str, str]]:
    """The item's single-value extended properties as Graph lists them (faxes included)."""
    out = []
    for key, prop in item.ext.items():
        uri = prop.find(t("ExtendedFieldURI"))
        value = prop.find(t("Value"))
        if uri is None or value is None:
            continue  # multi-valued
        out.append({"id": ext_id(key, uri.get("PropertyType", "String")), "value": value.text or ""})
    phones = props_to_dict({k: v for k, v in item.props.items() if k == "PhoneNumbers"}, {})
    for tag, field in FAX_TAGS.items():
        if phones.get(field):
            out.append({"id": ext_id(("tag", tag), "String"), "value": phones[field]})
    return out


# --- item -> JSON ----------------------------------------------------------------------------------

def contact_json(item: Item, mbx: Mailbox, folder: Folder, *, immutable: bool = False) -> dict[str, Any]:
    """The full Graph representation (every structural property, no navigation properties)."""
    d = props_to_dict(item.props, {})
    ext = {e["id"].lower(): e["value"] for e in extended_properties(item)}
    ck = mbx.item_changekey(item)
    emails = []
    container = item.props.get("EmailAddresses")
    for entry in container if container is not None else ():
        emails.append({"name": entry.get("Name") or entry.text or "", "address": entry.text or ""})
    bday = item.props.get("Birthday")
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{ck}"', "id": ids.item_id(mbx, item, immutable),
        "createdDateTime": fmt_time(item.created), "lastModifiedDateTime": fmt_time(item.modified),
        "changeKey": ck, "parentFolderId": ids.folder_id(mbx, folder),
        "birthday": (bday.text or None) if bday is not None else None,
        "title": ext.get(f"string 0x{TITLE_TAG:04x}"),
        "imAddresses": [d[k] for k in ("im1", "im2", "im3") if d.get(k)],
        "emailAddresses": emails,
    }
    for name, number in _YOMI.items():
        out[name] = ext.get(ext_id(("id", _ADDRESS_SET, number), "String").lower())
    for name, key in SCALARS.items():
        out[name] = d.get(key) or None
    for name, key in LISTS.items():
        out[name] = list(d.get(key) or [])
    for name, keys in PHONE_LISTS.items():
        out[name] = [d[k] for k in keys if d.get(k)]
    for name, label in ADDRESSES.items():
        out[name] = {g: d[f"{label}_{k}"] for g, k in ADDRESS_PARTS.items() if d.get(f"{label}_{k}")}
    return {"@odata.etag": out.pop("@odata.etag"), **{k: out.get(k) for k in ORDER}}


# --- JSON -> item ----------------------------------------------------------------------------------

def _string(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise wrong_type()
    return value


def _strings(name: str, value: Any, limit: int | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise wrong_type("Collection(Edm.String)")
    if limit is not None and len([v for v in value if v]) > limit:
        raise bad_request(f"At most {limit} values can be stored in '{name}'.", "ErrorInvalidArgument")
    return value


def apply_contact(props: dict[str, ET.Element], ext: dict[tuple, ET.Element], body: Any) -> None:
    """Apply a POST or PATCH body to copies of an item's props and ext: properties not sent are kept,
    arrays and addresses are replaced whole, ``null`` clears. 400 for unknown or read-only-typed input."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    changes: dict[str, Any] = {}
    email_names: list[str] = []
    for name, value in body.items():
        if name.startswith("@odata.") or name in READ_ONLY:
            continue
        if name in SCALARS:
            changes[SCALARS[name]] = _string(name, value)
        elif name in LISTS:
            changes[LISTS[name]] = _strings(name, value)
        elif name in PHONE_LISTS:
            values = [v for v in _strings(name, value, 2) if v]
            for i, key in enumerate(PHONE_LISTS[name]):
                changes[key] = values[i] if i < len(values) else None
        elif name == "imAddresses":
            values = [v for v in _strings(name, value, 3) if v]
            for i in range(3):
                changes[f"im{i + 1}"] = values[i] if i < len(values) else None
        elif name == "emailAddresses":
            entries = _emails(value)
            for i in range(3):
                changes[f"email{i + 1}"] = entries[i][1] if i < len(entries) else None
            email_names = [n for n, _ in entries]
        elif name in ADDRESSES:
            changes.update(_address(ADDRESSES[name], value))
        elif name == "birthday":
            if _string(name, value):
                props["Birthday"] = el(t("Birthday"), text=value)
            else:
                props.pop("Birthday", None)
        elif name == "title":
            _set_ext(ext, {"PropertyTag": f"0x{TITLE_TAG:04X}", "PropertyType": "String"}, _string(name, value))
        elif name in _YOMI:
            _set_ext(ext, {"PropertySetId": _ADDRESS_SET, "PropertyId": str(_YOMI[name]), "PropertyType": "String"},
                     _string(name, value))
        elif name == "singleValueExtendedProperties":
            changes.update(_apply_extended(ext, value))
        elif name in NAVIGATION:
            raise bad_request(f"The property '{name}' cannot be set on a contact by this server.",
                              "ErrorInvalidProperty")
        else:
            raise unknown_property(name)
    apply_dict(props, ext, changes)
    container = props.get("EmailAddresses")
    if email_names and container is not None:
        for entry, label in zip(container, email_names):
            if label and label != entry.text:
                entry.set("Name", label)


def _emails(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong_type("Collection(microsoft.graph.emailAddress)")
    out = []
    for e in value:
        if not isinstance(e, dict):
            raise wrong_type("microsoft.graph.emailAddress")
        for k in e:
            if k not in ("name", "address") and not k.startswith("@odata."):
                raise unknown_property(k, "microsoft.graph.emailAddress")
        address, label = _string("address", e.get("address")), _string("name", e.get("name"))
        if address:
            out.append((label or "", address))
    if len(out) > 3:
        raise bad_request("A contact can hold at most three e-mail addresses.", "ErrorInvalidArgument")
    return out


def _address(label: str, value: Any) -> dict[str, str | None]:
    if value is not None and not isinstance(value, dict):
        raise wrong_type("microsoft.graph.physicalAddress")
    value = value or {}
    for k in value:
        if k not in ADDRESS_PARTS and not k.startswith("@odata."):
            raise unknown_property(k, "microsoft.graph.physicalAddress")
    return {f"{label}_{key}": _string(g, value.get(g)) or None for g, key in ADDRESS_PARTS.items()}


def _set_ext(ext: dict[tuple, ET.Element], attrs: dict[str, str], value: str | None) -> None:
    key = ext_key(el(t("ExtendedFieldURI"), attrs))
    if value in (None, ""):
        ext.pop(key, None)
    else:
        ext[key] = _ext_element(attrs, value)


def _apply_extended(ext: dict[tuple, ET.Element], value: Any) -> dict[str, Any]:
    """Set the listed extended properties (others are kept); faxes become phone numbers."""
    if not isinstance(value, list):
        raise wrong_type("Collection(microsoft.graph.singleValueLegacyExtendedProperty)")
    changes: dict[str, Any] = {}
    for p in value:
        if not isinstance(p, dict) or "id" not in p:
            raise bad_request("An extended property needs an 'id' and a 'value'.", "ErrorInvalidProperty")
        for k in p:
            if k not in ("id", "value") and not k.startswith("@odata."):
                raise unknown_property(k, "microsoft.graph.singleValueLegacyExtendedProperty")
        attrs, key = parse_ext_id(p["id"])
        v = p.get("value")
        if v is not None and not isinstance(v, str):
            raise wrong_type()
        if key[0] == "tag" and key[1] in FAX_TAGS:
            changes[FAX_TAGS[key[1]]] = v or None
            continue
        if v is None:
            ext.pop(key, None)
            continue
        prop = _ext_element(attrs, v)
        try:
            check_ext_value(prop)
        except EwsError as e:
            raise GraphError(400, "ErrorInvalidExtendedPropertyValue", e.text) from None
        ext[key] = prop
    return changes
