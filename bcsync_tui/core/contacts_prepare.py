"""The column-wise ``prepare`` of an import's rows (issue 14): 50,000 rows checked one by one cost
about a second; a column of one field is converted and checked at once, in a few C-level passes,
and only a row a column check flags is prepared on its own, so every result and message is
exactly ``model.prepare``'s."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from itertools import compress, repeat
from operator import itemgetter, setitem
from typing import Any

from . import model
from .contact_docs import ALWAYS_STORED

#: the fields ``prepare_many`` converts column by column; a row with any other key takes ``prepare``
_BULK_KEYS: frozenset[str] = model._PLAIN_TEXT | model._STRIPPED_TEXT | {"type", "privacy_blocked"}
_PARTS = ("first_name", "middle_name", "surname")
#: what a bulk row starts as: the fields the store always keeps, blank
_ALWAYS_BLANK = {k: model._BLANK[k] for k in ALWAYS_STORED}
_SEP = "\x00"
#: a whole column joined by _SEP passes iff each of its values passes model._FAST_OK (if none holds a _SEP)
_COLUMN_OK: dict[str, Any] = {
    "email": re.compile(r"(?:E)?(?:\x00(?:E)?)*".replace(
        "E", r"[^@\s<>,;\x00]+@[^@\s<>,;\x00]+\.[^@\s<>,;.\x00]+")).fullmatch,
    "phone": re.compile(r"[0-9+()\-./ xX#*\x00]*").fullmatch,
    "code": re.compile(r"[^\r\n]*").fullmatch,
}


def flagged_values(key: str, column: list[str], longest: int | None = None, one_line: bool = False) -> set[int]:
    """The positions in a column of text values of field ``key`` that ``validate_field`` may refuse
    (every one it refuses, perhaps a few it accepts): what only those need checked one by one.
    ``longest``: the length of the column's longest value, if known; ``one_line``: no value holds a
    line break."""
    f = model.FIELD_BY_KEY[key]
    flagged: set[int] = set()
    limit = f.max_len
    if longest is None and column:
        longest = max(map(len, column))
    if limit is not None and column and longest is not None and longest > limit:
        flagged.update(i for i, v in enumerate(column) if len(v) > limit)
    fast_ok = model._FAST_OK.get(f.kind)
    if fast_ok is not None and not (one_line and f.kind == "code"):  # a code's one check: one line
        joined = _SEP.join(column)
        if not (joined.count(_SEP) == len(column) - 1 and _COLUMN_OK[f.kind](joined)):
            flagged.update(i for i, v in enumerate(column) if v and not fast_ok(v))
    return flagged


def prepare_many(rows: list[dict[str, str]]) -> list[dict[str, Any] | model.ValidationError]:
    """``model.prepare`` of every row of text values (as the readers make them): the contact, or the
    ValidationError it raises."""
    keys = set().union(*rows) if rows else set()
    if not keys <= _BULK_KEYS:
        return [model.prepare_or_error(row) for row in rows]
    outs: list[dict[str, Any]] = []
    for row in rows:
        out = model._BLANK.copy()
        out.update(row)
        outs.append(out)
    read = {key: list(map(itemgetter(key), outs)) for key in keys}
    columns, suspects = _checked_columns(dict(read), len(rows))
    for key, column in columns.items():
        if column is not read.get(key):  # converted or composed: the contacts take the new values
            list(map(setitem, outs, repeat(key), column))
    results: list[dict[str, Any] | model.ValidationError] = list(outs)
    for i in suspects:
        results[i] = model.prepare_or_error(rows[i])
    return results


def prepare_columns(columns: dict[str, list[str]], count: int, row_at: Callable[[int], dict[str, str]], *,
                    stripped: bool = False, longest: dict[str, int] | None = None, one_line: bool = False,
                    composed: list[str] | None = None) -> list[dict[str, Any] | model.ValidationError]:
    """``prepare_many`` of ``count`` rows given column by column: ``columns[key][i]`` is row i's text
    for field ``key`` ("" for none; every key one of ``_BULK_KEYS``); ``row_at(i)`` is row i as a
    dict, prepared on its own when a column check flags it. ``stripped``: no value has whitespace
    around it; ``longest``: the length of each given column's longest value; ``one_line``: no
    value holds a line break; ``composed``: ``compose_many`` of the name parts' columns, if made."""
    columns, suspects = _checked_columns(columns, count, stripped=stripped, longest=longest, one_line=one_line,
                                         composed=composed)
    # Each row in the form the store keeps (contact_docs.py), at C speed: a copy of a row that
    # holds the fields always stored and those of the columns without a blank (a falsy value is
    # its field's blank: "", or False), updated with its values; then a column that has blanks
    # sets its values that are not, in the rows that have them. (The copy takes its keys at once,
    # as a whole row would; a whole row made sparse would cost ~4 µs more.)
    keys = [k for k in model._BLANK if columns.get(k)]
    full = tuple(k for k in keys if k in _ALWAYS_BLANK or all(columns[k]))  # (a column with a blank stops at it)
    some = tuple(k for k in keys if k not in full and any(columns[k]))
    base = {**_ALWAYS_BLANK, **dict.fromkeys(full, "")}
    contacts: list[dict[str, Any]] = list(map(dict.copy, repeat(base, count)))
    if full:
        deque(map(dict.update, contacts, map(zip, repeat(full), zip(*map(columns.__getitem__, full)))), maxlen=0)
    for key in some:
        column = columns[key]
        deque(map(setitem, compress(contacts, column), repeat(key), filter(None, column)), maxlen=0)
    results: list[dict[str, Any] | model.ValidationError] = list(contacts)
    for i in suspects:
        results[i] = model.prepare_or_error(row_at(i))
    return results


