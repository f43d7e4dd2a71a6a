"""vCard 2.1/3.0/4.0 reading for the master contact fields (SPEC §3); the writing of 3.0/4.0 is in
``contacts_vcard_write`` (its names are here too).

Mapped: N, FN, ORG, TITLE, EMAIL (two), TEL (work/voice, cell, fax), ADR (work, or untyped; its
extended address → Address 2), URL, KIND. Fields vCard has no property for (No., Initials, the
filter codes, Privacy Blocked) travel as ``X-BCSYNC-*`` so an exported file re-imports to the same
contacts. Everything else with a value (NOTE, BDAY, PHOTO, home numbers, a third e-mail, ...) is
counted per property and reported, never dropped silently; bookkeeping such as PRODID, REV, UID
and Apple's labels is not data. Folded lines (in linear time, however long), escapes, CHARSET
parameters and quoted-printable values are understood.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Set as AbstractSet
from functools import lru_cache

from . import model
from .contacts_types import ImportFileError, ImportRow, ReadResult
from .contacts_vcard_lex import HEADS, Prop, components, logical_lines, parse_prop, unescape
from .contacts_vcard_write import EXTRA_KEYS, VERSIONS, _fold, vcard_lines, write_vcards, x_name

__all__ = ["VERSIONS", "_fold", "card_row", "parse_vcards", "parse_vcards_each", "vcard_lines", "write_vcards"]

_X_KEYS = {x_name(k): k for k in EXTRA_KEYS}
#: properties that carry no contact data (file bookkeeping, labels of other properties, layouts)
_BOOKKEEPING = frozenset({
    "VERSION", "PRODID", "REV", "UID", "CLASS", "SOURCE", "NAME", "MAILER", "SORT-STRING", "LABEL",
    "X-ABUID", "X-ABLABEL", "X-ABADR", "X-ABSHOWAS", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "X-MS-OL-DESIGN",
})
#: properties this module maps (each may still leave values it cannot keep, counted separately)
_MAPPED = frozenset({"N", "FN", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "URL", "KIND"}) | set(_X_KEYS)
# --- reading ---------------------------------------------------------------------------------

def parse_vcards(text: str, path: str = "<vcard>") -> ReadResult:
    """The contacts of a vCard file: read in bulk when ``contacts_vcard_bulk`` can promise exactly
    this module's result (issue 14), else card by card (which also words any error)."""
    from .contacts_vcard_bulk import read_bulk

    bulk = read_bulk(text)
    return bulk if bulk is not None else parse_vcards_each(text, path)


def parse_vcards_each(text: str, path: str = "<vcard>") -> ReadResult:
    """``parse_vcards``, line by line and card by card."""
    result = ReadResult("vcard", "", [])
    card: list[Prop] | None = None
    start = 0
    bad: list[str] = []
    producers: Counter[str] = Counter()
    heads = HEADS
    for number, line in logical_lines(text):
        if len(line) >= 16 and not line[0].isspace() and not line[-1].isspace():
            # most lines: a property, neither blank nor BEGIN:VCARD or END:VCARD
            if card is not None:
                colon = line.find(":")
                head = line[:colon]
                parsed = heads.get(head) if colon > 0 else None
                if parsed is not None and not parsed[3] and '"' not in head:
                    # parse_prop of a property whose head the file had before and that needs no decoding
                    card.append(Prop(parsed[0], parsed[1], line[colon + 1:], number, parsed[2]))
                    continue
            upper = ""
        else:
            stripped = line.strip()
            if not stripped:
                continue
            upper = stripped.upper() if len(stripped) < 16 else ""  # only BEGIN:VCARD and END:VCARD matter
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
            groups = _by_name(card)
            producers[_producer(card, groups)] += 1
            result.rows.append(_card_to_row(card, groups, start, bad, result.unkept))
            card = None
            continue
        if card is None:
            raise ImportFileError(path, f"is not a vCard file: line {number} is outside BEGIN:VCARD ... END:VCARD",
                                  "Import it with --format csv if it is a CSV file.")
        prop = parse_prop(number, line)
        if isinstance(prop, str):
            bad.append(prop)
        else:
            card.append(prop)
    if card is not None:
        raise ImportFileError(path, f"is truncated: the vCard starting on line {start} has no END:VCARD",
                              "The file was cut off; export the contacts again.")
    if not result.rows:
        raise ImportFileError(path, "holds no vCard (BEGIN:VCARD ... END:VCARD)", "Check you picked the right file.")
    result.source = producers.most_common(1)[0][0]
    return result


