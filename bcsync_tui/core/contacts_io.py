"""Import and export of master contacts: CSV (BC's captions or field keys) and vCard 3.0/4.0.

Imports are all-or-nothing by default: the whole file is read and validated first, and a caller
writes only when every row is good (or when it chose to skip the bad ones). Nothing here writes
to the store; ``plan_import`` says what an import would do, the caller commits it in one
transaction. No Textual, no exchangelib.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import model

FORMATS = ("csv", "vcard")

#: columns an export writes, in BC's order (bookkeeping fields and the UUID stay inside bcsync)
EXPORT_KEYS: tuple[str, ...] = ("no",) + model.EDITABLE_KEYS

#: fields bcsync assigns itself: accepted in a header (an exported file re-imports) but ignored
_ASSIGNED_KEYS = ("uuid", "created_at", "modified_at", "revision")

_TRUE = {"1", "true", "yes", "y", "ja", "oui", "x", "on"}
_FALSE = {"", "0", "false", "no", "n", "nei", "non", "off"}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (binary, wrong encoding, not CSV/vCard, truncated)."""

    def __init__(self, path: str, problem: str, hint: str = ""):
        self.path, self.problem, self.hint = path, problem, hint
        super().__init__(f"{path}: {problem}." + (f" {hint}" if hint else ""))


@dataclass
class ImportRow:
    """One contact as read from a file: raw text values by field key, and where it starts."""

    line: int
    data: dict[str, str]
    #: problems found while reading that make the row invalid (e.g. a garbled vCard line)
    errors: list[str] = field(default_factory=list)
    #: things dropped while reading that do not make the row invalid
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        d = self.data
        composed = " ".join(p for p in (d.get("first_name", ""), d.get("surname", "")) if p.strip())
        return (d.get("name") or composed or d.get("company_name") or d.get("email") or "").strip()


@dataclass
class RowProblem:
    line: int
    name: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "name": self.name, "reason": self.reason}

    def __str__(self) -> str:
        who = f" ({self.name})" if self.name else ""
        return f"line {self.line}{who}: {self.reason}"


@dataclass
class ImportPlan:
    rows_read: int = 0
    #: (line, prepared contact) for every row that would be imported
    accepted: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def contacts(self) -> list[dict[str, Any]]:
        """Rows for ``Store.add_contacts``: those with their own number first, so the number
        series cannot hand one of those numbers to an earlier row."""
        rows = [c for _, c in self.accepted]
        return [c for c in rows if c.get("no")] + [c for c in rows if not c.get("no")]


# --- reading files ---------------------------------------------------------------------------

def detect_format(path: str, text: str | None = None, explicit: str | None = None) -> str | None:
    """``explicit``, else by the file name's extension, else by content (None if undecided)."""
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix in (".vcf", ".vcard"):
        return "vcard"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if text is None:
        return None
    return "vcard" if text.lstrip().upper().startswith("BEGIN:VCARD") else "csv"


