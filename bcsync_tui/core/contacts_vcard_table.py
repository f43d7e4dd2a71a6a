"""The rows and the ColumnTable of a bulk vCard reading (``contacts_vcard_bulk``, issue 14) from
its sources: the cards of each shape read column by column, each card read on its own."""

from __future__ import annotations

from collections import Counter
from itertools import accumulate, chain, compress, repeat
from operator import itemgetter, not_

from .contacts_prepare import compose_many
from .contacts_types import ColumnTable, ImportRow, ReadResult
from .contacts_vcard_columns import ShapeRows

#: the fields in the order ``_card_to_row`` sets them, for the table's columns
_KEY_ORDER = ("name", "surname", "first_name", "middle_name", "company_name", "job_title", "email", "email2",
              "phone", "mobile_phone", "fax", "address", "address2", "city", "county", "post_code", "country_code",
              "home_page", "type", "no", "initials", "company_no", "territory_code", "salesperson_code",
              "privacy_blocked")


def table_result(sources: list[tuple[list[int], ShapeRows]], starts: list[int]) -> ReadResult:
    """The reading of the cards starting on lines ``starts`` from its sources (each: the cards'
    indices, their rows): the rows in file order, and their table with the sources one after the
    other (``rows_at``), the most cards' first: the table's columns are that source's, extended by
    the others' (the sources' rows are spent)."""
    count = len(starts)
    sources = sorted(sources, key=lambda source: -source[1].count)
    order = list(chain.from_iterable(map(itemgetter(0), sources)))
    at = list(range(count))  # where each row is in the table
    in_order = order == at
    if not in_order:
        list(map(at.__setitem__, order, range(count)))
    offsets = list(accumulate((rows.count for _, rows in sources), initial=0))
    used = set().union(*(rows.columns for _, rows in sources))
    keys = [k for k in _KEY_ORDER if k in used]
    values: list[list[str]] = []
    kept_empty: list[frozenset[int]] = []
    first = sources[0][1].columns
    own = len(set(map(id, first.values()))) == len(first)  # no list is two keys' column
    for key in keys:
        kept_empty.append(frozenset(chain.from_iterable(
            compress(range(offset, offset + rows.count), map(not_, rows.columns[key]))
            for (_, rows), offset in zip(sources, offsets) if key in rows.present and not all(rows.columns[key]))))
        rest = chain.from_iterable(rows.columns.get(key) or repeat("", rows.count) for _, rows in sources[1:])
        if own and key in first:
            first[key].extend(rest)
            values.append(first[key])
        else:
            values.append(list(chain(first.get(key) or repeat("", sources[0][1].count), rest)))
    table = ColumnTable(tuple(keys), tuple(values), stripped=not any(rows.loose for _, rows in sources),
                        one_line=not any(rows.multiline for _, rows in sources), kept_empty=tuple(kept_empty),
                        rows_at=None if in_order else order, composed=_composed(sources))
    rows = ImportRow.of_table(starts, table, at)
    for cards, shape in sources:
        for i, note in shape.notes:
            rows[cards[i]].notes.append(note)
        for i, errors in shape.errors:
            rows[cards[i]].errors.extend(errors)
    return ReadResult("vcard", _source(sources), rows, unkept=_unkept(sources), table=table)


def _composed(sources: list[tuple[list[int], ShapeRows]]) -> list[str]:
    """Each row's name composed from its parts as the planner composes it, in the table's order."""
    composed: list[str] = []
    for _, rows in sources:
        if rows.composed is not None:
            composed += rows.composed
        else:  # (cards read one by one, cards without N)
            blank = [""] * rows.count
            composed += compose_many(*(rows.columns.get(key) or blank
                                       for key in ("first_name", "middle_name", "surname")))
    return composed


def _unkept(sources: list[tuple[list[int], ShapeRows]]) -> Counter[str]:
    """The counts of what is not kept, in the order the card-by-card reading first counts each."""
    firsts: list[tuple[int, int, str, int]] = []
    for cards, rows in sources:
        for at, (name, counted) in enumerate(rows.slots):
            if isinstance(counted, int):
                firsts.append((cards[0], at, name, counted * rows.count))
            elif any(counted):
                firsts.append((cards[counted.index(True)], at, name, sum(counted)))
    unkept: Counter[str] = Counter()
    for _, _, name, total in sorted(firsts):
        unkept[name] += total
    return unkept


def _source(sources: list[tuple[list[int], ShapeRows]]) -> str:
    """The producer most cards tell; of those as many, the one a card tells first."""
    totals: Counter[str] = Counter()
    first: dict[str, int] = {}
    for cards, rows in sources:
        if isinstance(rows.producers, str):
            totals[rows.producers] += rows.count
            first[rows.producers] = min(first.get(rows.producers, cards[0]), cards[0])
        else:
            totals.update(rows.producers)
            for producer, card in zip(rows.producers, cards):
                first.setdefault(producer, card)
                first[producer] = min(first[producer], card)
    return min(totals, key=lambda p: (-totals[p], first[p]))
