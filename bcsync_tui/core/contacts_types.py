"""The records an import travels in, shared by the CSV and vCard readers and the import planner.

Kept apart so ``contacts_io`` (files, planning, export) and the format readers
(``contacts_csv``, ``contacts_vcard``) depend on this module, never on each other.
"""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter, methodcaller, not_
from typing import Any

#: how many problems of one kind a summary lists before it says "and N more"
SHOWN_PROBLEMS = 20


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (binary, wrong encoding, not CSV/vCard, truncated)."""

    def __init__(self, path: str, problem: str, hint: str = ""):
        self.path, self.problem, self.hint = path, problem, hint
        super().__init__(f"{path}: {problem}." + (f" {hint}" if hint else ""))


class ImportRow:
    """One contact as read from a file: raw text values by field key, and where it starts.

    A row the CSV or vCard reader read in bulk makes its ``data`` from the reader's ColumnTable when first
    asked: the import planner checks the table's columns and never needs most rows' dicts."""

    __slots__ = ("line", "errors", "notes", "_data", "_table", "_index")

    def __init__(self, line: int, data: dict[str, str] | None = None, errors: list[str] | None = None,
                 notes: list[str] | None = None, table: ColumnTable | None = None, index: int = 0):
        self.line = line
        #: problems found while reading that make the row invalid (e.g. a garbled vCard line)
        self.errors: list[str] = [] if errors is None else errors
        #: things worth telling about the row that do not make it invalid
        self.notes: list[str] = [] if notes is None else notes
        self._data = data if data is not None or table is not None else {}
        self._table, self._index = table, index

    @classmethod
    def of_table(cls, lines: Iterable[int], table: ColumnTable, at: Iterable[int]) -> list[ImportRow]:
        """The rows a reader read into ``table``, starting on ``lines``, row i being the table's
        row ``at[i]``: ``ImportRow(line, table=table, index=i)`` of each, without a call of
        ``__init__`` per row (a tenth of a 50,000-card vCard's reading)."""
        new = object.__new__
        rows: list[ImportRow] = []
        append = rows.append
        for line, index in zip(lines, at):
            row = new(cls)
            row.line, row.errors, row.notes, row._data, row._table, row._index = line, [], [], None, table, index
            append(row)
        return rows

    @property
    def data(self) -> dict[str, str]:
        if self._data is None:
            assert self._table is not None
            i, table = self._index, self._table
            if table.kept_empty is None:
                self._data = {k: v[i] for k, v in zip(table.keys, table.values) if v[i]}
            else:
                self._data = {k: v[i] for k, v, empty in zip(table.keys, table.values, table.kept_empty)
                              if v[i] or i in empty}
        return self._data

    def __repr__(self) -> str:
        return f"ImportRow(line={self.line}, data={self.data!r}, errors={self.errors!r}, notes={self.notes!r})"

    @property
    def label(self) -> str:
        d = self.data
        composed = " ".join(p for p in (d.get("first_name", ""), d.get("surname", "")) if p.strip())
        return (d.get("name") or composed or d.get("company_name") or d.get("email") or "").strip()


@dataclass(frozen=True)
class ColumnTable:
    """A reader's rows column by column, for the planner's bulk path (issue 14): ``values[j][i]`` is
    the text of field ``keys[j]`` in ``rows[i]`` of the same ReadResult (``rows[rows_at[i]]``
    with ``rows_at``), "" where that row's ``data`` has no such key (or has it empty:
    ``kept_empty``). Made only by a reader, together with the rows; nothing edits either."""

    keys: tuple[str, ...]
    values: tuple[list[str], ...]
    #: no value has whitespace around it (the CSV reader strips every cell)
    stripped: bool = False
    #: the length of each column's longest value, when the reader knew them
    longest: tuple[int, ...] | None = None
    #: no value holds a line break
    one_line: bool = False
    #: per key, the table's rows whose ``data`` has the key with an empty value (a vCard's ``FN:``);
    #: None: no row has
    kept_empty: tuple[frozenset[int], ...] | None = None
    #: the index in ``rows`` of each of the table's rows, when the reader lists them in another
    #: order (the vCard reader, cards of one shape together); None: the same order
    rows_at: list[int] | None = None
    #: each row's name composed from its first name, middle name and surname as the planner
    #: composes it (``contacts_prepare.compose_many``), when the reader made it (the vCard reader,
    #: for its notes); None: the planner composes
    composed: list[str] | None = None

    def column(self, key: str) -> list[str] | None:
        return self.values[self.keys.index(key)] if key in self.keys else None


@dataclass(frozen=True)
class Unkept:
    """A column (CSV) or property (vCard) whose values the master has no field for."""

    name: str
    values: int

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.name, "values": self.values}

    def __str__(self) -> str:
        return f"{self.name!r}: {self.values} value{'s' if self.values != 1 else ''}"


