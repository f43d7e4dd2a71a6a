"""CSV reading (the layouts of ``contacts_dialects``) and writing, with the spreadsheet formula guard.

Export neutralises cells a spreadsheet would run as a formula (they start with = + - @, tab or CR)
by putting an apostrophe in front; a cell that already starts with apostrophes before such a
character gets one more, so the import of our own export takes exactly one off and round trips
stay lossless.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress
from typing import IO, Any

from . import model
from .contacts_csv_bulk import GUARDED, final_cells, physical_lines, read_simple_rows
from .contacts_dialects import (BC_DERIVED, DEFAULTED, DERIVED, GOOGLE_GROUP,
                                OUTLOOK_PLACEHOLDERS, STREET, STREET2, UNKEPT, Dialect, fold, recognise)
from .contacts_types import ImportFileError, ImportRow, ReadResult

#: fields bcsync assigns itself: accepted in a header (an exported file re-imports) but ignored
ASSIGNED_KEYS = ("uuid", "created_at", "modified_at", "revision")

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
#: Google puts several values of one kind into one cell, joined by this
_GOOGLE_JOIN = " ::: "
_GOOGLE_DEFAULT_LABELS = {"* mycontacts", "mycontacts", "* my contacts"}


def guard_formula(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def unguard_formula(value: str) -> str:
    return value[1:] if GUARDED.match(value) else value


@dataclass
class _Column:
    index: int
    title: str
    role: str
    #: a Google group column: (kind, number, part), e.g. ("phone", 2, "value")
    group: tuple[str, int, str] | None = None

    @property
    def is_field(self) -> bool:
        return self.group is None and self.role in model.FIELD_BY_KEY


# --- reading ---------------------------------------------------------------------------------

def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of ; , and tab outside quotes."""
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
        elif not quoted and ch in "\r\n":
            break
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_cells(text: str) -> list[str]:
    """The first line's cells (to recognise a layout before the whole file is decoded)."""
    first = text.split("\n", 1)[0]
    return next(csv.reader([first], delimiter=sniff_delimiter(first)), [])


def parse_csv(text: str, path: str = "<csv>", *, unguard: bool = True) -> ReadResult:
    delimiter = sniff_delimiter(text)
    lines, ends = physical_lines(text)  # what io.StringIO(text, newline="") would hand csv.reader
    reader = csv.reader(map(str.__add__, lines, ends), delimiter=delimiter, strict=True)
    result = ReadResult("csv", "", [])
    records = _records(reader, path)
    for _line, cells in records:
        if "".join(cells).strip():  # the first line holding more than spaces
            break
    else:
        raise ImportFileError(path, "has no header line", "The first line must name the columns, e.g. Name;E-Mail;City.")
    dialect, result.source = recognise(cells)
    columns = _plan_columns(cells, dialect, path, result)
    keys = [c.role if c.is_field else "" for c in columns]
    # every column one field of its own (our export): rows take the short path
    simple = all(keys) and len(set(keys)) == len(keys)
    # our export, also after a spreadsheet dropped or moved some of its columns
    result.guarded = unguard and dialect is None
    if simple:
        bulk = read_simple_rows(lines, ends, reader.line_num, delimiter, keys, result.guarded)
        if bulk is not None:
            result.rows, result.table = bulk
            return result
    for line, cells in records:
        if not "".join(cells).strip():  # no cell holds more than spaces
            continue
        if simple and len(cells) <= len(columns):
            result.rows.append(_read_simple_row(line, cells, keys, result.guarded))
        else:
            result.rows.append(_read_row(line, cells, columns, keys, result))
    return result


