"""What an import would do: validate every row, find duplicates, match rows to existing contacts
for ``--update``, and say which columns hold data the master has no field for."""

from __future__ import annotations

from dataclasses import replace
from itertools import repeat
from operator import attrgetter, itemgetter, setitem
from typing import Any, cast

from . import model
from .contacts_prepare import _BULK_KEYS, flagged_values, prepare_columns, prepare_many
from .contacts_types import ColumnTable, ContactUpdate, ImportPlan, ImportRow, ReadResult, RowProblem, fold_name

_TRUE = {"1", "true", "yes", "y", "ja", "oui", "x", "on"}
_FALSE = {"", "0", "false", "no", "n", "nei", "non", "off"}
_YES_NO = frozenset(_TRUE | _FALSE)


def _check_rows(rows: list[ImportRow], table: ColumnTable | None = None) -> list[tuple[dict[str, Any] | None, str]]:
    """Each row's prepared contact, or None and why not (all that is wrong with it). Column by
    column: a file names a few countries and yes/no values many times, each looked up once. With
    the reader's ``table`` of the rows, the columns are taken from it instead of from the rows."""
    from .contacts_country import UnknownCountry, country_code

    def lookup(value: str) -> tuple[str, str]:
        try:
            return country_code(value), ""
        except UnknownCountry as exc:
            return "", f"Country/Region Code: {exc}"

    if table is not None and table.rows_at is not None:  # checked in the table's order, told in the rows'
        in_table = _check_rows(list(map(rows.__getitem__, table.rows_at)), replace(table, rows_at=None))
        in_rows = list(in_table)
        list(map(in_rows.__setitem__, table.rows_at, in_table))
        return in_rows
    columns: dict[str, list[str]] | None = None
    if table is not None and set(table.keys) <= _BULK_KEYS and all(len(v) == len(rows) for v in table.values):
        columns = dict(zip(table.keys, table.values))
    datas = [row.data for row in rows] if columns is None else []
    count = len(rows)
    if columns is None:
        blocked = [d.get("privacy_blocked", "") for d in datas]
        given = [d.get("country_code", "") for d in datas]
        numbers = [d.get("no", "").strip().upper() for d in datas]  # the row's "no" is not made the contact's
    else:
        blocked = columns.get("privacy_blocked") or [""] * count
        given = columns.get("country_code") or [""] * count
        numbers = list(map(str.upper, map(str.strip, columns.get("no") or [""] * count)))
    bad_blocked = {v for v in set(blocked) if v.strip().lower() not in _YES_NO}
    countries = {v: lookup(v) for v in set(given) if v}
    if bad_blocked or any(code != v for v, (code, _) in countries.items()):
        if columns is not None:  # "" stands for a value left out; the table itself stays as read
            columns = dict(columns)
            if bad_blocked:
                columns["privacy_blocked"] = ["" if b in bad_blocked else b for b in blocked]
            if countries:
                columns["country_code"] = [countries[c][0] if c else c for c in given]
        else:
            for i, (data, b, c) in enumerate(zip(datas, blocked, given, strict=True)):
                if b in bad_blocked or (c and countries[c][0] != c):
                    data = {k: v for k, v in data.items() if not (k == "privacy_blocked" and b in bad_blocked)}
                    if c:
                        data["country_code"] = countries[c][0]  # "" when unknown: reported below
                    datas[i] = data  # copied only to change it: the contact is made from it, not in it
    if columns is None:
        prepared = prepare_many(datas)
    else:
        cols = columns
        assert table is not None
        longest = {k: n for k, n in zip(table.keys, table.longest or ()) if cols[k] is table.column(k)}
        prepared = prepare_columns(dict(cols), count, lambda i: {k: v[i] for k, v in cols.items() if v[i]},
                                   stripped=table.stripped, longest=longest, one_line=table.one_line,
                                   composed=table.composed)
    number_problems = _number_checks(numbers)
    if not (bad_blocked or any(p for _, p in countries.values()) or any(number_problems)
            or any(map(attrgetter("errors"), rows)) or any(map(isinstance, prepared, repeat(model.ValidationError)))):
        contacts = cast(list[dict[str, Any]], prepared)
        list(map(setitem, contacts, repeat("no"), numbers))
        return list(zip(contacts, repeat("")))
    out: list[tuple[dict[str, Any] | None, str]] = []
    for row, contact, number, b, c, number_problem in zip(rows, prepared, numbers, blocked, given,
                                                           number_problems, strict=True):
        country_problem = countries[c][1] if c else ""
        invalid = isinstance(contact, model.ValidationError)
        if invalid or row.errors or b in bad_blocked or number_problem or country_problem:
            found = [*row.errors, f"Privacy Blocked: {b!r} must be yes or no" if b in bad_blocked else "",
                     f"No.: {number_problem}" if number_problem else "", country_problem,
                     str(contact) if invalid else ""]
            out.append((None, "; ".join(filter(None, found))))
        else:
            assert not isinstance(contact, model.ValidationError)
            contact["no"] = number
            out.append((contact, ""))
    return out


