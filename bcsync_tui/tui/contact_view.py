"""The contact list's rows: quick search and sort over the store's live contacts, without copies.

Pure (no Textual import). Built once per store generation from ``Store.contacts_raw()``; sort
orders and search keys are computed on first use and kept, so a search keystroke is one
substring test per contact (and narrowing a search only re-tests the rows it already found).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import compress, islice, repeat
from operator import itemgetter, le, not_
from typing import Any

Contact = dict[str, Any]

#: (field key, caption) of the sort orders ``s`` cycles through
SORT_KEYS: tuple[tuple[str, str], ...] = (
    ("no", "No."), ("name", "Name"), ("company_name", "Company"), ("city", "City"), ("email", "E-Mail"),
)
#: fields the quick search looks in
SEARCH_KEYS = ("no", "name", "email", "company_name", "city")


#: letters NFKD does not take apart into a base letter and an accent (after casefold)
FOLD_TABLE = str.maketrans({
    "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t",
    "ŋ": "n", "ĸ": "k", "ſ": "s", "ƒ": "f", "ɨ": "i", "ʉ": "u",
})
_FOLD_PAIRS = tuple((chr(code), plain) for code, plain in FOLD_TABLE.items())
#: the combining marks NFKD leaves of accented Latin letters (grave, acute, circumflex, tilde,
#: macron, breve, dot above, diaeresis, hook, ring, double acute, caron, horn, dot below, comma
#: below, cedilla, ogonek)
_USUAL_MARKS = tuple(map(chr, (0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x309, 0x30A, 0x30B, 0x30C,
                               0x31B, 0x323, 0x326, 0x327, 0x328)))
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Text as the quick search compares it: case and accents ignored, both in what is typed and
    in the contacts, so "kobenhavn" finds "København" and "København" finds "Kobenhavn"
    (casefold makes ß "ss"; NFKD splits é into e + accent; the table handles ø, æ, œ, ł, đ, ...)."""
    return _unmark(text.casefold())


