"""The master contact: fields, limits, validation and name composition (SPEC §3).

A contact travels through the code as a plain ``dict`` keyed by field key (``"email"``,
``"first_name"``, ...): that is what TinyDB stores (without its blank fields: contact_docs.py),
what the filters match and what the sync projects. This module is the single place that knows the
field list, captions and limits.
"""

from __future__ import annotations

import functools
import os
import re
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
    """A random UUID (version 4), as ``uuid.uuid4`` writes it (that module, with ``platform``, would
    cost every command ~5 ms to import). One at a time: ``new_uuids``' column-wise layout costs a
    few dozen slice assignments a call, ~40 µs for one UUID (2 s of adding 50,000 contacts)."""
    raw = bytearray(os.urandom(16))
    raw[6], raw[8] = _UUID_VERSION_4[raw[6]], _UUID_VARIANT[raw[8]]
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: byte maps setting the version (4) and variant (RFC 4122) bits of a random UUID
_UUID_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_UUID_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_uuids(count: int) -> list[str]:
    """``count`` random UUIDs as ``new_uuid`` writes them (version 4), drawn from the OS at once:
    an import of 50,000 contacts would spend a third of a second in ``uuid.uuid4``. The text is laid
    out for all of them at once, a column at a time (a slice assignment per hex digit and hyphen),
    then split: 70 ms of formatting one by one at 50,000 became a few."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = raw[6::16].translate(_UUID_VERSION_4)
    raw[8::16] = raw[8::16].translate(_UUID_VARIANT)
    digits = raw.hex().encode()
    out = bytearray(b"\n" * (37 * count))  # 36 characters and a line break each
    for at in range(32):  # hex digit ``at`` of every UUID; a hyphen before digits 8, 12, 16 and 20
        out[at + (at >= 8) + (at >= 12) + (at >= 16) + (at >= 20)::37] = digits[at::32]
    for at in (8, 13, 18, 23):
        out[at::37] = b"-" * count
    return out.decode().split("\n")[:count]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


#: Han (with 々 and 〇), Hiragana, Katakana (with ・ and ー, half-width forms) and Hangul, alone
_HAN_KANA = "\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f" \
            "\U00020000-\U0003134f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"


@functools.cache
def _scripts() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """East Asian, Hangul and Katakana patterns, compiled when a non-ASCII surname first needs them
    (~7 ms: every command imports this module, `bcsync status` included)."""
    return (re.compile(f"[{_HAN_KANA}{_HANGUL}]+"), re.compile(f"[{_HANGUL}]"),
            re.compile("[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"))


def compose_parts(first: str, middle: str, surname: str) -> str:
    """A person's Name from its stripped parts, as people of its script write it (CLDR person names):
    given names first with spaces ("Ann Lee"); a name written only in Han, Kana or Hangul family name
    first without a space ("张伟", "山田太郎", "강유미"), a Korean middle name after a space ("김민규 헨리");
    a foreign name in Katakana given name first with a middle dot ("アルベルト・アインシュタイン")."""
    parts = (first, middle, surname)
    if surname and not surname.isascii() and all(not p or _scripts()[0].fullmatch(p) for p in parts):
        if all(not p or _scripts()[2].fullmatch(p) for p in parts):
            return "\u30fb".join(filter(None, parts))
        if middle and _scripts()[1].search(surname + first + middle):
            return f"{surname}{first} {middle}"
        return surname + first + middle
    return " ".join(filter(None, parts))


def compose_name(contact: dict[str, Any]) -> str:
    """BC composes a person's Name from first, middle and surname when any of those is set."""
    return compose_parts(*(str(contact.get(k) or "").strip() for k in ("first_name", "middle_name", "surname")))


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


def _text_check(f: Field) -> Any:
    """The check of one text field, its limits bound once (imports call it for every cell)."""
    max_len, kind = f.max_len, f.kind

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be text"
        if max_len is not None and len(value) > max_len:
            return f"is {len(value)} characters long; at most {max_len} allowed"
        if not value:
            return None
        if kind == "email" and not _EMAIL_RE.match(value.strip()):
            return f"{value!r} is not an e-mail address (expected name@example.com)"
        if kind == "phone" and not _PHONE_RE.match(value):
            return "may contain only digits, spaces and + ( ) - . / x # *"
        if kind == "code" and ("\n" in value or "\r" in value):
            return "must be on one line"
        return None
    return check


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be yes or no"


def _check_type(value: Any) -> str | None:
    return None if value in CONTACT_TYPES else "must be Person or Company"


def _check_nothing(value: Any) -> None:
    return None


def _checker(f: Field) -> Any:
    if f.kind == "bool":
        return _check_bool
    if f.kind == "type":
        return _check_type
    if f.kind in ("int", "stamp"):
        return _check_nothing
    return _text_check(f)


