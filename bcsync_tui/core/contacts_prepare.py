"""The column-wise ``prepare`` of an import's rows (issue 14): 50,000 rows checked one by one cost
about a second; a column of one field is converted and checked at once, in a few C-level passes,
and only a row a column check flags is prepared on its own, so every result and message is
exactly ``model.prepare``'s."""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any

from . import model

#: the fields ``prepare_many`` converts column by column; a row with any other key takes ``prepare``
_BULK_KEYS: frozenset[str] = model._PLAIN_TEXT | model._STRIPPED_TEXT | {"type", "privacy_blocked"}
_PARTS = ("first_name", "middle_name", "surname")
_SEP = "\x00"
#: a whole column joined by _SEP passes iff each of its values passes model._FAST_OK (if none holds a _SEP)
_COLUMN_OK: dict[str, Any] = {
    "email": re.compile(r"(?:E)?(?:\x00(?:E)?)*".replace(
        "E", r"[^@\s<>,;\x00]+@[^@\s<>,;\x00]+\.[^@\s<>,;.\x00]+")).fullmatch,
    "phone": re.compile(r"[0-9+()\-./ xX#*\x00]*").fullmatch,
    "code": re.compile(r"[^\r\n]*").fullmatch,
}


def flagged_values(key: str, column: list[str]) -> set[int]:
    """The positions in a column of text values of field ``key`` that ``validate_field`` may refuse
    (every one it refuses, perhaps a few it accepts): what only those need checked one by one."""
    f = model.FIELD_BY_KEY[key]
    flagged: set[int] = set()
    limit = f.max_len
    if limit is not None and column and max(map(len, column)) > limit:
        flagged.update(i for i, v in enumerate(column) if len(v) > limit)
    fast_ok = model._FAST_OK.get(f.kind)
    if fast_ok is not None:
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
    columns: dict[str, list[Any]] = {}
    for key in keys:
        column = list(map(itemgetter(key), outs))
        if key in model._STRIPPED_TEXT:
            stripped = list(map(str.strip, column))  # the same objects where there is nothing to strip
            if stripped != column:
                column = stripped
                _put(outs, key, column)
        elif key == "type" or key == "privacy_blocked":
            convert = model._CONVERT[key]
            values = {v: convert(v) for v in set(column)}
            if key == "privacy_blocked" or any(v != c for v, c in values.items()):
                column = [values[v] for v in column]
                _put(outs, key, column)
        columns[key] = column
    blank = [""] * len(outs)
    if keys.isdisjoint(_PARTS):
        composed = blank
    else:
        composed = list(map(model.compose_parts, *(list(map(str.strip, columns.get(k, blank))) for k in _PARTS)))
        types = columns.get("type")
        for i, (out, name) in enumerate(zip(outs, composed, strict=True)):
            if name and (types is None or types[i] == model.PERSON):
                out["name"] = name[:model._NAME_MAX]
        columns["name"] = list(map(itemgetter("name"), outs))
    suspects: set[int] = set()
    for key, _, _ in model._TEXT_LIMITS:
        if key in columns:
            suspects |= flagged_values(key, columns[key])
    types = columns.get("type")
    if types is not None and not set(types) <= set(model.CONTACT_TYPES):
        suspects.update(i for i, v in enumerate(types) if v not in model.CONTACT_TYPES)
    names = columns.get("name", blank)
    if not all(map(str.strip, names)):
        suspects.update(i for i, (name, c) in enumerate(zip(names, composed, strict=True)) if not name.strip() and not c)
    results: list[dict[str, Any] | model.ValidationError] = list(outs)
    for i in suspects:
        results[i] = model.prepare_or_error(rows[i])
    return results


def _put(outs: list[dict[str, Any]], key: str, column: list[Any]) -> None:
    for out, value in zip(outs, column, strict=True):
        out[key] = value
