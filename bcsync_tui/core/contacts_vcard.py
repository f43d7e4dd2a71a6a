"""vCard 2.1/3.0/4.0 reading and 3.0/4.0 writing for the master contact fields (SPEC §3).

Mapped: N, FN, ORG, TITLE, EMAIL (two), TEL (work/voice, cell, fax), ADR (work, or untyped),
URL, KIND. Fields vCard has no property for (No., Initials, the filter codes, Privacy Blocked)
travel as ``X-BCSYNC-*`` so an exported file re-imports to the same contacts. NOTE, PHOTO and
anything else are ignored. Folded lines, escapes, CHARSET parameters and quoted-printable values
are understood.
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass
from typing import IO, Any

from . import model
from .contacts_io import ImportFileError, ImportRow

VERSIONS = ("3.0", "4.0")

#: fields written as X-BCSYNC-<KEY>; Type travels as KIND in 4.0 and X-BCSYNC-TYPE in both
_EXTRA_KEYS = ("no", "initials", "company_no", "territory_code", "salesperson_code", "privacy_blocked", "type")


def _x_name(key: str) -> str:
    return "X-BCSYNC-" + key.upper().replace("_", "-")


_X_KEYS = {_x_name(k): k for k in _EXTRA_KEYS}
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass
class _Prop:
    name: str
    params: dict[str, list[str]]
    value: str  # raw, still escaped (quoted-printable already decoded)
    line: int

    @property
    def types(self) -> set[str]:
        out = {t.lower() for t in self.params.get("TYPE", [])}
        out |= {t.lower() for t in self.params.get("", [])}  # vCard 2.1: bare ;WORK;FAX
        return out

    @property
    def preferred(self) -> bool:
        return "pref" in self.types or bool(self.params.get("PREF"))


# --- reading ---------------------------------------------------------------------------------

def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _is_qp(head: str) -> bool:
    return "QUOTED-PRINTABLE" in head.upper()


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfold: a line starting with a space or tab continues the previous one; a quoted-printable
    value ending in ``=`` continues on the next line (vCard 2.1 soft line break)."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(_LINE_SPLIT.split(text), start=1):
        if out and line[:1] in (" ", "\t"):
            out[-1] = (out[-1][0], out[-1][1] + line[1:])
        elif out and out[-1][1].endswith("=") and _is_qp(out[-1][1].split(":", 1)[0]):
            out[-1] = (out[-1][0], out[-1][1][:-1] + "=\n" + line)
        else:
            out.append((number, line))
    return out


def _parse_prop(number: int, line: str) -> _Prop | None:
    head_value = _split_outside_quotes(line, ":")
    if len(head_value) < 2:
        return None
    head, value = head_value[0], ":".join(head_value[1:])
    parts = _split_outside_quotes(head, ";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()  # drop a group prefix: item1.EMAIL
    params: dict[str, list[str]] = {}
    for p in parts[1:]:
        key, eq, val = p.partition("=")
        if not eq:
            key, val = "", key
        values = [v.strip() for v in val.replace('"', "").split(",")]
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    encoding = {e.upper() for e in params.get("ENCODING", [])} | {e.upper() for e in params.get("", [])}
    if "QUOTED-PRINTABLE" in encoding:
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        raw = quopri.decodestring(value.encode("utf-8", "replace"))
        try:
            value = raw.decode(charset, "replace")
        except LookupError:
            value = raw.decode("utf-8", "replace")
    return _Prop(name, params, value, number)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _components(value: str) -> list[str]:
    """Split a structured value (N, ADR, ORG) at unescaped semicolons, then unescape each part."""
    parts, cur, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i:i + 2])
            i += 2
            continue
        if ch == ";":
            parts.append(_unescape("".join(cur)).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append(_unescape("".join(cur)).strip())
    return parts


def parse_vcards(text: str, path: str = "<vcard>") -> tuple[list[ImportRow], list[str]]:
    rows: list[ImportRow] = []
    card: list[_Prop] | None = None
    start = 0
    bad: list[str] = []
    for number, line in _logical_lines(text):
        if not line.strip():
            continue
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if card is not None:
                raise ImportFileError(path, f"is damaged: the vCard starting on line {start} has no END:VCARD "
                                      f"before the next one on line {number}", "Export the contacts again.")
            card, start, bad = [], number, []
            continue
        if upper == "END:VCARD":
            if card is None:
                raise ImportFileError(path, f"is damaged: END:VCARD on line {number} without BEGIN:VCARD",
                                      "Export the contacts again.")
            rows.append(_card_to_row(card, start, bad))
            card = None
            continue
        if card is None:
            raise ImportFileError(path, f"is not a vCard file: line {number} is outside BEGIN:VCARD ... END:VCARD",
                                  "Import it with --format csv if it is a CSV file.")
        prop = _parse_prop(number, line)
        if prop is None:
            bad.append(f"line {number} is not a vCard property (NAME:value)")
        else:
            card.append(prop)
    if card is not None:
        raise ImportFileError(path, f"is truncated: the vCard starting on line {start} has no END:VCARD",
                              "The file was cut off; export the contacts again.")
    if not rows:
        raise ImportFileError(path, "holds no vCard (BEGIN:VCARD ... END:VCARD)", "Check you picked the right file.")
    return rows, []


def _first(props: list[_Prop], name: str) -> _Prop | None:
    return next((p for p in props if p.name == name), None)


def _card_to_row(props: list[_Prop], line: int, errors: list[str]) -> ImportRow:
    row = ImportRow(line, {}, errors=list(errors))
    d = row.data
    fn = _first(props, "FN")
    if fn:
        d["name"] = _unescape(fn.value).strip()
    n = _first(props, "N")
    if n:
        parts = _components(n.value) + [""] * 3
        d["surname"], d["first_name"], d["middle_name"] = parts[0], parts[1], parts[2]
    org = _first(props, "ORG")
    if org:
        d["company_name"] = _components(org.value)[0]
    title = _first(props, "TITLE")
    if title:
        d["job_title"] = _unescape(title.value).strip()
    emails = sorted((p for p in props if p.name == "EMAIL" and p.value.strip()), key=lambda p: not p.preferred)
    for key, prop in zip(("email", "email2"), emails, strict=False):
        d[key] = _unescape(prop.value).strip()
    if len(emails) > 2:
        row.notes.append(f"{len(emails)} e-mail addresses; only the first two are kept")
    _read_phones(props, d)
    _read_address(props, d)
    urls = sorted((p for p in props if p.name == "URL"), key=lambda p: "work" not in p.types)
    if urls:
        d["home_page"] = _unescape(urls[0].value).strip()
    kind = _first(props, "KIND")
    if kind and kind.value.strip().lower() in ("org", "organization"):
        d["type"] = model.COMPANY
    for prop in props:
        if prop.name in _X_KEYS:
            d[_X_KEYS[prop.name]] = _unescape(prop.value).strip()
    return row


def _read_phones(props: list[_Prop], d: dict[str, str]) -> None:
    tels = sorted((p for p in props if p.name == "TEL" and p.value.strip()), key=lambda p: not p.preferred)
    for prop in tels:
        value = _unescape(prop.value).strip()
        if value.lower().startswith("tel:"):
            value = value[4:]
        types = prop.types
        if "fax" in types:
            key = "fax"
        elif types & {"cell", "mobile"}:
            key = "mobile_phone"
        elif "home" in types and "work" not in types or types & {"pager", "video", "textphone"}:
            continue  # not a business number: Exchange keeps it, the master has no field for it
        else:
            key = "phone"
        d.setdefault(key, value)


def _read_address(props: list[_Prop], d: dict[str, str]) -> None:
    adrs = [p for p in props if p.name == "ADR"]
    chosen = next((p for p in adrs if "work" in p.types), None) or next(
        (p for p in adrs if "home" not in p.types), None)
    if chosen is None:
        return
    parts = _components(chosen.value) + [""] * 7
    pobox, _ext, street, city, region, code, country = parts[:7]
    lines = [ln.strip() for ln in (street or pobox).split("\n") if ln.strip()]
    if lines:
        d["address"] = lines[0]
        if len(lines) > 1:
            d["address2"] = ", ".join(lines[1:])
    for key, value in (("city", city), ("county", region), ("post_code", code), ("country_code", country)):
        if value:
            d[key] = value


# --- writing ---------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n"))


def _fold(line: str, limit: int = 75) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 6350 §3.2)."""
    out, cur, size = [], [], 0
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
    g = lambda key: str(contact.get(key) or "")  # noqa: E731
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
    for key in _EXTRA_KEYS:
        value = model.display_value(contact, key)
        if value and value != "no" and not (key == "type" and value == model.PERSON):
            lines.append(f"{_x_name(key)}:{_escape(value)}")
    lines.append("END:VCARD")
    return lines


def write_vcards(out: IO[str], contacts: list[dict[str, Any]], version: str = "3.0") -> None:
    for contact in contacts:
        for line in vcard_lines(contact, version):
            out.write(_fold(line) + "\r\n")