@dataclass
class ReadResult:
    """What a reader made of a file."""

    fmt: str  # csv | vcard
    #: which producer's layout was recognised, for the summary ("Outlook CSV (German)", "iPhone/iCloud vCard")
    source: str
    rows: list[ImportRow]
    warnings: list[str] = field(default_factory=list)
    #: values not kept, counted per column or property
    unkept: Counter[str] = field(default_factory=Counter)
    #: columns whose values are derived from others (e-mail display names, formatted addresses): not data
    derived: list[str] = field(default_factory=list)
    #: the file's values carry our export's formula guard (a leading ') that the import takes off
    guarded: bool = False
    #: the rows' values column by column, when the reader made them (a CSV whose columns are each a
    #: different field); the planner then checks whole columns instead of rows
    table: ColumnTable | None = None

    def unkept_list(self, ignored: set[str] | None = None) -> list[Unkept]:
        ignored = ignored or set()
        return [Unkept(name, n) for name, n in self.unkept.items() if n and fold_name(name) not in ignored]


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
class ContactUpdate:
    """A row that updates an existing contact (``--update``): its uuid and the fields that change."""

    line: int
    uuid: str
    no: str
    name: str
    changes: dict[str, Any]


@dataclass
class ImportPlan:
    rows_read: int = 0
    #: (line, prepared contact) for every row that would be imported as a new contact: whole, or (a row of
    #: the bulk path) in the form the store keeps, its blank fields left out (``contact_docs.filled``: whole)
    accepted: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: rows that would update an existing contact (only with ``--update``)
    updates: list[ContactUpdate] = field(default_factory=list)
    #: rows that match an existing contact and change nothing (only with ``--update``)
    unchanged: int = 0
    invalid: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: CSV columns holding values that map to no field and were not ignored: the import refuses
    unmapped: list[Unkept] = field(default_factory=list)
    #: columns the user chose to leave out, and vCard properties not kept: reported
    not_kept: list[Unkept] = field(default_factory=list)

    def contacts(self) -> list[dict[str, Any]]:
        """Rows for ``Store.add_contacts``: those with their own number first, so the number
        series cannot hand one of those numbers to an earlier row."""
        rows = list(map(itemgetter(1), self.accepted))
        numbered = list(map(bool, map(methodcaller("get", "no"), rows)))
        if all(numbered) or not any(numbered):
            return rows
        return list(compress(rows, numbered)) + list(compress(rows, map(not_, numbered)))


def fold_name(name: str) -> str:
    """A column name as ``--ignore-column`` compares it: case and runs of spaces do not matter."""
    return " ".join(name.split()).casefold()


def capped(items: list[Any], limit: int = SHOWN_PROBLEMS) -> tuple[list[Any], int]:
    """The first ``limit`` items and how many more there are."""
    return items[:limit], max(0, len(items) - limit)


#: codecs Python has that are not character sets for a text file
_NOT_FILE_ENCODINGS = {"idna", "punycode", "undefined", "unicode_escape", "raw_unicode_escape"}


def check_encoding(name: str) -> str:
    """The codec's canonical name; ValueError when there is none or it is no text file encoding
    (``idna``, ``punycode``, ``undefined``, ``base64``, ...)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    if info.name in _NOT_FILE_ENCODINGS or not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{name!r} is not a character set for text files")
    return info.name
