"""The import's bulk paths (issue 14) give exactly the row-by-row results: the CSV read as whole
lines (core.contacts_csv_bulk) against csv.reader row by row, on random files, quotes, spaces,
formula guards and line breaks included."""

from __future__ import annotations

import csv
import io
import sys

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bcsync_tui.core.contact_docs import filled
from bcsync_tui.core.contacts_csv import _read_simple_row, _records, parse_csv, sniff_delimiter
from bcsync_tui.core import contacts_plan
from bcsync_tui.core.contacts_plan import plan_import
from bcsync_tui.core.contacts_csv_bulk import SPACES, physical_lines, read_simple_rows
from bcsync_tui.core.contacts_types import ImportFileError
from bcsync_tui.core.contacts_vcard_lex import components, components_by_token, unescape, unescape_each

_HEADER = ["No.", "Name", "E-Mail", "Phone No.", "City"]
_KEYS = ["no", "name", "email", "phone", "city"]
_CELL = st.text(alphabet="ab '=+-@\"\t\r\n,;\x0b\xa0\u3000é", max_size=5)


def _row_by_row(text: str, guarded: bool) -> tuple[int, list[tuple[int, dict]]] | None:
    """What parse_csv did for these files before the bulk path: (lines the header took, rows),
    None when the file is refused or has a row longer than the header (the bulk path must then
    leave it to the row-by-row reading)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=True)
    records = _records(reader, "f.csv")
    try:
        for _line, cells in records:
            if "".join(cells).strip():
                break
        start = reader.line_num
        rows = []
        for line, cells in records:
            if not "".join(cells).strip():
                continue
            if len(cells) > len(_KEYS):
                return None
            row = _read_simple_row(line, cells, _KEYS, guarded)
            rows.append((row.line, row.data))
    except ImportFileError:
        return None
    return start, rows


def _text(rows: list[list[str]], delimiter: str, ends: list[str], quoting: int | None) -> str:
    if quoting is None:  # joined as they are: quotes may be unbalanced, rows of any length
        lines = [delimiter.join(r) for r in [_HEADER, *rows]]
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\n")
        for r in [_HEADER, *rows]:
            writer.writerow(r)
        lines = out.getvalue().split("\n")[:-1]
    return "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))


@settings(deadline=None)  # the machine may be busy: no test of time
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=6), max_size=8)
       | st.lists(st.lists(_CELL, min_size=len(_KEYS), max_size=len(_KEYS)), max_size=8),  # rows as wide as the header
       delimiter=st.sampled_from([",", ";", "\t"]),
       ends=st.lists(st.sampled_from(["\r\n", "\n", "\r"]), min_size=1, max_size=3),
       quoting=st.sampled_from([None, csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       guarded=st.booleans())
def test_bulk_rows_are_the_row_by_row_rows(rows, delimiter, ends, quoting, guarded):
    text = _text(rows, delimiter, ends, quoting)
    if sniff_delimiter(text) != delimiter:
        return
    expected = _row_by_row(text, guarded)
    if expected is None:
        start = 1
    else:
        start, want = expected
    got = read_simple_rows(*physical_lines(text), start, delimiter, _KEYS, guarded)
    event("bulk" if got is not None else "row by row")
    if got is None:
        return
    assert expected is not None, "the bulk path read a file the row-by-row reading refuses"
    bulk_rows, table = got
    assert [(r.line, r.data) for r in bulk_rows] == want
    assert table.keys == tuple(_KEYS)
    for i, row in enumerate(bulk_rows):
        assert row.data == {k: column[i] for k, column in zip(table.keys, table.values) if column[i]}


@settings(deadline=None)  # the machine may be busy: no test of time
@given(st.text(alphabet="a,\"\r\n'", max_size=30))
def test_physical_lines_are_the_lines_csv_reader_is_given(text):
    lines, ends = physical_lines(text)
    assert [a + b for a, b in zip(lines, ends, strict=True)] == io.StringIO(text, newline="").readlines()


def test_spaces_are_every_character_str_strip_takes_off():
    assert set(SPACES) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - {"\n"}


@pytest.mark.parametrize("body", [
    "CT1,Ann,ann@x.no,'+47 1,Oslo\r\nCT2,\"Lee, Bo\",bo@x.no,'-5,\"Oslo\r\nSentrum\"\r\n,Cy,,,\r\n",
    "CT1,Ann,ann@x.no,'+47 1,Oslo\r\n,,,,\r\nCT2,Bo\r\n",
])
def test_our_export_takes_the_bulk_path(body):
    read = parse_csv(",".join(_HEADER) + "\r\n" + body)
    assert read.table is not None and read.guarded
    assert read.rows[0].data == {"no": "CT1", "name": "Ann", "email": "ann@x.no", "phone": "+47 1", "city": "Oslo"}
    assert read.table.column("phone")[0] == "+47 1" and read.table.column("type") is None


def test_a_row_longer_than_the_header_is_read_row_by_row_and_reported():
    read = parse_csv("Name,E-Mail\r\nAnn,a@x.no,extra\r\n")
    assert read.table is None and "header has 2 columns" in read.rows[0].errors[0]


# --- the planner's column path against its row path -------------------------------------------

_PLAN_HEADER = ["No.", "Type", "Name", "First Name", "Surname", "E-Mail", "Phone No.", "Country/Region Code",
                "Privacy Blocked", "Post Code"]
_PLAN_CELLS = {
    "No.": ["", "", "CT1", "ct1", "CT000002", "CT 9", "x" * 21, "CT\n3"],
    "Type": ["", "Person", "Company", "firma", "robot"],
    "Name": ["", "Acme", "y" * 101, "张伟"],
    "First Name": ["", "Ann", "伟", "x" * 31],
    "Surname": ["", "Lee", "张", "Ødegård"],
    "E-Mail": ["", "ann@example.com", "ANN@example.com", "bo@example.com", "not-an-address", "taken@example.com"],
    "Phone No.": ["", "'+47 22 00 00 00", "call me", "+47 1"],
    "Country/Region Code": ["", "NO", "Norway", "Atlantis", "no"],
    "Privacy Blocked": ["", "yes", "no", "maybe"],
    "Post Code": ["", "0150", "x" * 21, "01\r\n50", 'N"1'],
}
_EXISTING = [{"uuid": "u1", "no": "CT000002", "name": "Taken", "email": "taken@example.com"},
             {"uuid": "u2", "no": "CT7", "name": "Gone", "email": "gone@example.com", "deleted": True}]


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell


def _plan_outcome(plan):
    """All a plan tells; its contacts whole (the bulk path's leave their blank fields out, as stored)."""
    return (plan.rows_read, [(line, filled(c)) for line, c in plan.accepted], [(u.line, u.uuid, u.changes) for u in plan.updates], plan.unchanged,
            [str(p) for p in plan.invalid], [str(p) for p in plan.duplicates], plan.warnings)


_CLEAN_CELLS = {k: [c for c in v if c in ("", "Person", "Company", "Acme", "Ann", "Lee", "张", "'+47 22 00 00 00",
                                           "NO", "Norway", "yes", "no", "0150")] or [""] for k, v in _PLAN_CELLS.items()}


@settings(deadline=None)  # the machine may be busy: no test of time
@given(rows=st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _PLAN_CELLS.items()}), max_size=10)
       | st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _CLEAN_CELLS.items()}), max_size=10),
       unique_emails=st.booleans(), allow_duplicates=st.booleans(), update=st.booleans(), existing=st.booleans())