def _records(reader: Any, path: str) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its cells), a malformed file worded as such."""
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            yield line, cells
    except csv.Error as exc:
        raise ImportFileError(path, f"is not valid CSV near line {reader.line_num} ({exc})",
                              "A quote is probably not closed; fix the file or export it again.") from None


def _plan_columns(cells: list[str], dialect: Dialect | None, path: str, result: ReadResult) -> list[_Column]:
    columns: list[_Column] = []
    seen: dict[str, str] = {}
    occurrences: Counter[str] = Counter()
    for index, cell in enumerate(cells):
        title = cell.replace("\ufeff", "").strip()
        if not title:
            columns.append(_Column(index, f"column {index + 1}", UNKEPT))
            continue
        if dialect is None:
            role = _caption_role(title, path, seen, result)
        else:
            folded = fold(title)
            roles = dialect.columns.get(folded)
            match = GOOGLE_GROUP.match(title) if dialect.google_groups and roles is None else None
            if match:
                group = (match["kind"].strip().casefold(), int(match["n"]), match["part"].strip().casefold())
                columns.append(_Column(index, title, "", group))
                continue
            nth = occurrences[folded]
            occurrences[folded] += 1
            role = roles[min(nth, len(roles) - 1)] if roles else UNKEPT
        columns.append(_Column(index, title, role))
    if not any(c.role in model.FIELD_BY_KEY or c.role in (STREET, STREET2) or c.group for c in columns):
        shown = ", ".join(repr(c.strip()) for c in cells[:5])
        raise ImportFileError(path, f"has no column bcsync knows (header: {shown})",
                              "Name the columns with field names such as Name, First Name, E-Mail, City, Post Code.")
    return columns


def _caption_role(title: str, path: str, seen: dict[str, str], result: ReadResult) -> str:
    key = model.resolve_field(title)
    if key is None:
        if fold(title) in BC_DERIVED:
            result.derived.append(title)
            return DERIVED
        return UNKEPT
    if key in ASSIGNED_KEYS:
        result.warnings.append(f"column {title!r} is assigned by bcsync; ignored")
        return DERIVED
    if key in seen:
        raise ImportFileError(path, f"has two columns for {model.FIELD_BY_KEY[key].caption}: "
                              f"{seen[key]!r} and {title!r}", "Remove one of them.")
    seen[key] = title
    return key


def _read_simple_row(line: int, cells: list[str], keys: list[str], guarded: bool) -> ImportRow:
    """A row where each column is a different field: what ``_read_row`` does, at C speed."""
    values = final_cells(cells, guarded)
    return ImportRow(line, dict(compress(zip(keys, values), values)))


def _read_row(line: int, cells: list[str], columns: list[_Column], keys: list[str], result: ReadResult) -> ImportRow:
    """One row; ``keys`` holds each column's field key ("" for the columns that need routing)."""
    row = ImportRow(line, {})
    data = row.data
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
        row.errors.append(f"has {len(cells)} values but the header has {len(columns)} columns "
                          "(a value with the delimiter inside must be in double quotes)")
    unkept = result.unkept
    guarded = result.guarded
    street2: list[str] = []
    groups: dict[tuple[str, int], dict[str, tuple[str, str]]] | None = None
    for col, field_key, raw in zip(columns, keys, cells, strict=False):
        if not raw:
            continue
        value = raw.strip()
        if not value:
            continue
        if guarded and value[0] == "'":
            value = unguard_formula(value)
        if field_key:
            if field_key in data and data[field_key] != value:
                unkept[col.title] += 1
            else:
                data[field_key] = value
            continue
        role = col.role
        if col.group is not None:
            kind, n, part = col.group
            groups = groups if groups is not None else {}
            groups.setdefault((kind, n), {})[part] = (value, col.title)
        elif role == STREET:
            lines = [ln.strip() for ln in value.splitlines() if ln.strip()]
            data["address"] = lines[0] if lines else ""
            street2[:0] = lines[1:]
        elif role == STREET2:
            street2.append(value)
        elif role == DEFAULTED:
            if not _is_placeholder(value):
                unkept[col.title] += 1
        elif role != DERIVED:
            unkept[col.title] += 1
    if groups:
        _route_google(groups, data, street2, unkept)
    if street2:
        data["address2"] = ", ".join([data["address2"]] + street2 if data.get("address2") else street2)
    return row