#: field key -> its check, built once from FIELDS
_CHECKS: dict[str, Any] = {f.key: _checker(f) for f in FIELDS}
_ONE_LINE_RE = re.compile(r"[^\r\n]*\Z")
#: a C-level test that passes a good value of a text kind (a value it fails gets the full check)
_FAST_OK: dict[str, Any] = {"email": _EMAIL_RE.match, "phone": _PHONE_RE.match, "code": _ONE_LINE_RE.match}
#: (key, max length, fast test or None) of the editable text fields: a str within the limit that
#: is empty or passes the test is valid without calling its check
_TEXT_LIMITS: tuple[tuple[str, int, Any], ...] = tuple(
    (k, f.max_len, _FAST_OK.get(f.kind)) for k in EDITABLE_KEYS
    if (f := FIELD_BY_KEY[k]).is_text and f.kind != "type" and f.max_len is not None)
#: (key, default, check) of the other editable fields, in field order
_OTHER_CHECKS: tuple[tuple[str, Any, Any], ...] = tuple(
    (k, _BLANK[k], _CHECKS[k]) for k in EDITABLE_KEYS if k not in {t[0] for t in _TEXT_LIMITS})


def validate_field(key: str, value: Any) -> str | None:
    """Return a message for a bad value, or None."""
    check = _CHECKS.get(key)
    if check is None:
        return f"unknown field {key!r}"
    result: str | None = check(value)
    return result


def validate(contact: dict[str, Any]) -> dict[str, str]:
    """Validate every editable field; returns field key → message (empty when valid)."""
    errors: dict[str, str] = {}
    get = contact.get
    checks = _CHECKS
    for key, limit, fast_ok in _TEXT_LIMITS:  # most cells: short text passing a C-level test
        value = get(key, "")
        if type(value) is str and len(value) <= limit and (not value or fast_ok is None or fast_ok(value)):
            continue
        msg = checks[key](value)
        if msg:
            errors[key] = msg
    for key, default, check in _OTHER_CHECKS:
        msg = check(get(key, default))
        if msg:
            errors[key] = msg
    if len(errors) > 1:  # in field order, as the messages are shown
        errors = {k: errors[k] for k in EDITABLE_KEYS if k in errors}
    if not str(get("name") or "").strip() and not compose_name(contact):
        errors.setdefault("name", "a contact needs a name (or a first name / surname)")
    return errors


def _to_text(value: Any) -> str:
    return value if type(value) is str else "" if value is None else str(value)


def _to_stripped(value: Any) -> str:
    return _to_text(value).strip()


def _to_bool(value: Any) -> bool:
    return parse_bool(value) if isinstance(value, str) else bool(value)


def _to_int(value: Any) -> int:
    return int(value or 0)


def _to_type(value: Any) -> Any:
    return parse_type(value) if isinstance(value, str) else value


def _converter(f: Field) -> Any:
    if f.kind == "bool":
        return _to_bool
    if f.kind == "int":
        return _to_int
    if f.kind == "type":
        return _to_type
    return _to_stripped if f.kind in ("email", "code", "phone", "url") else _to_text


#: field key -> the function coercing a value to that field's type, built once from FIELDS
_CONVERT: dict[str, Any] = {f.key: _converter(f) for f in FIELDS}
_NAME_MAX = FIELD_BY_KEY["name"].max_len
#: the fields whose text is kept as it is
_PLAIN_TEXT: frozenset[str] = frozenset(k for k, conv in _CONVERT.items() if conv is _to_text)
#: the fields whose text is stripped
_STRIPPED_TEXT: frozenset[str] = frozenset(k for k, conv in _CONVERT.items() if conv is _to_stripped)


def normalise(contact: dict[str, Any]) -> dict[str, Any]:
    """Fill missing fields, coerce types, strip single-line fields and compose a person's name."""
    out = dict(_BLANK)
    convert = _CONVERT
    plain, stripped = _PLAIN_TEXT, _STRIPPED_TEXT
    for key, value in contact.items():
        if type(value) is str:  # the common case, without a call
            if key in plain:
                out[key] = value
                continue
            if key in stripped:
                out[key] = value.strip()
                continue
        conv = convert.get(key)
        if conv is not None:
            out[key] = conv(value)
    if out["type"] == PERSON:  # compose_name, on values known to be text
        composed = compose_parts(out["first_name"].strip(), out["middle_name"].strip(), out["surname"].strip())
        if composed:
            out["name"] = composed[:_NAME_MAX]
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


def prepare_or_error(contact: dict[str, Any]) -> dict[str, Any] | ValidationError:
    try:
        return prepare(contact)
    except ValidationError as exc:
        return exc


def display_value(contact: dict[str, Any], key: str) -> str:
    value = contact.get(key, _BLANK.get(key))  # (a stored document leaves blank fields out)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