_APPLE_NAMES = frozenset({"X-ABUID", "X-ABLABEL", "X-ABADR"})


def card_row(lines: Iterable[tuple[int, str]], start: int, unkept: Counter[str]) -> tuple[ImportRow, str]:
    """The row and the producer of the card starting on line ``start``, from its logical lines
    between BEGIN:VCARD and END:VCARD (none of which is either), as ``parse_vcards_each`` reads it."""
    card: list[Prop] = []
    bad: list[str] = []
    for number, line in lines:
        if line.strip():
            prop = parse_prop(number, line)
            if isinstance(prop, str):
                bad.append(prop)
            else:
                card.append(prop)
    groups = _by_name(card)
    return _card_to_row(card, groups, start, bad, unkept), _producer(card, groups)


def _producer(props: list[Prop], groups: dict[str, list[Prop]]) -> str:
    prodid = groups["PRODID"][0].value.lower() if "PRODID" in groups else ""
    google = google_category(p.value for p in groups.get("CATEGORIES", ()))
    return producer_of(groups.keys(), prodid, google) or version_producer(
        groups["VERSION"][0].value if "VERSION" in groups else "")


def producer_of(names: AbstractSet[str], prodid: str = "", google_category: bool = False) -> str | None:
    """The producer a card's property names, PRODID (lower case) and Google's category tell; None:
    the card's VERSION tells (``version_producer``)."""
    if "apple" in prodid or "icloud" in prodid or not names.isdisjoint(_APPLE_NAMES):
        return "iPhone/iCloud vCard"
    if "google" in prodid or google_category:
        return "Google Contacts vCard"
    if "microsoft" in prodid or "outlook" in prodid or "\x00X-MS-" in "\x00" + "\x00".join(names):
        return "Outlook vCard"
    if not names.isdisjoint(_X_KEYS):
        return "bcsync export (vCard)"
    return None


def version_producer(version: str) -> str:
    """The producer of a card nothing else tells, by its VERSION's value."""
    return f"vCard {version.strip()}".strip()


def _by_name(props: list[Prop]) -> dict[str, list[Prop]]:
    """A card's properties by name, each name's in the card's order."""
    groups: dict[str, list[Prop]] = {}
    for prop in props:
        if prop.name in groups:
            groups[prop.name].append(prop)
        else:
            groups[prop.name] = [prop]
    return groups


def _card_to_row(props: list[Prop], groups: dict[str, list[Prop]], line: int, errors: list[str],
                 unkept: Counter[str]) -> ImportRow:
    row = ImportRow(line, {}, errors=list(errors))
    d = row.data
    first = {name: group[0] for name, group in groups.items()}
    fn = first.get("FN")
    if fn:
        d["name"] = unescape(fn.value).strip()
    n = first.get("N")
    if n:
        parts = components(n.value) + [""] * 5
        d["surname"], d["first_name"], d["middle_name"] = parts[0], parts[1], parts[2]
        if parts[3] or parts[4]:
            unkept["N (prefix, suffix)"] += 1
        composed = model.compose_parts(parts[1], parts[2], parts[0])  # compose_name(d): its parts are stripped
        if fn and composed and d["name"] and composed != d["name"]:
            row.notes.append(name_note(composed, d["name"]))
    org = first.get("ORG")
    if org:
        units = components(org.value)
        d["company_name"] = units[0]
        if any(u for u in units[1:]):
            unkept["ORG (department)"] += 1
    title = first.get("TITLE")
    if title:
        d["job_title"] = unescape(title.value).strip()
    emails = _by_preference(groups.get("EMAIL", ()))
    for key, prop in zip(("email", "email2"), emails, strict=False):
        d[key] = unescape(prop.value).strip()
    if len(emails) > 2:
        unkept["EMAIL (third and later)"] += len(emails) - 2
    _read_phones(groups.get("TEL", []), d, unkept)
    _read_address(groups.get("ADR", []), d, unkept)
    urls = [p for p in groups.get("URL", ()) if p.value.strip()]
    if len(urls) > 1:
        urls.sort(key=lambda p: "work" not in p.types)
    if urls:
        d["home_page"] = unescape(urls[0].value).strip()
        if len(urls) > 1:
            unkept["URL (second and later)"] += len(urls) - 1
    kind = first.get("KIND")
    if kind and kind.value.strip().lower() in ("org", "organization"):
        d["type"] = model.COMPANY
    shown_as = first.get("X-ABSHOWAS")
    if shown_as and shown_as.value.strip().upper() == "COMPANY":
        d["type"] = model.COMPANY
    for prop in props:
        if prop.name in _X_KEYS:
            d[_X_KEYS[prop.name]] = unescape(prop.value).strip()
        elif prop.name == "CATEGORIES":
            if categorised(prop.value):
                unkept[prop.name] += 1
        elif prop.name not in _MAPPED and prop.name not in _BOOKKEEPING and prop.value.strip():
            unkept[prop.name] += 1
    return row