def test_the_plan_from_the_table_is_the_plan_row_by_row(rows, unique_emails, allow_duplicates, update, existing):
    if unique_emails:
        rows = [dict(r, **{"E-Mail": f"p{i}@example.com"}) for i, r in enumerate(rows)]
    text = ",".join(_PLAN_HEADER) + "\r\n" + "".join(
        ",".join(_quoted(r[k]) for k in _PLAN_HEADER) + "\r\n" for r in rows)
    read = parse_csv(text)
    assert read.table is not None
    by_rows = parse_csv(text)
    by_rows.table = None
    stored = [dict(c) for c in _EXISTING] if existing else []
    options = {"allow_duplicates": allow_duplicates, "update": update}
    with pytest.MonkeyPatch.context() as mp:  # the reference: every row through the planner's loop
        mp.setattr(contacts_plan, "_all_new", lambda *_: False)
        want = plan_import(by_rows, [dict(c) for c in stored], **options)
    got = plan_import(read, [dict(c) for c in stored], **options)
    event("all accepted at once" if got.accepted and len(got.accepted) == len(rows) else "row by row")
    assert _plan_outcome(got) == _plan_outcome(want)


# --- vCard values: the fast paths of unescape and components --------------------------------

_ESCAPED = st.text(alphabet="a;,\\nN \n:", max_size=12)


@settings(deadline=None)  # the machine may be busy: no test of time
@given(_ESCAPED)
def test_unescape_is_the_escape_by_escape_unescape(value):
    assert unescape(value) == unescape_each(value)


@settings(deadline=None)  # the machine may be busy: no test of time
@given(_ESCAPED)
def test_components_are_the_token_by_token_components(value):
    assert components(value) == components_by_token(value)