def _number_checks(numbers: list[str]) -> list[str | None]:
    """``validate_field("no", n)`` of each number, called for those the column check flags."""
    flagged = flagged_values("no", numbers)
    return [model.validate_field("no", n) if i in flagged else None for i, n in enumerate(numbers)]


def plan_import(read: ReadResult, existing: list[dict[str, Any]], *, allow_duplicates: bool = False,
                update: bool = False, ignore_columns: tuple[str, ...] = (), ignore_unmapped: bool = False
                ) -> ImportPlan:
    """Validate every row and find duplicates, against the file itself and ``existing`` contacts
    (pass tombstones too: their numbers stay taken). With ``update``, a row whose No. or e-mail
    is an existing contact's updates that contact with the fields the file has.

    CSV columns holding values that map to no field, not named in ``ignore_columns`` (nor
    ``ignore_unmapped``), land in ``plan.unmapped``: the import must refuse them. Ignored columns
    and the vCard properties not kept land in ``plan.not_kept``, to report."""
    plan = ImportPlan(rows_read=len(read.rows), warnings=list(read.warnings))
    if read.derived:
        plan.warnings.append("columns computed from others, not imported: " + ", ".join(map(repr, read.derived)))
    ignored = {fold_name(n) for n in ignore_columns}
    present = {fold_name(n) for n in read.unkept} | {fold_name(n) for n in read.derived}
    for name in ignore_columns:
        if fold_name(name) not in present:
            plan.warnings.append(f"--ignore-column {name!r}: the file has no such column holding values")
    if read.fmt == "csv" and not ignore_unmapped:
        plan.unmapped = read.unkept_list(ignored)
        plan.not_kept = [u for u in read.unkept_list() if fold_name(u.name) in ignored]
    else:
        plan.not_kept = read.unkept_list()
    _plan_rows(plan, read.rows, read.table, existing, allow_duplicates=allow_duplicates, update=update)
    return plan