def categorised(value: str) -> bool:
    """Whether a CATEGORIES value files the contact under a category (Google files every contact
    under myContacts: not data)."""
    return bool({c.strip().casefold() for c in unescape(value).split(",")} - {"mycontacts", ""})


def google_category(values: Iterable[str]) -> bool:
    """Whether CATEGORIES of these values tell a Google Contacts export."""
    return any("mycontacts" in v.casefold() for v in values)


def name_note(composed: str, name: str) -> str:
    """The note on a card whose FN is not the name its N composes."""
    return f"Name will be {composed!r}, composed from N as Business Central does (the card's FN is {name!r})"


def _by_preference(props: Iterable[Prop]) -> list[Prop]:
    """The properties with a value, the preferred ones first (otherwise in the card's order)."""
    kept = [p for p in props if p.value.strip()]
    if len(kept) > 1:
        kept.sort(key=lambda p: not p.preferred)
    return kept


def _read_phones(props: list[Prop], d: dict[str, str], unkept: Counter[str]) -> None:
    """``props``: the card's TEL properties."""
    tels = _by_preference(props)
    for prop in tels:
        value = unescape(prop.value).strip()
        if value.lower().startswith("tel:"):
            value = value[4:]
        key, label = _phone_kind(prop.types)
        if key and key not in d:
            d[key] = value
        else:
            unkept[label] += 1


@lru_cache(maxsize=256)
def _phone_kind(types: frozenset[str]) -> tuple[str | None, str]:
    """The field a TEL of these types goes to (None: not a business number) and how a value the
    master cannot keep is counted; a file repeats a few sets of types on every card."""
    types = types - {"pref", "voice"}
    if "fax" in types and "home" not in types:
        key: str | None = "fax"
    elif types & {"cell", "mobile", "iphone"}:
        key = "mobile_phone"
    elif "home" in types and "work" not in types or types & {"pager", "video", "textphone", "fax"}:
        key = None  # not a business number: the master has no field for it
    else:
        key = "phone"
    return key, f"TEL ({','.join(sorted(types)) or 'untyped'})"


def _read_address(props: list[Prop], d: dict[str, str], unkept: Counter[str]) -> None:
    """``props``: the card's ADR properties."""
    adrs = [(p, parts) for p in props if any(parts := components(p.value))]
    chosen = next((a for a in adrs if "work" in a[0].types), None) or next(
        (a for a in adrs if "home" not in a[0].types), None)
    for other in adrs:
        if other is not chosen:
            unkept[adr_label(other[0].types)] += 1
    if chosen is None:
        return
    parts = chosen[1] + [""] * 7
    pobox, extended, street, city, region, code, country = parts[:7]
    address, address2 = street_lines(pobox, extended, street)
    if street and pobox:
        unkept["ADR (post office box)"] += 1
    for key, value in (("address", address), ("address2", address2), ("city", city), ("county", region),
                       ("post_code", code), ("country_code", country)):
        if value:
            d[key] = value


def adr_label(types: frozenset[str]) -> str:
    """How an ADR of these types the master does not keep is counted."""
    return f"ADR ({','.join(sorted(types - {'pref'})) or 'untyped'})"


def street_lines(pobox: str, extended: str, street: str) -> tuple[str, str]:
    """Address and Address 2 from an ADR's components: the street's (else the post office box's)
    first line, and its other lines with the extended address's ("" for none)."""
    lines = [ln for ln in map(str.strip, (street or pobox).split("\n")) if ln]
    more = lines[1:] + [ln for ln in map(str.strip, extended.split("\n")) if ln] if extended else lines[1:]
    return (lines[0] if lines else ""), ", ".join(more)