def _checked_columns(columns: dict[str, list[Any]], count: int, *, stripped: bool = False,
                     longest: dict[str, int] | None = None, one_line: bool = False,
                     composed: list[str] | None = None) -> tuple[dict[str, list[Any]], set[int]]:
    """The columns as ``model.normalise`` makes them (stripped, converted, the name composed; a
    column that stays the same is the same list) and the rows a column check flags."""
    longest = dict(longest or {})
    for key, column in list(columns.items()):
        if key in model._STRIPPED_TEXT and not stripped:
            trimmed = list(map(str.strip, column))  # the same objects where there is nothing to strip
            if trimmed != column:
                columns[key] = trimmed
                longest.pop(key, None)
        elif key == "type" or key == "privacy_blocked":
            convert = model._CONVERT[key]
            values = {v: convert(v) for v in set(column)}
            converted = list(map(values.__getitem__, column))
            if converted != column or key == "privacy_blocked":
                columns[key] = converted
                longest.pop(key, None)
    blank = [""] * count
    types = columns.get("type")
    if not columns.keys().isdisjoint(_PARTS):
        if composed is None:
            parts = [columns.get(k, blank) if stripped else list(map(str.strip, columns.get(k, blank))) for k in _PARTS]
            composed = compose_many(*parts)
        persons = repeat(True) if types is None else map(model.PERSON.__eq__, types)
        given = columns.get("name", blank)
        names = [c[:model._NAME_MAX] if c and person else name for c, person, name in zip(composed, persons, given)]
        if names != given:
            columns["name"] = names
            longest.pop("name", None)
    else:
        composed = blank
    suspects: set[int] = set()
    for key, _, _ in model._TEXT_LIMITS:
        if key in columns:
            suspects |= flagged_values(key, columns[key], longest.get(key), one_line)
    if types is not None and not set(types) <= set(model.CONTACT_TYPES):
        suspects.update(i for i, v in enumerate(types) if v not in model.CONTACT_TYPES)
    names = columns.get("name", blank)
    if not all(map(str.strip, names)):
        suspects.update(i for i, (name, c) in enumerate(zip(names, composed, strict=True)) if not name.strip() and not c)
    return columns, suspects


def compose_many(firsts: list[str], middles: list[str], surnames: list[str]) -> list[str]:
    """``model.compose_parts`` of each row's stripped parts: at C speed when no surname is written in
    the scripts that compose differently (Han, Kana, Hangul)."""
    if not "".join(surnames).isascii() and model._scripts()[0].search("\x00".join(surnames)):
        return list(map(model.compose_parts, firsts, middles, surnames))
    return list(map(" ".join, map(filter, repeat(None), zip(firsts, middles, surnames))))
