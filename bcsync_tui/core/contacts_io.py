"""Import and export of master contacts: CSV (Outlook, Google, BC and our own layouts) and vCard.

Imports are all-or-nothing by default: the whole file is read and validated first, and a caller
writes only when every row is good (or when it chose to skip the bad ones). Nothing here writes
to the store; ``plan_import`` says what an import would do, the caller commits it in one
transaction. Data the master cannot keep is counted per column or property, never dropped
silently. No Textual, no exchangelib.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from . import model
from .contacts_csv import header_cells, parse_csv, write_csv
from .contacts_dialects import CAPTIONS, recognise
from .contacts_plan import plan_import
from .contacts_types import ImportFileError, ImportPlan, ImportRow, ReadResult, RowProblem, check_encoding
from .gc_pause import paused_gc

__all__ = ["FORMATS", "EXPORT_KEYS", "ImportFileError", "ImportPlan", "ImportRow", "ReadResult", "RowProblem",
           "decode_text", "detect_format", "export_contacts", "format_for_export", "parse_csv", "paused_gc", "plan_import",
           "read_contacts", "write_csv"]

FORMATS = ("csv", "vcard")

#: columns an export writes, in BC's order (bookkeeping fields and the UUID stay inside bcsync)
EXPORT_KEYS: tuple[str, ...] = ("no",) + model.EDITABLE_KEYS

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


def decode_text(path: str, data: bytes, fmt: str, encoding: str | None = None,
                notes: list[str] | None = None) -> str:
    """Bytes → text, refusing binary files and wrong encodings with a message that says what to do.

    Outlook writes its CSV (and older Outlook its vCard 2.1) in the Windows code page unless told
    UTF-8: a file that is not UTF-8 but whose header is an Outlook or Google layout in Windows-1252,
    or a vCard 2.1 in Windows-1252, is read as Windows-1252 (and ``notes`` says so)."""
    what = "CSV" if fmt == "csv" else "vCard"
    if not data or data.isspace():  # (data.strip() would copy the whole file to tell)
        raise ImportFileError(path, "is empty", f"Nothing to import; check you picked the right {what} file.")
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(path, "is a zip archive or an Excel workbook, not a text file",
                              "Save it as CSV first (in Excel: File > Save As > 'CSV UTF-8').")
    if encoding:
        try:
            return data.decode(check_encoding(encoding))
        except ValueError as exc:  # UnicodeError is a ValueError
            if isinstance(exc, UnicodeDecodeError):
                problem = f"is not {encoding} text (byte {exc.start})"
            elif isinstance(exc, UnicodeError):
                problem = f"cannot be read as {encoding} ({exc})"
            else:
                problem = str(exc)
            raise ImportFileError(path, problem, "Name the file's character set with --encoding, "
                                  "e.g. utf-8, cp1252 or latin-1.") from None
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
        ansi = _windows_export(data, fmt)
        if ansi is not None:
            if notes is not None:
                notes.append("read as Windows-1252, the code page Outlook writes; "
                             "pass --encoding if the accented letters look wrong")
            return ansi
        line = data[:exc.start].count(b"\n") + 1
        raise ImportFileError(
            path, f"is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line})",
            "Save it as UTF-8 (in Excel: 'CSV UTF-8'), or name its encoding with --encoding cp1252.") from None


def _windows_export(data: bytes, fmt: str) -> str | None:
    """The text of an Outlook or Google CSV, or an Outlook vCard 2.1, written in Windows-1252."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if fmt == "vcard":
        head = text.lstrip()[:200].upper()
        return text if head.startswith("BEGIN:VCARD") and "VERSION:2.1" in head else None
    dialect, label = recognise(header_cells(text))
    return text if dialect is not None and label != CAPTIONS else None


def read_contacts(path: str, fmt: str | None = None, encoding: str | None = None,
                  stdin: IO[bytes] | None = None, *, unguard: bool = True) -> ReadResult:
    """Read a CSV or vCard file (``-`` = standard input)."""
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
    notes: list[str] = []
    text = decode_text(path, data, detect_format(path, None, fmt) or "csv", encoding, notes)
    fmt = detect_format(path, text, fmt)
    if fmt == "vcard":
        from .contacts_vcard import parse_vcards

        result = parse_vcards(text, path)
    else:
        result = parse_csv(text, path, unguard=unguard)
    result.warnings[:0] = notes
    return result


# --- export ----------------------------------------------------------------------------------

def export_contacts(path: str, contacts: list[dict[str, Any]], fmt: str, *, delimiter: str = ",",
                    bom: bool = False, vcard_version: str = "3.0", formula_guard: bool = True,
                    stdout: IO[str] | None = None) -> None:
    """Write contacts to ``path`` (``-`` = standard output); a file is replaced only when complete."""
    import io

    buf = io.StringIO(newline="")
    if fmt == "vcard":
        from .contacts_vcard import write_vcards

        write_vcards(buf, contacts, version=vcard_version)
    else:
        write_csv(buf, contacts, EXPORT_KEYS, delimiter=delimiter, formula_guard=formula_guard)
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
