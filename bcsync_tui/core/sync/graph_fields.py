"""The master's fields ↔ a Graph contact's JSON (SPEC §3): names, arrays, the stamp and fax.

Graph replaces arrays (``emailAddresses``, ``businessPhones``) and complex values
(``businessAddress``) whole on PATCH, so an update is built from the item as read just before it:
entries we do not map (a third e-mail, a second business phone) are sent back unchanged.
"""

from __future__ import annotations

from typing import Any

from .transport import RemoteItem

#: the stamp: the same property set GUID and name the EWS adapter writes (ews.BcsyncStamp), so an
#: item stamped over EWS is recognised over Graph
STAMP_SET = "6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21"
STAMP_NAME = "bcsync-contact-uuid"
STAMP_ID = f"String {{{STAMP_SET}}} Name {STAMP_NAME}"
#: Graph's contact has no fax: PidTagBusinessFaxNumber as a tagged extended property
FAX_ID = "String 0x3A24"

SCALAR = {"name": "displayName", "first_name": "givenName", "middle_name": "middleName", "surname": "surname",
          "initials": "initials", "company_name": "companyName", "job_title": "jobTitle",
          "home_page": "businessHomePage", "mobile_phone": "mobilePhone"}
ADDRESS = {"city": "city", "county": "state", "post_code": "postalCode", "country_code": "countryOrRegion"}
SELECT = ",".join(["id", "changeKey", "parentFolderId", "fileAs", *SCALAR.values(), "emailAddresses", "businessPhones",
                   "businessAddress"])
EXPAND = f"singleValueExtendedProperties($filter=id eq '{STAMP_ID}' or id eq '{FAX_ID}')"
_SCALARS, _ADDRESS = tuple(SCALAR.items()), tuple(ADDRESS.items())
_ADDRESS_KEYS = frozenset(("address", "address2", *ADDRESS))


def _extended(doc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for prop in doc.get("singleValueExtendedProperties") or []:
        pid = str(prop.get("id", "")).lower()
        out[pid] = str(prop.get("value") or "")
    return out


def _text(value: Any) -> str:
    return str(value or "").replace("\r\n", "\n")


def to_remote(doc: dict[str, Any]) -> RemoteItem:
    """A Graph contact (read with SELECT and EXPAND) as the engine sees it."""
    fields = {key: _text(doc.get(attr)) for key, attr in SCALAR.items()}
    emails = doc.get("emailAddresses") or []
    fields["email"] = _text(emails[0].get("address")) if len(emails) > 0 else ""
    fields["email2"] = _text(emails[1].get("address")) if len(emails) > 1 else ""
    phones = doc.get("businessPhones") or []
    fields["phone"] = _text(phones[0]) if phones else ""
    address = doc.get("businessAddress") or {}
    line1, _, line2 = _text(address.get("street")).partition("\n")
    fields["address"], fields["address2"] = line1, line2
    for key, attr in ADDRESS.items():
        fields[key] = _text(address.get(attr))
    ext = _extended(doc)
    fields["fax"] = ext.get(FAX_ID.lower(), "")
    stamp = ext.get(STAMP_ID.lower()) or None
    return RemoteItem(str(doc["id"]), str(doc.get("changeKey") or ""), stamp, fields)


def _emails(current: list[dict[str, Any]], fields: dict[str, str]) -> list[dict[str, Any]]:
    entries = [dict(e) for e in current]
    for index, key in enumerate(("email", "email2")):
        if key not in fields:
            continue
        value = fields[key]
        while len(entries) <= index:
            entries.append({"address": "", "name": ""})
        if entries[index].get("address") != value:
            entries[index] = {"address": value, "name": value}
    while entries and not entries[-1].get("address"):
        entries.pop()
    return entries


def _address(current: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    line1, _, line2 = _text(current.get("street")).partition("\n")
    line1, line2 = fields.get("address", line1), fields.get("address2", line2)
    out = {k: v for k, v in current.items() if not k.startswith("@")}
    out["street"] = "\n".join(x for x in (line1, line2) if x)
    for key, attr in ADDRESS.items():
        if key in fields:
            out[attr] = fields[key]
    return out


def contact_body(fields: dict[str, str], current: dict[str, Any] | None, stamp: str | None) -> dict[str, Any]:
    """The JSON that sets ``fields`` (and the stamp): a whole new contact when ``current`` is None,
    else a PATCH of only what changes, arrays merged into what ``current`` holds."""
    new = current is None
    cur: dict[str, Any] = current or {}
    body: dict[str, Any] = {}
    for key, attr in SCALAR.items():
        if key in fields and (fields[key] or not new):
            body[attr] = fields[key] or None
    if "name" in fields:
        name = fields["name"] or (fields.get("email", "") if new else "")
        body["displayName"] = name or None
        body["fileAs"] = name or None
    if "email" in fields or "email2" in fields:
        emails = _emails(cur.get("emailAddresses") or [], fields)
        if emails or not new:
            body["emailAddresses"] = emails
    if "phone" in fields:
        rest = list(cur.get("businessPhones") or [])[1:]
        phones = ([fields["phone"]] if fields["phone"] else []) + rest
        if phones or not new:
            body["businessPhones"] = phones
    if any(k in fields for k in _ADDRESS_KEYS):
        address = _address(cur.get("businessAddress") or {}, fields)
        if any(address.values()) or not new:
            body["businessAddress"] = address
    ext = []
    if stamp:
        ext.append({"id": STAMP_ID, "value": stamp})
    if "fax" in fields and (fields["fax"] or not new):
        ext.append({"id": FAX_ID, "value": fields["fax"]})
    if ext:
        body["singleValueExtendedProperties"] = ext
    return body


def new_contact_body(fields: dict[str, str], stamp: str | None) -> dict[str, Any]:
    """``contact_body(fields, None, stamp)``, the same JSON key for key, built without the merge
    with a current item a PATCH needs (a first sync builds thousands)."""
    get = fields.get
    body: dict[str, Any] = {attr: value for key, attr in _SCALARS if (value := get(key))}
    if "name" in fields:
        name = fields["name"] or get("email", "")
        body["displayName"] = body["fileAs"] = name or None
    if "email" in fields or "email2" in fields:
        first, second = get("email", ""), get("email2", "")
        if second:
            body["emailAddresses"] = [{"address": first, "name": first}, {"address": second, "name": second}]
        elif first:
            body["emailAddresses"] = [{"address": first, "name": first}]
    phone = get("phone")
    if phone:
        body["businessPhones"] = [phone]
    if not _ADDRESS_KEYS.isdisjoint(fields):
        line1, line2 = get("address", ""), get("address2", "")
        address = {"street": f"{line1}\n{line2}" if line1 and line2 else line1 or line2}
        for key, attr in _ADDRESS:
            if key in fields:
                address[attr] = fields[key]
        if any(address.values()):
            body["businessAddress"] = address
    ext = [{"id": STAMP_ID, "value": stamp}] if stamp else []
    fax = get("fax")
    if fax:
        ext.append({"id": FAX_ID, "value": fax})
    if ext:
        body["singleValueExtendedProperties"] = ext
    return body
