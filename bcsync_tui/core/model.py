"""The master contact: fields, limits, validation and name composition (SPEC §3).

A contact travels through the code as a plain ``dict`` keyed by field key (``"email"``,
``"first_name"``, ...): that is what TinyDB stores, what the filters match and what the sync
projects. This module is the single place that knows the field list, captions and limits.
"""

from __future__ import annotations

import re
import uuid as _uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PERSON = "Person"
COMPANY = "Company"
CONTACT_TYPES = (PERSON, COMPANY)


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    caption: str  # Business Central's caption, accepted in CSV headers and filters
    max_len: int | None = None  # text fields only
    kind: str = "text"  # text | email | phone | url | code | bool | type | stamp | int

    @property
    def is_text(self) -> bool:
        return self.kind not in ("bool", "int", "stamp")


FIELDS: tuple[Field, ...] = (
    Field("no", "No.", 20, "code"),
    Field("uuid", "UUID", 36, "stamp"),
    Field("type", "Type", None, "type"),
    Field("name", "Name", 100),
    Field("first_name", "First Name", 30),
    Field("middle_name", "Middle Name", 30),
    Field("surname", "Surname", 30),
    Field("initials", "Initials", 30),
    Field("company_no", "Company No.", 20, "code"),
    Field("company_name", "Company Name", 100),
    Field("job_title", "Job Title", 30),
    Field("email", "E-Mail", 80, "email"),
    Field("email2", "E-Mail 2", 80, "email"),
    Field("phone", "Phone No.", 30, "phone"),
    Field("mobile_phone", "Mobile Phone No.", 30, "phone"),
    Field("fax", "Fax No.", 30, "phone"),
    Field("home_page", "Home Page", 255, "url"),
    Field("address", "Address", 100),
    Field("address2", "Address 2", 50),
    Field("city", "City", 30),
    Field("post_code", "Post Code", 20, "code"),
    Field("county", "County", 30),
    Field("country_code", "Country/Region Code", 10, "code"),
    Field("territory_code", "Territory Code", 10, "code"),
    Field("salesperson_code", "Salesperson Code", 20, "code"),
    Field("privacy_blocked", "Privacy Blocked", None, "bool"),
    Field("created_at", "Created At", None, "stamp"),
    Field("modified_at", "Modified At", None, "stamp"),
    Field("revision", "Revision", None, "int"),
)

FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

#: Fields a user edits (everything but identity and bookkeeping).
EDITABLE_KEYS: tuple[str, ...] = tuple(
    f.key for f in FIELDS if f.key not in ("no", "uuid", "created_at", "modified_at", "revision")
)

#: Fields that travel to Exchange (SPEC §3). Filter-only fields and Type do not.
SYNCED_KEYS: tuple[str, ...] = (
    "name", "first_name", "middle_name", "surname", "initials", "company_name", "job_title",
    "email", "email2", "phone", "mobile_phone", "fax", "home_page", "address", "address2",
    "city", "county", "post_code", "country_code",
)

#: The seven fields BC's "Set Sync Filter" dialog offers.
BC_FILTER_KEYS: tuple[str, ...] = (
    "territory_code", "company_no", "salesperson_code", "city", "county", "post_code", "country_code",
)


def _norm_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_ALIASES: dict[str, str] = {}
for _f in FIELDS:
    _ALIASES[_norm_header(_f.key)] = _f.key
    _ALIASES[_norm_header(_f.caption)] = _f.key
_ALIASES.update({"email1": "email", "mobile": "mobile_phone", "phoneno": "phone", "country": "country_code"})


def resolve_field(name: str) -> str | None:
    """Map a key, a BC caption (``E-Mail``, ``Post Code``) or a close spelling to a field key."""
    return _ALIASES.get(_norm_header(name))


def blank_contact() -> dict[str, Any]:
    # A copy of one template: the values are immutable, and this runs several times per imported row.
    return dict(_BLANK)


