"""The bulk reading of a vCard file (issue 14): ``contacts_vcard.parse_vcards_each`` spends its time
on Python work per property line and per card. Here the whole text is unfolded and cut into cards
with C-level string operations, the cards of one kind (as many lines, as long a head on the last)
are laid out together so that each property position is a slice (a few hundred cards at a time,
each position's lines joined into one text), the cards are grouped by shape
(their properties' heads in order), and each shape is read column by column
(``contacts_vcard_columns``). The rows come with a ColumnTable (``contacts_vcard_table``), so the
import planner checks whole columns.

``read_bulk`` returns None whenever it cannot promise exactly the card-by-card result (a damaged
file, quoted-printable values, mixed line breaks, ...): the caller then reads the file card by card,
which also words any error. A card this cannot read exactly (a CHARSET or a garbled line, an empty
e-mail, ...) is read by the card reader, ``contacts_vcard.card_row``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from itertools import accumulate, compress, repeat
from operator import add, and_, contains, is_not, not_, sub

from .contacts_types import ReadResult
from .contacts_vcard import card_row
from .contacts_vcard_columns import SEP, Column, ShapeRows, cut_values, read_shape, spaced_values, unfit_cards
from .contacts_vcard_lex import Prop, logical_lines, parsed_head, quoted_printable
from .contacts_vcard_table import table_result

#: how many shapes of cards with as many lines are read column by column (a file has a few)
_SHAPES_READ = 12
#: how many kinds of cards ``_kinds`` tells apart at most
_KINDS_MAX = 64
#: how many cards ``_column_texts`` cuts into lines at a time
_CHUNK = 256


class _Damaged(Exception):
    """The file holds what the card-by-card reading reads otherwise than the cards' lines one by
    one: a line it may take for BEGIN:VCARD or END:VCARD, a line break other than the file's, a
    line continued after a tab, a quoted-printable value (which may go on in the next line)."""


def read_bulk(text: str) -> ReadResult | None:
    """``parse_vcards_each(text)``, or None when that result cannot be promised."""
    cut = _cards(text)
    if cut is None:
        return None
    brk, logical, physical, starts, counts = cut
    sources: list[tuple[list[int], ShapeRows]] = []
    by_card: list[int] = []
    try:
        for cards, props, values in _shapes(brk, logical, counts):
            if props is None:
                by_card += cards
                continue
            unfit = unfit_cards(props, values)
            if any(unfit):
                by_card += compress(cards, unfit)
                fit = list(map(not_, unfit))
                cards, values = list(compress(cards, fit)), [column.only(fit) for column in values]
                if not cards:
                    continue
            sources.append((cards, read_shape(props, values)))
        if 2 * len(by_card) > len(logical):
            return None  # mostly cards the card reader reads: it is quicker at that alone
        for i in sorted(by_card):
            sources.append(([i], _card_rows(physical[i], starts[i])))
    except _Damaged:
        return None
    return table_result(sources, starts)


def _cards(text: str) -> tuple[str, list[str], list[str], list[int], list[int]] | None:
    """The file's line break; each card's text from BEGIN:VCARD to the line before END:VCARD,
    unfolded (``logical``) and as written (``physical``); the line each card starts on, and how
    many lines it has after BEGIN:VCARD and before END:VCARD (unfolded). A line
    break other than the file's is found later, in a line (``_same_size``)."""
    if SEP in text:
        return None
    brk = "\r\n" if "\r" in text else "\n"
    if not text.endswith(brk):
        text += brk
    end = brk + "END:VCARD" + brk
    physical = text.split(end)
    if len(physical) < 2 or physical[-1]:
        return None
    physical.pop()
    # an END:VCARD line that goes on in the next starts the next card with a space, which _shapes
    # refuses; a fold inside a card's END:VCARD unfolds to a line _props refuses
    fold = brk + " "
    logical = list(map(str.replace, physical, repeat(fold), repeat("")))
    # the folded cards (str.replace gives back a card without a fold as it is); unfolding "\r" CR LF
    # SP LF in one would make the lone CR and LF a line break
    folded = list(compress(range(len(physical)), map(is_not, logical, physical)))
    if brk == "\r\n" and any(map(contains, map(physical.__getitem__, folded), repeat("\r" + fold))):
        return None
    # each card's lines after BEGIN:VCARD and before END:VCARD (a line break more or less is found later)
    lines = list(map(str.count, logical, repeat("\n")))
    steps = list(map(add, lines, repeat(2)))  # and its BEGIN:VCARD and END:VCARD, and its folds
    for i in folded:
        steps[i] += (len(physical[i]) - len(logical[i])) // len(fold)
    starts = list(accumulate(steps, initial=1))
    starts.pop()
    return brk, logical, physical, starts, lines