def _is_placeholder(value: str) -> bool:
    folded = value.casefold()
    if folded in OUTLOOK_PLACEHOLDERS:
        return True
    labels = [p.strip().casefold() for p in value.split(_GOOGLE_JOIN)]
    return all(p in _GOOGLE_DEFAULT_LABELS for p in labels)


def _label(parts: dict[str, tuple[str, str]]) -> str:
    value = (parts.get("label") or parts.get("type") or ("", ""))[0]
    return value.replace("*", "").strip().casefold()


def _route_google(groups: dict[tuple[str, int], dict[str, tuple[str, str]]], data: dict[str, str],
                  street2: list[str], unkept: Counter[str]) -> None:
    """Google's numbered groups: e-mails, phones by label, the first non-home address, the first website."""
    emails: list[tuple[bool, str, str]] = []
    address_taken = "address" in data
    for (kind, _n), parts in sorted(groups.items(), key=lambda g: g[0][1]):
        label = _label(parts)
        value, column = parts.get("value", ("", ""))
        values = [v.strip() for v in value.split(_GOOGLE_JOIN) if v.strip()]
        if kind == "e-mail":
            emails += [("*" in (parts.get("label") or parts.get("type") or ("", ""))[0], v, column) for v in values]
        elif kind == "phone":
            for v in values:
                key = ("fax" if "fax" in label and "home" not in label else "mobile_phone" if "mobile" in label
                       else None if label in ("home", "pager") or "home" in label else "phone")
                if key and key not in data:
                    data[key] = v
                else:
                    unkept[column] += 1
        elif kind == "address":
            if label != "home" and not address_taken:
                address_taken = True
                _google_address(parts, data, street2, unkept)
            else:
                for part, (_v, col) in parts.items():
                    if part not in ("label", "type", "formatted"):
                        unkept[col] += 1
        elif kind == "website":
            for v in values:
                if "home_page" not in data:
                    data["home_page"] = v
                else:
                    unkept[column] += 1
        elif kind == "organization" and _n == 1:
            for part, (v, col) in parts.items():
                key = {"name": "company_name", "title": "job_title"}.get(part)
                if key and key not in data:
                    data[key] = v
                elif part != "type":
                    unkept[col] += 1
        else:
            for part, (_v, col) in parts.items():
                if part not in ("label", "type"):
                    unkept[col] += 1
    emails.sort(key=lambda e: not e[0])  # the primary ("* Work") first
    for key, (_primary, address, _column) in zip(("email", "email2"), emails, strict=False):
        data.setdefault(key, address)
    for _primary, _address, column in emails[2:]:
        unkept[column] += 1


def _google_address(parts: dict[str, tuple[str, str]], data: dict[str, str], street2: list[str],
                    unkept: Counter[str]) -> None:
    lines = [ln.strip() for ln in parts.get("street", ("", ""))[0].splitlines() if ln.strip()]
    pobox = parts.get("po box")
    if not lines and pobox:
        lines, pobox = [pobox[0]], None
    if lines:
        data["address"] = lines[0]
        street2.extend(lines[1:])
    if "extended address" in parts:
        street2.append(parts["extended address"][0])
    if pobox:
        unkept[pobox[1]] += 1
    for part, key in (("city", "city"), ("region", "county"), ("postal code", "post_code"), ("country", "country_code")):
        if part in parts:
            data[key] = parts[part][0]


# --- writing ---------------------------------------------------------------------------------

def write_csv(out: IO[str], contacts: list[dict[str, Any]], keys: tuple[str, ...], *, delimiter: str = ",",
              formula_guard: bool = True) -> None:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([model.FIELD_BY_KEY[k].caption for k in keys])
    for c in contacts:
        values = [model.display_value(c, k) for k in keys]
        writer.writerow([guard_formula(v) for v in values] if formula_guard else values)
