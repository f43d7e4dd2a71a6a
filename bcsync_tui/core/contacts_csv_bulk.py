"""The bulk reading of a CSV whose columns are each a different field (our export, BC's captions),
issue 14: the lines after the header are split whole (``str.split``) instead of one character at a
time by ``csv.reader``, and the formula guard and stray spaces are handled over the whole text at
once. A line holding a double quote still goes through ``csv.reader`` (with the lines a quoted value
runs on into). Whenever this reading cannot promise exactly the row-by-row result of
``contacts_csv`` (a malformed quote, a row longer than the header, a huge field), it returns None
and the caller reads the file row by row, which also words any error.
"""

from __future__ import annotations

import csv
import re
from itertools import chain, compress, repeat
from operator import itemgetter, not_

from .contacts_types import ColumnTable, ImportRow

#: the line breaks ``io.StringIO(text, newline="")`` (what csv.reader reads from) splits at
_BREAK = re.compile("(\r\n|\r|\n)")
#: the characters ``str.strip()`` takes off (``str.isspace``), but the line feed
SPACES = ("\t\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
          "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_GUARD_MARKS = "=+-@\t"
#: a value our export guarded: apostrophes, then what a spreadsheet would run as a formula
GUARDED = re.compile(r"'+[=+\-@\t\r]")


def physical_lines(text: str) -> tuple[list[str], list[str]]:
    """The lines csv.reader is given by ``io.StringIO(text, newline="")``, without their line
    breaks, and each one's line break ("" for a last line without one)."""
    if "\r" not in text:
        lines, end = text.split("\n"), "\n"
    elif "\n" not in text:
        lines, end = text.split("\r"), "\r"
    elif text.count("\r\n") == text.count("\r") == text.count("\n"):
        lines, end = text.split("\r\n"), "\r\n"
    else:
        parts = _BREAK.split(text)
        lines, ends = parts[0::2], parts[1::2]
        if lines[-1]:
            ends.append("")
        else:
            lines.pop()
        return lines, ends
    ends = [end] * (len(lines) - 1)
    if lines[-1]:
        ends.append("")
    else:
        lines.pop()
    return lines, ends


def final_cells(cells: list[str], guarded: bool) -> list[str]:
    """A row's cells as the import keeps them: stripped, and our export's formula guard taken off."""
    values = list(map(str.strip, cells))
    if guarded:
        match = GUARDED.match
        return [v[1:] if v[:1] == "'" and match(v) else v for v in values]
    return values


def _unguard_text(text: str, delimiter: str, breaks: tuple[str, ...]) -> str:
    """``final_cells``' taking off of the formula guard, over quote-free lines whose cells need no
    stripping, joined by ``breaks[-1]`` (``breaks``: what a cell may follow, the delimiter first):
    one apostrophe off each cell that is apostrophes, then = + - @ (or a tab, unless the tab is
    the delimiter)."""
    marks = _GUARD_MARKS.replace(delimiter, "")
    guarded = re.compile(f"'*[{re.escape(marks)}]").match
    for lead in breaks:
        pieces = text.split(lead + "'")
        if len(pieces) == 1:
            continue
        if set(map(itemgetter(slice(0, 1)), pieces[1:])) <= set(marks):  # our export: one ' before a +
            text = lead.join(pieces)
        else:
            text = "".join([pieces[0], *(lead + p if guarded(p) else lead + "'" + p for p in pieces[1:])])
    return text[1:] if text[:1] == "'" and guarded(text, 1) else text


def read_simple_rows(lines: list[str], ends: list[str], start: int, delimiter: str, keys: list[str],
                     guarded: bool) -> tuple[list[ImportRow], ColumnTable] | None:
    """The rows after the header, which csv.reader read from the first ``start`` of the file's
    ``physical_lines`` (``lines``, ``ends``), each column's cells under its field key ``keys[j]``,
    as ``contacts_csv._read_simple_row`` makes them; None when that cannot be promised."""
    lines, ends = lines[start:], ends[start:]
    if lines and max(map(len, lines)) >= csv.field_size_limit():
        return None
    return _read_lines(lines, ends, start, delimiter, keys, guarded, spaced=False)


def _read_lines(lines: list[str], ends: list[str], start: int, delimiter: str, keys: list[str], guarded: bool,
                spaced: bool) -> tuple[list[ImportRow], ColumnTable] | None:
    """``read_simple_rows`` of the lines after the header. Unless ``spaced``, the quote-free lines'
    cells are taken to need no stripping: the formula guard comes off the whole text at once, and
    when a cell turns out to start or end with whitespace the lines are read ``spaced``, each
    cell stripped."""
    width = len(keys)
    quoted = list(map(str.__contains__, lines, repeat('"')))
    has_quotes = any(quoted)
    plain = list(compress(lines, map(not_, quoted))) if has_quotes else lines
    delimiters = list(map(str.count, plain, repeat(delimiter)))
    if plain and max(delimiters) >= width:
        return None  # a row longer than the header: contacts_csv words the problem
    flat: list[str] | None = None
    if not spaced and (not plain or (min(delimiters) == width - 1 and all(map(str.strip, plain, repeat(delimiter))))):
        # every quote-free line a whole row, none empty: the cells of all of them in one split
        joined = delimiter.join(plain)
        if guarded:
            joined = _unguard_text(joined, delimiter, (delimiter,))
        flat = joined.split(delimiter) if plain else []
        if has_quotes:
            flat = _one_split(flat, lines, ends, quoted, delimiter, width, guarded)
        if flat is not None:
            if list(map(str.strip, flat)) != flat:
                return _read_lines(lines, ends, start, delimiter, keys, guarded, spaced=True)
            return _table_rows(flat, list(range(len(lines))), start, keys, one_line=True)
    if spaced:
        plain_cells = [final_cells(c, guarded) for c in map(str.split, plain, repeat(delimiter))]
    else:
        joined = "\n".join(plain)
        if guarded:
            joined = _unguard_text(joined, delimiter, (delimiter, "\n"))
        plain_cells = list(map(str.split, joined.split("\n"), repeat(delimiter))) if plain else []
    numbers: list[int]
    if has_quotes:
        got = _merge_quoted(lines, ends, quoted, plain_cells, delimiter, width, guarded)
        if got is None:
            return None
        records, numbers = got
    else:
        records, numbers = plain_cells, list(range(len(lines)))
    one_line = len(numbers) == len(lines)  # a record on several lines has a quoted line break
    flat = list(chain.from_iterable(records))
    if not spaced and list(map(str.strip, flat)) != flat:
        return _read_lines(lines, ends, start, delimiter, keys, guarded, spaced=True)
    kept = list(map(any, records))  # a row of empty cells is no row
    if not all(kept):
        records, numbers = list(compress(records, kept)), list(compress(numbers, kept))
    if set(map(len, records)) - {width}:
        records = [r if len(r) == width else r + [""] * (width - len(r)) for r in records]
    if not all(kept) or len(flat) != width * len(records):
        flat = list(chain.from_iterable(records))
    return _table_rows(flat, numbers, start, keys, one_line=one_line)


def _table_rows(flat: list[str], numbers: list[int], start: int, keys: list[str], *,
                one_line: bool) -> tuple[list[ImportRow], ColumnTable]:
    """The rows and their table from every row's cells one after the other (``flat``) and the
    index of the line each row starts on."""
    width = len(keys)
    lengths = list(map(len, flat))  # here, cell after cell as they lie in memory, not column by column
    table = ColumnTable(tuple(keys), tuple(flat[j::width] for j in range(width)), stripped=True,
                        longest=tuple(max(lengths[j::width], default=0) for j in range(width)), one_line=one_line)
    count = len(numbers)
    rows = list(map(ImportRow, map((start + 1).__add__, numbers), repeat(None, count), repeat(None), repeat(None),
                    repeat(table), range(count)))
    return rows, table


def _one_split(plain_flat: list[str], lines: list[str], ends: list[str], quoted: list[bool], delimiter: str,
               width: int, guarded: bool) -> list[str] | None:
    """Every row's cells one after the other: the quote-free lines' (``plain_flat``, ``width`` a
    line) with the records of the lines holding a quote put in their places; None unless each of
    those lines is a whole record of at most ``width`` cells, not all empty."""
    quote_lines = list(map(str.__add__, compress(lines, quoted), compress(ends, quoted)))
    try:
        parsed = list(csv.reader(quote_lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    if len(parsed) != len(quote_lines) or max(map(len, parsed)) > width:
        return None
    records = [final_cells(c, guarded) for c in parsed]
    if not all(map(any, records)):
        return None
    flat: list[str] = []
    done = 0  # quote-free lines copied so far
    previous = 0  # the line after the last record copied
    for i, cells in zip(compress(range(len(lines)), quoted), records):
        flat += plain_flat[done * width:(done + i - previous) * width]
        done += i - previous
        flat += cells if len(cells) == width else cells + [""] * (width - len(cells))
        previous = i + 1
    flat += plain_flat[done * width:]
    return flat


def _merge_quoted(lines: list[str], ends: list[str], quoted: list[bool], plain_cells: list[list[str]],
                  delimiter: str, width: int, guarded: bool) -> tuple[list[list[str]], list[int]] | None:
    """Every record in file order with the index of the line it starts on: the quote-free lines'
    cells as given, the records starting on a line with a quote read by csv.reader (which may take
    the next lines too: a quoted value with line breaks)."""
    quote_lines = list(map(str.__add__, compress(lines, quoted), compress(ends, quoted)))
    try:
        parsed = list(csv.reader(quote_lines, delimiter=delimiter, strict=True))
    except csv.Error:
        parsed = []
    if len(parsed) == len(quote_lines) and max(map(len, parsed)) <= width:
        # each of those lines a whole record: read together, as they would be one by one
        quoted_cells = iter([final_cells(c, guarded) for c in parsed])
        plain_iter = iter(plain_cells)
        return [next(quoted_cells) if q else next(plain_iter) for q in quoted], list(range(len(lines)))
    records: list[list[str]] = []
    starts: list[int] = []
    plain_iter = iter(plain_cells)
    skip_to = 0
    for i, has_quote in enumerate(quoted):
        if not has_quote:
            cells = next(plain_iter)
            if i < skip_to:
                continue  # a line inside the quoted value of the record before
            records.append(cells)
            starts.append(i)
            continue
        if i < skip_to:
            continue
        reader = csv.reader((lines[j] + ends[j] for j in range(i, len(lines))), delimiter=delimiter, strict=True)
        try:
            cells = next(reader)
        except csv.Error:
            return None
        if len(cells) > width:
            return None
        skip_to = i + reader.line_num
        records.append(final_cells(cells, guarded))
        starts.append(i)
    return records, starts