def _plan_rows(plan: ImportPlan, rows: list[ImportRow], table: ColumnTable | None, existing: list[dict[str, Any]],
               *, allow_duplicates: bool, update: bool) -> None:
    taken_numbers = {str(c.get("no", "")).upper() for c in existing}
    live = [c for c in existing if not c.get("deleted")]
    by_number = {str(c.get("no", "")).upper(): c for c in live}
    by_email = {model.normalise_email(c.get("email")): c for c in live if c.get("email")}
    checked = _check_rows(rows, table)
    if not update and _all_new(rows, checked, taken_numbers, None if allow_duplicates else by_email):
        plan.accepted = list(zip(map(attrgetter("line"), rows), map(itemgetter(0), checked)))
        return
    file_numbers: dict[str, int] = {}
    file_emails: dict[str, int] = {}
    updated: dict[str, int] = {}
    for row, (contact, reason) in zip(rows, checked, strict=True):
        for note in row.notes:
            plan.warnings.append(f"line {row.line} ({row.label}): {note}")
        email = model.normalise_email(contact.get("email")) if contact is not None else ""
        if contact is not None and update:
            match = by_number.get(contact["no"]) if contact["no"] else None
            match = match or (by_email.get(email) if email else None)
            if match is not None:
                reason = _plan_update(plan, row, contact, match, updated)
                if reason:
                    plan.invalid.append(RowProblem(row.line, row.label, reason))
                continue
        number = contact["no"] if contact is not None else ""
        if number and number in taken_numbers:
            hint = "" if update or number not in by_number else " (pass --update to update that contact)"
            contact, reason = None, f"No. {row.data['no'].strip()} is already used in the contact store{hint}"
        elif number and number in file_numbers:
            contact, reason = None, f"No. {number} is also on line {file_numbers[number]}"
        if contact is None:
            plan.invalid.append(RowProblem(row.line, row.label, reason))
            continue
        if email and not allow_duplicates:
            if email in by_email:
                other = by_email[email]
                plan.duplicates.append(RowProblem(row.line, contact["name"],
                                                  f"{contact.get('email')} is already in the store as "
                                                  f"{other.get('no', '')} {other.get('name', '')}".rstrip()))
                continue
            if email in file_emails:
                plan.duplicates.append(RowProblem(row.line, contact["name"],
                                                  f"{contact.get('email')} is also on line {file_emails[email]}"))
                continue
        if email:
            file_emails.setdefault(email, row.line)
        if contact["no"]:
            file_numbers[contact["no"]] = row.line
        plan.accepted.append((row.line, contact))


def _all_new(rows: list[ImportRow], checked: list[tuple[dict[str, Any] | None, str]], taken_numbers: set[str],
             by_email: dict[str, Any] | None) -> bool:
    """Whether every row is a good new contact whose No. and e-mail (unless ``by_email`` is None:
    duplicates allowed) neither the store nor another row has, and no row has notes: then
    ``_plan_rows`` accepts each one, in order, and there is nothing to tell."""
    if any(map(attrgetter("notes"), rows)) or not all(map(itemgetter(0), checked)):
        return False
    contacts = cast(list[dict[str, Any]], list(map(itemgetter(0), checked)))
    numbers = list(filter(None, map(itemgetter("no"), contacts)))
    if len(set(numbers)) != len(numbers) or not taken_numbers.isdisjoint(numbers):
        return False
    if by_email is None:
        return True
    emails = list(filter(None, map(str.lower, map(str.strip, map(dict.get, contacts, repeat("email"), repeat(""))))))
    return len(set(emails)) == len(emails) and by_email.keys().isdisjoint(emails)


def _plan_update(plan: ImportPlan, row: ImportRow, contact: dict[str, Any], match: dict[str, Any],
                 updated: dict[str, int]) -> str:
    """Record the update of ``match`` by ``row``; returns why it cannot be, or ""."""
    uuid = str(match["uuid"])
    if contact["no"] and contact["no"] != str(match.get("no", "")).upper():
        return (f"{contact.get('email')} is the e-mail of {match.get('no', '')} {match.get('name', '')}, "
                f"but the row's No. is {contact['no']}")
    if uuid in updated:
        return f"updates {match.get('no', '')} like line {updated[uuid]}; give each contact one row"
    updated[uuid] = row.line
    keys = {k for k in row.data if k in model.EDITABLE_KEYS}
    if keys & {"first_name", "middle_name", "surname"}:
        keys.add("name")  # the composed name follows its parts
    blank = model.blank_contact()  # (the plan's bulk rows leave blank fields out: contact_docs.py)
    changes = {k: v for k in sorted(keys) if (v := contact.get(k, blank[k])) != match.get(k, blank[k])}
    if changes:
        plan.updates.append(ContactUpdate(row.line, uuid, str(match.get("no", "")), str(match.get("name", "")), changes))
    else:
        plan.unchanged += 1
    return ""