def _shapes(brk: str, logical: list[str], counts: list[int]
            ) -> Iterator[tuple[list[int], list[Prop] | None, list[Column]]]:
    """The cards of each shape (their indices), the shape's properties (None: the card reader
    reads those cards) and, per property, the cards' values (``counts``: each card's lines)."""
    kinds = _kinds(logical, counts)
    order = sorted(range(len(logical)), key=kinds.__getitem__)
    ordered = list(map(kinds.__getitem__, order))
    for kind in sorted(set(kinds)):
        cards = order[bisect_left(ordered, kind):bisect_right(ordered, kind)]
        size = counts[cards[0]]
        texts = _column_texts(brk, logical, cards, size)
        list(map(logical.__setitem__, cards, repeat("")))  # the cards' text lives on in their columns'
        if not size:
            yield cards, None, []
            continue
        yield from _same_size(cards, texts)


def _column_texts(brk: str, logical: list[str], cards: list[int], size: int) -> list[str]:
    """The lines of the cards (each with ``size`` lines after BEGIN:VCARD) at each position after
    BEGIN:VCARD, joined by SEP. The cards are cut into lines a few hundred at a time, so that the
    lines (made only to be joined again) stay in the processor's cache: a third of the time of
    cutting them all at once."""
    step = size + 1
    parts: list[list[str]] = [[] for _ in range(size)]
    for at in range(0, len(cards), _CHUNK):
        chunk = cards[at:at + _CHUNK]
        lines = brk.join(map(logical.__getitem__, chunk)).split(brk)
        if len(lines) != len(chunk) * step or lines[::step].count("BEGIN:VCARD") != len(chunk):
            raise _Damaged("a card not starting with BEGIN:VCARD")
        for j, part in enumerate(parts, 1):
            part.append(SEP.join(lines[j::step]))
    return [SEP.join(part) for part in parts]


def _kinds(logical: list[str], counts: list[int]) -> list[int]:
    """Each card's kind: cards of one kind have as many lines and as long a head on the last one,
    which tells apart most shapes of one size (a producer's optional properties come last or
    change which does), so that few cards of one kind differ in shape (``_same_size``); by the
    number of lines alone when that makes more than ``_KINDS_MAX`` kinds."""
    breaks = list(map(str.rfind, logical, repeat("\n")))  # before each card's last line
    pairs = list(zip(counts, map(sub, map(str.find, logical, repeat(":"), breaks), breaks)))
    kinds = sorted(set(pairs))
    if len(kinds) > _KINDS_MAX:
        return counts
    number = {kind: i for i, kind in enumerate(kinds)}
    return list(map(number.__getitem__, pairs))