_BLANK: dict[str, Any] = {f.key: False if f.kind == "bool" else 0 if f.kind == "int" else PERSON if f.kind == "type"
                          else "" for f in FIELDS}


def new_uuid() -> str:
    return str(_uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def compose_name(contact: dict[str, Any]) -> str:
    """BC composes a person's Name from first, middle and surname when any of those is set."""
    parts = [str(contact.get(k) or "").strip() for k in ("first_name", "middle_name", "surname")]
    return " ".join(p for p in parts if p)


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


# --- validation -------------------------------------------------------------------------------

# Deliberately practical, not RFC 5322: one @, a non-empty local part, a dotted domain, no spaces.
_EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+$")
_PHONE_RE = re.compile(r"^[0-9+()\-./ xX#*]*$")


class ValidationError(ValueError):
    """One or more fields are invalid; ``errors`` maps field key → message a user understands."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{FIELD_BY_KEY[k].caption if k in FIELD_BY_KEY else k}: {m}"
                                   for k, m in errors.items()))


def validate_field(key: str, value: Any) -> str | None:
    """Return a message for a bad value, or None."""
    f = FIELD_BY_KEY.get(key)
    if f is None:
        return f"unknown field {key!r}"
    if f.kind == "bool":
        return None if isinstance(value, bool) else "must be yes or no"
    if f.kind == "type":
        return None if value in CONTACT_TYPES else "must be Person or Company"
    if f.kind in ("int", "stamp"):
        return None
    if not isinstance(value, str):
        return "must be text"
    if f.max_len is not None and len(value) > f.max_len:
        return f"is {len(value)} characters long; at most {f.max_len} allowed"
    if not value:
        return None
    if f.kind == "email" and not _EMAIL_RE.match(value.strip()):
        return f"{value!r} is not an e-mail address (expected name@example.com)"
    if f.kind == "phone" and not _PHONE_RE.match(value):
        return "may contain only digits, spaces and + ( ) - . / x # *"
    if f.kind == "code" and ("\n" in value or "\r" in value):
        return "must be on one line"
    return None


def validate(contact: dict[str, Any]) -> dict[str, str]:
    """Validate every editable field; returns field key → message (empty when valid)."""
    errors: dict[str, str] = {}
    defaults = blank_contact()
    for key in EDITABLE_KEYS:
        msg = validate_field(key, contact.get(key, defaults[key]))
        if msg:
            errors[key] = msg
    if not str(contact.get("name") or "").strip() and not compose_name(contact):
        errors.setdefault("name", "a contact needs a name (or a first name / surname)")
    return errors


def normalise(contact: dict[str, Any]) -> dict[str, Any]:
    """Fill missing fields, coerce types, strip single-line fields and compose a person's name."""
    out = blank_contact()
    for key, value in contact.items():
        if key not in FIELD_BY_KEY:
            continue
        f = FIELD_BY_KEY[key]
        if f.kind == "bool":
            out[key] = parse_bool(value) if isinstance(value, str) else bool(value)
        elif f.kind == "int":
            out[key] = int(value or 0)
        elif f.kind == "type":
            out[key] = parse_type(value) if isinstance(value, str) else value
        else:
            out[key] = "" if value is None else str(value)
            if f.kind in ("email", "code", "phone", "url"):
                out[key] = out[key].strip()
    if out["type"] == PERSON:
        composed = compose_name(out)
        if composed:
            out["name"] = composed[: FIELD_BY_KEY["name"].max_len]
    return out


def parse_bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "y", "ja", "oui", "x")


def parse_type(text: str) -> str:
    t = text.strip().lower()
    if t in ("company", "firma", "entreprise", "c"):
        return COMPANY
    if t in ("person", "personne", "p", ""):
        return PERSON
    return text  # validation reports it


def prepare(contact: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate; raise ValidationError with every bad field."""
    out = normalise(contact)
    errors = validate(out)
    if errors:
        raise ValidationError(errors)
    return out


def display_value(contact: dict[str, Any], key: str) -> str:
    value = contact.get(key)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
