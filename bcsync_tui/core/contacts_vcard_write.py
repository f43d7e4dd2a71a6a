"""vCard 3.0/4.0 writing of the master contact fields (SPEC §3): what ``contacts_vcard`` reads
back to the same contacts. Fields vCard has no property for travel as ``X-BCSYNC-*``."""

from __future__ import annotations

from typing import IO, Any

from . import model

VERSIONS = ("3.0", "4.0")

#: fields written as X-BCSYNC-<KEY>; Type travels as KIND in 4.0 and X-BCSYNC-TYPE in both
EXTRA_KEYS = ("no", "initials", "company_no", "territory_code", "salesperson_code", "privacy_blocked", "type")


def x_name(key: str) -> str:
    return "X-BCSYNC-" + key.upper().replace("_", "-")


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n"))


def _fold(line: str, limit: int = 75) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 6350 §3.2)."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append("".join(cur))
            cur, size = [" "], 1
        cur.append(ch)
        size += width
    out.append("".join(cur))
    return "\r\n".join(out)


def vcard_lines(contact: dict[str, Any], version: str = "3.0") -> list[str]:
    if version not in VERSIONS:
        raise ValueError(f"vCard version must be one of {', '.join(VERSIONS)}")
    v4 = version == "4.0"

    def g(key: str) -> str:
        return str(contact.get(key) or "")

    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if v4 and contact.get("type") == model.COMPANY:
        lines.append("KIND:org")
    lines.append("N:" + ";".join(_escape(g(k)) for k in ("surname", "first_name", "middle_name")) + ";;")
    lines.append("FN:" + _escape(g("name")))
    if g("company_name"):
        lines.append("ORG:" + _escape(g("company_name")))
    if g("job_title"):
        lines.append("TITLE:" + _escape(g("job_title")))
    for key, pref in (("email", True), ("email2", False)):
        if g(key):
            params = ("TYPE=work" + (";PREF=1" if pref else "")) if v4 else ("TYPE=INTERNET,WORK" + (",PREF" if pref else ""))
            lines.append(f"EMAIL;{params}:{_escape(g(key))}")
    for key, types in (("phone", "work,voice"), ("mobile_phone", "cell,voice"), ("fax", "work,fax")):
        if g(key):
            params = f'TYPE="{types}";VALUE=text' if v4 else f"TYPE={types.upper()}"
            lines.append(f"TEL;{params}:{_escape(g(key))}")
    street = "\n".join(p for p in (g("address"), g("address2")) if p)
    if street or any(g(k) for k in ("city", "county", "post_code", "country_code")):
        parts = ["", "", street, g("city"), g("county"), g("post_code"), g("country_code")]
        lines.append(f"ADR;TYPE={'work' if v4 else 'WORK'}:" + ";".join(_escape(p) for p in parts))
    if g("home_page"):
        lines.append("URL:" + _escape(g("home_page")))
    if g("uuid"):
        lines.append(f"UID:{'urn:uuid:' if v4 else ''}{g('uuid')}")
    for key in EXTRA_KEYS:
        value = model.display_value(contact, key)
        if value and value != "no" and not (key == "type" and value == model.PERSON):
            lines.append(f"{x_name(key)}:{_escape(value)}")
    lines.append("END:VCARD")
    return lines


def write_vcards(out: IO[str], contacts: list[dict[str, Any]], version: str = "3.0") -> None:
    for contact in contacts:
        for line in vcard_lines(contact, version):
            out.write(_fold(line) + "\r\n")