def decode_text(path: str, data: bytes, fmt: str, encoding: str | None = None) -> str:
    """Bytes → text, refusing binary files and wrong encodings with a message that says what to do."""
    what = "CSV" if fmt == "csv" else "vCard"
    if not data.strip():
        raise ImportFileError(path, "is empty", f"Nothing to import; check you picked the right {what} file.")
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(path, "is a zip archive or an Excel workbook, not a text file",
                              "Save it as CSV first (in Excel: File > Save As > 'CSV UTF-8').")
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise ImportFileError(path, f"unknown encoding {encoding!r}",
                                  "Use a Python codec name such as utf-8, cp1252 or latin-1.") from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(path, f"is not {encoding} text (byte {exc.start})",
                                  "Check the --encoding value.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text", some Outlook exports
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise ImportFileError(path, f"looks like a binary file, not {what} text",
                              f"Export the contacts as {what} (UTF-8) and import that file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportFileError(
            path, f"is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line})",
            "Save it as UTF-8 (in Excel: 'CSV UTF-8'), or name its encoding with --encoding cp1252.") from None


def read_contacts(path: str, fmt: str | None = None, encoding: str | None = None,
                  stdin: IO[bytes] | None = None) -> tuple[str, list[ImportRow], list[str]]:
    """Read a CSV or vCard file (``-`` = standard input): (format, rows, file-level warnings)."""
    if path == "-":
        data = (stdin or sys.stdin.buffer).read()
    else:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise ImportFileError(path, "does not exist", "Check the path.") from None
        except IsADirectoryError:
            raise ImportFileError(path, "is a directory", "Name a CSV or vCard file.") from None
        except OSError as exc:
            raise ImportFileError(path, f"cannot be read ({exc.strerror})") from None
    text = decode_text(path, data, detect_format(path, None, fmt) or "csv", encoding)
    fmt = detect_format(path, text, fmt)
    if fmt == "vcard":
        from .contacts_vcard import parse_vcards

        rows, warnings = parse_vcards(text, path)
    else:
        rows, warnings = parse_csv(text, path)
    return fmt, rows, warnings


def _sniff_delimiter(text: str) -> str:
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


def parse_csv(text: str, path: str = "<csv>") -> tuple[list[ImportRow], list[str]]:
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    warnings: list[str] = []
    columns: list[str | None] | None = None
    rows: list[ImportRow] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns = _map_header(cells, path, warnings)
                continue
            row = ImportRow(line, {})
            extra = [c for c in cells[len(columns):] if c.strip()]
            if extra:
                row.errors.append(f"has {len(cells)} values but the header has {len(columns)} columns "
                                  "(a value with the delimiter inside must be in double quotes)")
            for key, value in zip(columns, cells, strict=False):
                if key is not None:
                    row.data[key] = value.strip()
            rows.append(row)
    except csv.Error as exc:
        raise ImportFileError(path, f"is not valid CSV near line {reader.line_num} ({exc})",
                              "A quote is probably not closed; fix the file or export it again.") from None
    if columns is None:
        raise ImportFileError(path, "has no header line", "The first line must name the columns, e.g. Name;E-Mail;City.")
    return rows, warnings


def _map_header(cells: list[str], path: str, warnings: list[str]) -> list[str | None]:
    columns: list[str | None] = []
    seen: dict[str, str] = {}
    for cell in cells:
        title = cell.strip()
        key = model.resolve_field(title) if title else None
        if key is None:
            if title:
                warnings.append(f"column {title!r} is not a contact field; ignored")
        elif key in _ASSIGNED_KEYS:
            warnings.append(f"column {title!r} is assigned by bcsync; ignored")
            key = None
        elif key in seen:
            raise ImportFileError(path, f"has two columns for {model.FIELD_BY_KEY[key].caption}: "
                                  f"{seen[key]!r} and {title!r}", "Remove one of them.")
        else:
            seen[key] = title
        columns.append(key)
    if not seen:
        shown = ", ".join(repr(c.strip()) for c in cells[:5])
        raise ImportFileError(path, f"has no column bcsync knows (header: {shown})",
                              "Name the columns with field names such as Name, First Name, E-Mail, City, Post Code.")
    return columns


# --- validation and duplicates ---------------------------------------------------------------

def _check_row(row: ImportRow) -> tuple[dict[str, Any] | None, str]:
    """The prepared contact, or None and why not."""
    data = dict(row.data)
    problems = list(row.errors)
    blocked = data.get("privacy_blocked")
    if blocked is not None and blocked.strip().lower() not in _TRUE | _FALSE:
        problems.append(f"Privacy Blocked: {blocked!r} must be yes or no")
        data.pop("privacy_blocked")
    number = data.pop("no", "").strip().upper()
    if number:
        msg = model.validate_field("no", number)
        if msg:
            problems.append(f"No.: {msg}")
    try:
        contact = model.prepare(data)
    except model.ValidationError as exc:
        problems.append(str(exc))
        contact = None
    if problems:
        return None, "; ".join(problems)
    assert contact is not None
    contact["no"] = number
    return contact, ""


def plan_import(rows: list[ImportRow], existing: list[dict[str, Any]], *, allow_duplicates: bool = False,
                warnings: list[str] | None = None) -> ImportPlan:
    """Validate every row and find duplicates, against the file itself and ``existing`` contacts
    (pass tombstones too: their numbers stay taken)."""
    plan = ImportPlan(rows_read=len(rows), warnings=list(warnings or []))
    taken_numbers = {str(c.get("no", "")).upper() for c in existing}
    by_email = {model.normalise_email(c.get("email")): c for c in existing
                if not c.get("deleted") and c.get("email")}
    file_numbers: dict[str, int] = {}
    file_emails: dict[str, int] = {}
    for row in rows:
        for note in row.notes:
            plan.warnings.append(f"line {row.line} ({row.label}): {note}")
        contact, reason = _check_row(row)
        if contact is not None and contact["no"]:
            if contact["no"] in taken_numbers:
                contact, reason = None, f"No. {row.data['no'].strip()} is already used in the contact store"
            elif contact["no"] in file_numbers:
                contact, reason = None, f"No. {contact['no']} is also on line {file_numbers[contact['no']]}"
        if contact is None:
            plan.invalid.append(RowProblem(row.line, row.label, reason))
            continue
        email = model.normalise_email(contact["email"])
        if email and not allow_duplicates:
            if email in by_email:
                other = by_email[email]
                plan.duplicates.append(RowProblem(row.line, contact["name"],
                                                  f"{contact['email']} is already in the store as "
                                                  f"{other.get('no', '')} {other.get('name', '')}".rstrip()))
                continue
            if email in file_emails:
                plan.duplicates.append(RowProblem(row.line, contact["name"],
                                                  f"{contact['email']} is also on line {file_emails[email]}"))
                continue
        if email:
            file_emails.setdefault(email, row.line)
        if contact["no"]:
            file_numbers[contact["no"]] = row.line
        plan.accepted.append((row.line, contact))
    return plan


# --- export ----------------------------------------------------------------------------------

def write_csv(out: IO[str], contacts: list[dict[str, Any]], *, delimiter: str = ",",
              keys: tuple[str, ...] = EXPORT_KEYS) -> None:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([model.FIELD_BY_KEY[k].caption for k in keys])
    for c in contacts:
        writer.writerow([model.display_value(c, k) for k in keys])


def export_contacts(path: str, contacts: list[dict[str, Any]], fmt: str, *, delimiter: str = ",",
                    bom: bool = False, vcard_version: str = "3.0", stdout: IO[str] | None = None) -> None:
    """Write contacts to ``path`` (``-`` = standard output); a file is replaced only when complete."""
    buf = io.StringIO(newline="")
    if fmt == "vcard":
        from .contacts_vcard import write_vcards

        write_vcards(buf, contacts, version=vcard_version)
    else:
        write_csv(buf, contacts, delimiter=delimiter)
    text = buf.getvalue()
    if path == "-":
        (stdout or sys.stdout).write(text)
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def format_for_export(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return "vcard" if Path(path).suffix.lower() in (".vcf", ".vcard") else "csv"