def _same_size(cards: list[int], columns: list[str]
               ) -> Iterator[tuple[list[int], list[Prop] | None, list[Column]]]:
    """``_shapes`` of cards with as many lines, ``columns[j]`` their lines at position j joined by
    SEP (``_column_texts``)."""
    heads: list[str] = []
    values: list[list[str]] = []
    escaped: list[bool] = []
    spaced: list[bool] = []
    tel: list[bool] = []
    lines: dict[int, list[str]] = {}  # of the positions where the cards' heads differ
    texts: list[str] = []  # of the other positions: their lines joined by SEP
    for j, text in enumerate(columns):
        if "\r" in text or "\n" in text:
            raise _Damaged("a line break other than the file's")
        first = text[:text.find(SEP)] if len(cards) > 1 else text
        head = first[:first.find(":") + 1]
        heads.append(head)
        escaped.append("\\" in text)
        spaced.append(spaced_values(text))
        tel.append(spaced[j] or escaped[j] or not head or parsed_head(head[:-1])[0] != "TEL"
                   or ":t" in text or ":T" in text)  # (only a TEL's is looked at)
        # (each SEP starts a line: as many SEP + head as lines after the first)
        if not head or text.count(SEP + head) != len(cards) - 1:
            lines[j], text = text.split(SEP), ""
        texts.append(text)
    columns.clear()
    if not lines:  # each column's values made from its text when first needed
        yield cards, _props(heads), [Column(None, *flags, lines=text, head=head, count=len(cards))
                                     for text, head, *flags in zip(texts, heads, escaped, spaced, tel)]
        return
    # the columns' texts are done with as their values are made: these lie together in memory (the
    # planner and the store read them faster so)
    for j, head in enumerate(heads):
        values.append(cut_values(texts[j], head) if texts[j] else [])
        texts[j] = ""  # the column's values made, its text is done with
    # the cards with the heads most cards have, then those with the heads most others have, and so
    # on (past _SHAPES_READ shapes the card reader reads the rest)
    varying = list(lines)
    for _ in range(_SHAPES_READ):
        pick = _commonest(lines, len(cards))
        for j in varying:
            heads[j] = lines[j][pick][:lines[j][pick].find(":") + 1]
        if all(heads):
            shape, varied = _shape(lines, heads)
            own = [Column(varied[j] if j in varied else list(compress(v, shape)), *flags)  # of these lines and more
                   for j, (v, *flags) in enumerate(zip(values, escaped, spaced, tel))]
            yield list(compress(cards, shape)), _props(heads), own
        else:  # a line without a colon: the card reader reads the card
            shape = [False] * len(cards)
            shape[pick] = True
            yield [cards[pick]], None, []
        left = list(map(not_, shape))
        cards = list(compress(cards, left))
        if not cards:
            return
        values = [list(compress(v, left)) if j not in lines else [] for j, v in enumerate(values)]
        lines = {j: list(compress(column, left)) for j, column in lines.items()}
    yield cards, None, []


def _commonest(lines: dict[int, list[str]], count: int) -> int:
    """A card with the heads most of a sample of the ``count`` cards have at the positions of ``lines``."""
    sample = range(0, count, max(1, count // 16))
    keys = [tuple(column[i][:column[i].find(":") + 1] for column in lines.values()) for i in sample]
    return sample[keys.index(max(keys, key=keys.count))]


def _shape(lines: dict[int, list[str]], heads: list[str]) -> tuple[list[bool], dict[int, list[str]]]:
    """Which cards have ``heads[j]`` at each position j of ``lines`` (some card has), and their
    values there."""
    first = min(lines)
    shape = list(map(str.startswith, lines[first], repeat(heads[first])))
    tested = {first}
    while True:  # the cards with the first position's head, less those another position shows are not
        count = sum(shape)
        values: dict[int, list[str]] = {}
        for j, column in lines.items():
            values[j] = cut_values(SEP.join(compress(column, shape)), heads[j])
            if len(values[j]) != count:
                break
        else:
            return shape, values
        assert j not in tested
        shape = list(map(and_, shape, map(str.startswith, column, repeat(heads[j]))))
        tested.add(j)


def _props(heads: list[str]) -> list[Prop] | None:
    """The properties the heads (each up to its first colon) give, as the card reader makes
    them; None when the card reader must read the cards."""
    props: list[Prop] = []
    for head in heads:
        if head.startswith("\t"):
            raise _Damaged("a line that continues another")
        if not head.endswith(":") or head.count('"') % 2:  # no colon; or the first one is quoted
            return None
        name, params, types, encoded = parsed_head(head[:-1])
        if name in ("BEGIN", "END") or quoted_printable(head):  # a quoted-printable value may take more lines
            raise _Damaged(head)
        if encoded:
            return None
        props.append(Prop(name, params, "", 0, types))
    return props


def _card_rows(physical: str, start: int) -> ShapeRows:
    """The card reader's row of one card (``physical``: its text from BEGIN:VCARD on)."""
    unkept: Counter[str] = Counter()
    lines = [(number + start - 1, line) for number, line in logical_lines(physical)[1:]]
    if any(line.strip().upper() in ("BEGIN:VCARD", "END:VCARD") or quoted_printable(line) for _, line in lines):
        raise _Damaged("BEGIN:VCARD or END:VCARD inside a card, or a quoted-printable value")
    row, producer = card_row(lines, start, unkept)
    data = row.data
    return ShapeRows(1, {k: [v] for k, v in data.items()}, set(data), list(unkept.items()),
                     [(0, note) for note in row.notes], [(0, row.errors)] if row.errors else [], producer,
                     any(v != v.strip() for v in data.values()), any("\n" in v for v in data.values()))