def _unmark(text: str) -> str:
    """``fold`` of a text already case-folded."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    # One replace per letter the text holds, not str.translate: that looks each character up in
    # the table (0.7 s over the 50,000 contacts' texts folded at once, against 10 ms).
    for letter, plain in _FOLD_PAIRS:
        if letter in text:
            text = text.replace(letter, plain)
    # Latin text is now ASCII and accents: when every character beyond ASCII is one of the usual
    # accents, dropping all of them is removing the marks, at C speed (the regex: ~30 ms a
    # megabyte); anything else (another script, a rarer mark) goes through the regex.
    ascii_only = text.encode("ascii", "ignore")
    if len(text) - len(ascii_only) == sum(map(text.count, _USUAL_MARKS)):
        return ascii_only.decode("ascii")
    return _MARKS.sub("", text)


def _text(contact: Contact, key: str) -> str:
    value = contact.get(key)
    return value if value.__class__ is str else ("" if value is None else str(value))


def search_texts(contacts: Sequence[Contact]) -> list[str]:
    """Each contact's searched fields, folded (``fold``), as one text (fields apart by NUL).

    Folded in bulk, a slice of contacts at a time (see ``_fold_slice``); run in a thread beside the
    event loop, no single C call in it then holds the GIL for more than a few milliseconds."""
    texts: list[str] = []
    for start in range(0, len(contacts), SEARCH_SLICE):
        texts += _fold_slice(contacts[start:start + SEARCH_SLICE])
    return texts


#: contacts folded at a time by ``search_texts`` (a few ms of C work each)
SEARCH_SLICE = 4096


def _fold_slice(contacts: Sequence[Contact]) -> list[str]:
    """``search_texts`` of a few thousand contacts.

    The fields are read and joined at C speed (a field the store's document leaves out is blank:
    contact_docs.py) and case-folded one text at a time by ``str.casefold``, which has a fast
    path for ASCII text; case folding, NFKD and the mark and letter tables all work character by
    character (a separator starts no combining sequence), so the texts that are still not ASCII
    are then unmarked joined, in C at once instead of one Python call each (that took ~0.4 s at
    50,000 contacts)."""
    try:
        texts = list(map(str.casefold, map("\x00".join, zip(*[map(dict.get, contacts, repeat(key), repeat(""))
                                                               for key in SEARCH_KEYS]))))
    except TypeError:  # a field not text: read them one by one
        texts = [fold("\x00".join(_text(c, key) for key in SEARCH_KEYS)) for c in contacts]
        return texts
    odd = list(compress(range(len(texts)), map(not_, map(str.isascii, texts))))
    if odd:
        folded = _unmark(_APART.join([texts[i] for i in odd])).split(_APART)
        if len(folded) != len(odd):  # a field held the separator itself: fold one by one
            folded = [_unmark(texts[i]) for i in odd]
        for i, text in zip(odd, folded):
            texts[i] = text
    return texts


#: between two contacts' texts in ``_fold_slice``
_APART = "\x01"


def _order_by_number(contacts: Sequence[Contact]) -> list[int] | None:
    """The positions of ``contacts`` by No. (None: they are in that order already): shorter numbers
    first, then text order (numbers of one series have one width, so text order is number order).
    When every No. is text of one width (the usual case: one number series) that is plain text
    order, read and compared at C speed; the store keeps contacts in the order they were added,
    which for one series is usually number order already: then nothing is sorted at all."""
    try:
        numbers = list(map(itemgetter("no"), contacts))
        # Text of one width: the first is text, and comparing text with anything JSON holds but
        # text raises TypeError, so once every neighbour is compared, all are text (a pass over
        # the 50,000 numbers fewer than asking each one's type).
        if numbers and numbers[0].__class__ is str and len(set(map(len, numbers))) == 1:
            if all(map(le, numbers, islice(numbers, 1, None))):
                return None
            return sorted(range(len(numbers)), key=numbers.__getitem__)
    except (KeyError, TypeError):
        pass
    keys = [(len(_text(c, "no")), _text(c, "no")) for c in contacts]
    return sorted(range(len(keys)), key=keys.__getitem__)


class ContactView:
    """The rows of one store generation. Orders are kept as positions in ``contacts`` (None: the
    contacts' own order) and the search texts in the contacts' order, so an order's texts are one
    C-level gather, and no per-contact mapping is held."""

    def __init__(self, contacts: Sequence[Contact]):
        self.contacts = contacts
        self._orders: dict[str, list[int] | None] = {}
        self._rows: dict[str, list[Contact]] = {}
        self._texts: list[str] | None = None
        self._last: tuple[str, str, bool, list[Contact], list[str] | None] | None = None

    def __len__(self) -> int:
        return len(self.contacts)

    def _order(self, key: str) -> list[int] | None:
        if key not in self._orders:
            if key == "no":
                self._orders[key] = _order_by_number(self.contacts)
            else:
                # Blank values last, then case-insensitive, then by No. for a stable order.
                keys = [(_text(c, key) == "", _text(c, key).casefold(), _text(c, "no")) for c in self.contacts]
                self._orders[key] = sorted(range(len(keys)), key=keys.__getitem__)
        return self._orders[key]

    def sorted_by(self, key: str) -> list[Contact]:
        rows = self._rows.get(key)
        if rows is None:
            order = self._order(key)
            contacts = self.contacts
            rows = list(contacts) if order is None else list(map(contacts.__getitem__, order))
            self._rows[key] = rows
        return rows

    def _search_texts(self, sort: str, reverse: bool) -> list[str]:
        """The search texts in the order ``sorted_by(sort)`` (reversed if ``reverse``) lists the contacts."""
        texts = self._texts
        if texts is None:
            texts = self._texts = search_texts(self.contacts)
        order = self._order(sort)
        ordered = texts if order is None else list(map(texts.__getitem__, order))
        return ordered[::-1] if reverse else ordered

    @property
    def search_ready(self) -> bool:
        """Whether the search texts are computed (a keystroke then only compares)."""
        return self._texts is not None

    def prepare_search(self) -> None:
        """Compute the search texts ahead of the first keystroke; safe to call from another
        thread: a keystroke meanwhile just computes them itself."""
        if self._texts is None:
            self._texts = search_texts(self.contacts)

    def rows(self, search: str = "", sort: str = "no", reverse: bool = False) -> list[Contact]:
        """The contacts matching ``search`` (a substring of No., name, e-mail, company or city,
        ignoring case and accents; every space-separated word must match), in the given order."""
        needle = fold(search.strip())
        last = self._last
        if last is not None and last[1:3] == (sort, reverse) and last[0] == needle:
            return last[3]
        if not needle:
            base = self.sorted_by(sort)
            result = base[::-1] if reverse else base
            self._last = (needle, sort, reverse, result, None)
            return result
        if last is not None and last[1:3] == (sort, reverse) and last[0] and needle.startswith(last[0]):
            candidates, texts = last[3], last[4]  # narrowing: re-test only what matched before
        else:
            candidates, texts = self.rows("", sort, reverse), None
        if texts is None:
            texts = self._search_texts(sort, reverse)
        for word in needle.split():
            hits = [word in text for text in texts]
            candidates, texts = list(compress(candidates, hits)), list(compress(texts, hits))
        self._last = (needle, sort, reverse, candidates, texts)
        return candidates
