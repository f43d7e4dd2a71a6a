"""``contacts_vcard._card_to_row`` column by column, for the cards of one shape (issue 14): cards
whose properties have the same heads in the same order ("N", "FN", "EMAIL;TYPE=INTERNET,WORK,PREF",
...) take the same decisions (which e-mail is preferred, which TEL goes to which field, which ADR
is chosen, what is counted as not kept), so those are taken once for the shape, and the values of
each property are unescaped, split and stripped a whole column at a time. Used by
``contacts_vcard_bulk``, which sends the cards this cannot read exactly (``unfit_cards``) to the
card-by-card reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add, and_, contains, itemgetter, ne, not_, or_

from . import model
from .contacts_csv_bulk import SPACES
from .contacts_prepare import compose_many
from .contacts_vcard import (_BOOKKEEPING, _MAPPED, _X_KEYS, _phone_kind, adr_label, categorised, google_category,
                             name_note, producer_of, street_lines, version_producer)
from .contacts_vcard_lex import Prop, components, unescape

#: joins a column's values: no vCard file this reads holds it
SEP = "\x00"
#: what str.strip() takes off
_WHITESPACE = SPACES + "\n"
#: what str.strip() takes off but line breaks
_SPACES = SPACES.replace("\r", "")


@dataclass
class ShapeRows:
    """The rows of ``count`` cards, column by column, as ``_card_to_row`` makes them."""

    count: int
    #: field key -> each card's value ("" where its row has no such key, or has it empty)
    columns: dict[str, list[str]] = field(default_factory=dict)
    #: the keys every one of these rows has, empty or not (others: where the value is not empty)
    present: set[str] = field(default_factory=set)
    #: what is not kept, in the order each card counts it: per card a constant, or one where True
    slots: list[tuple[str, int | list[bool]]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, list[str]]] = field(default_factory=list)
    #: the producer the cards tell: one for all, or each card's
    producers: str | list[str] = ""
    #: some value may have whitespace around it
    loose: bool = False
    #: some value may hold a line break
    multiline: bool = False
    #: each row's name composed from its first name, middle name and surname (``compose_many``),
    #: when made: the planner composes the same
    composed: list[str] | None = None


class Column:
    """One property's values in the cards of a shape, as written (still escaped); what is made of
    them is made once. ``escaped``: a value may hold a backslash."""

    __slots__ = ("_raw", "_lines", "_head", "count", "escaped", "spaced", "tel", "breaks", "_texts", "_parts")

    def __init__(self, raw: list[str] | None, escaped: bool = True, spaced: bool = True, tel: bool = True, *,
                 lines: str = "", head: str = "", count: int = 0):
        """``raw``: the values; or None, and ``count`` values are ``lines`` (joined by SEP, each
        starting with ``head``) less their heads."""
        self._raw, self._lines, self._head = raw, lines, head
        self.count, self.escaped = len(raw) if raw is not None else count, escaped
        #: a value may have whitespace at either end; may start with "tel:" (stripped, unescaped)
        self.spaced, self.tel = spaced, tel
        #: an unescaped value (or component) may hold a line break
        self.breaks = False
        self._texts: list[str] | None = None
        self._parts: dict[int, tuple[list[list[str]], list[bool]]] = {}

    @property
    def raw(self) -> list[str]:
        """The values, as written."""
        if self._raw is None:
            self._raw, self._lines = cut_values(self._lines, self._head), ""
        return self._raw

    def only(self, keep: list[bool]) -> Column:
        """The values of the cards ``keep`` marks."""
        return Column(list(compress(self.raw, keep)), self.escaped, self.spaced, self.tel)

    def texts(self) -> list[str]:
        """``unescape(value).strip()`` of each value."""
        if self._texts is None and not self.escaped and not self.spaced:
            self._texts = self.raw
        if self._texts is None:
            text = SEP.join(self.raw)
            if "\\" not in text:
                self._texts = self.raw if _trimmed(text, SEP) else list(map(str.strip, self.raw))
            elif "\\" + SEP in text or text.endswith("\\"):
                # an escape would take the next value's separator: one value at a time
                self._texts = [unescape(v).strip() for v in self.raw]
                self.breaks = True
            elif text.count("\\") * 16 < self.count:  # a few escaped values: those unescaped on their own
                texts = list(self.raw) if _trimmed(text, SEP) else list(map(str.strip, self.raw))
                for i in compress(range(self.count), map(contains, self.raw, repeat("\\"))):
                    texts[i] = unescape(self.raw[i]).strip()
                    self.breaks = self.breaks or "\n" in texts[i]
                self._texts = texts
            else:
                text = unescape(text)
                self._texts = list(map(str.strip, text.split(SEP)))
                self.breaks = "\n" in text
        return self._texts

    def parts(self, width: int) -> tuple[list[list[str]], list[bool]]:
        """``components`` of each value: its first ``width`` components column by column ("" past
        the last), and whether any later component is not empty."""
        if width not in self._parts:
            self._parts[width] = self._components(width)
        return self._parts[width]

    def _components(self, width: int) -> tuple[list[list[str]], list[bool]]:
        count = self.count
        # each value's first component after a SEP: the pieces of a split at ";" that start with
        # one begin the values (each piece holds a SEP at most, at its start)
        if self._raw is None:  # (the values' lines each start with the head: no value holds a SEP)
            joined = self._lines[len(self._head):].replace(SEP + self._head, ";" + SEP)
        else:
            joined = (";" + SEP).join(self._raw)
        if "\\;" not in joined:  # (nor is a separator ";" after a backslash)
            if joined.count(";") == count - 1:  # one component: the value
                return [self.texts()] + [[""] * count for _ in range(width - 1)], [False] * count
            if self.escaped and "\\" in joined:
                joined = unescape(joined)
                self.breaks = self.breaks or "\n" in joined
            split = joined.split(";")
            step = len(split) // count
            firsts = split[step::step]
            starts = "".join(firsts)
            if len(split) == step * count and starts.count(SEP) == count - 1:
                # every value as many components, each ";" a separator
                split[step::step] = [""] * (count - 1) if len(starts) == count - 1 else list(
                    map(str.lstrip, firsts, repeat(SEP)))  # (one SEP each, at its start)
                # (with spaces about, as in addresses, stripping each piece is quicker than looking)
                parts = split if " " not in joined and _trimmed(joined, ";", SEP) else list(map(str.strip, split))
                columns = [parts[i::step] if i < step else [""] * count for i in range(width)]
                if step <= width:
                    return columns, [False] * count
                return columns, list(map(bool, map("".join, zip(*(parts[i::step] for i in range(width, step))))))
        self.breaks = True
        each = [parts + [""] * width for parts in map(components, self.raw)]
        return [list(map(itemgetter(i), each)) for i in range(width)], [any(p[width:]) for p in each]


def cut_values(lines: str, head: str) -> list[str]:
    """The values of lines joined by SEP: as many as the lines where each starts with ``head``
    (fewer otherwise)."""
    if not lines.startswith(head):
        return []
    values = lines.split(SEP + head)
    values[0] = values[0][len(head):]
    return values


def spaced_values(lines: str) -> bool:
    """Whether a value of lines (each a head ending in ":" and the value, joined by SEP; no line
    break in them) may have whitespace at either end."""
    return any(c in lines and (c + SEP in lines or ":" + c in lines or lines[-1:] == c) for c in _SPACES)



def _trimmed(text: str, sep: str, sep2: str = "") -> bool:
    """Whether no piece of ``text`` split at ``sep`` (and at ``sep2``) has whitespace at either end
    (a few scans for the whitespace characters, not a strip of each piece)."""
    return not any(c in text and (c + sep in text or sep + c in text or text[:1] == c or text[-1:] == c
                                  or (sep2 and (c + sep2 in text or sep2 + c in text)))
                   for c in _WHITESPACE)


def _any(columns: list[list[str]], count: int) -> list[bool]:
    """Whether each card has a non-empty value in any of ``columns``."""
    if not columns:
        return [False] * count
    if len(columns) == 1:
        return list(map(bool, columns[0]))
    return list(map(bool, map("".join, zip(*columns))))


def unfit_cards(props: list[Prop], values: list[Column]) -> list[bool]:
    """The cards ``read_shape`` cannot read: an EMAIL, TEL or URL with no value (which the card's
    reader leaves out, changing which property goes where), an ADR with no component."""
    count = values[0].count
    unfit = [False] * count
    for prop, column in zip(props, values):
        if prop.name in ("EMAIL", "TEL", "URL"):
            texts = column.texts()
            if not all(texts):  # a value unescaped to nothing may be a value all the same ("\\ ")
                raw = column.raw
                for i in compress(range(count), map(not_, texts)):
                    unfit[i] = unfit[i] or not raw[i].strip()
        elif prop.name == "ADR":
            parts, more = column.parts(7)
            if not (all(parts[2]) or all(parts[3])):  # else each has a street or a city
                unfit = list(map(or_, unfit, map(not_, map(or_, _any(parts, count), more))))
    return unfit


def street_columns(pobox: list[str], extended: list[str], street: list[str]) -> tuple[list[str], list[str]]:
    """``street_lines`` of each card: Address and Address 2."""
    if not any(pobox) and not any(extended):
        if "\n" not in SEP.join(street):
            return street, [""] * len(street)
        halves = list(map(str.partition, street, repeat("\n")))
        first, second = list(map(itemgetter(0), halves)), list(map(itemgetter(2), halves))
        if "\n" not in SEP.join(second):  # two lines at most
            first = list(map(str.strip, first))
            if all(first):
                return first, list(map(str.strip, second))
    lines = list(map(street_lines, pobox, extended, street))
    return list(map(itemgetter(0), lines)), list(map(itemgetter(1), lines))


def _flag(values: list[str], accepted: tuple[str, ...], upper: bool = False) -> list[bool]:
    fold = str.upper if upper else str.lower
    return [fold(v.strip()) in accepted for v in values]


def read_shape(props: list[Prop], raw: list[Column]) -> ShapeRows:
    """The rows of cards that each have the properties ``props`` in that order, the values of
    ``props[j]`` in ``raw[j]``, none of them ``unfit_cards``."""
    count = raw[0].count
    out = ShapeRows(count)
    c, slots = out.columns, out.slots
    groups: dict[str, list[int]] = {}
    for j, prop in enumerate(props):
        groups.setdefault(prop.name, []).append(j)
    first = {name: positions[0] for name, positions in groups.items()}
    if "FN" in first:
        c["name"] = raw[first["FN"]].texts()
    if "N" in first:
        parts, _ = raw[first["N"]].parts(5)
        c["surname"], c["first_name"], c["middle_name"] = parts[0], parts[1], parts[2]
        if any(parts[3]) or any(parts[4]):
            slots.append(("N (prefix, suffix)", list(map(bool, map(add, parts[3], parts[4])))))
        out.composed = composed = compose_many(parts[1], parts[2], parts[0])
        if "FN" in first:
            names = c["name"]
            if composed != names:
                noted = map(and_, map(bool, composed), map(and_, map(bool, names), map(ne, composed, names)))
                out.notes = [(i, name_note(composed[i], names[i])) for i in compress(range(count), noted)]
    if "ORG" in first:
        units, more = raw[first["ORG"]].parts(1)
        c["company_name"] = units[0]
        if any(more):
            slots.append(("ORG (department)", more))
    if "TITLE" in first:
        c["job_title"] = raw[first["TITLE"]].texts()
    emails = sorted(groups.get("EMAIL", ()), key=lambda j: not props[j].preferred)
    for key, j in zip(("email", "email2"), emails, strict=False):
        c[key] = raw[j].texts()
    if len(emails) > 2:
        slots.append(("EMAIL (third and later)", len(emails) - 2))
    out.present.update(c)
    for j in sorted(groups.get("TEL", ()), key=lambda j: not props[j].preferred):
        phone, label = _phone_kind(props[j].types)
        if phone and phone not in c:
            c[phone] = _phone_column(raw[j], out)
            out.present.add(phone)
        else:
            slots.append((label, 1))
    _read_address(props, raw, groups.get("ADR", []), out)
    urls = sorted(groups.get("URL", ()), key=lambda j: "work" not in props[j].types)
    if urls:
        c["home_page"] = raw[urls[0]].texts()
        out.present.add("home_page")
        if len(urls) > 1:
            slots.append(("URL (second and later)", len(urls) - 1))
    company = [False] * count
    if "KIND" in first:
        company = _flag(raw[first["KIND"]].raw, ("org", "organization"))
    if "X-ABSHOWAS" in first:
        company = list(map(or_, company, _flag(raw[first["X-ABSHOWAS"]].raw, ("COMPANY",), upper=True)))
    if any(company):
        c["type"] = [model.COMPANY if b else "" for b in company]
    for prop, values in zip(props, raw):
        if prop.name in _X_KEYS:
            c[_X_KEYS[prop.name]] = values.texts()
            out.present.add(_X_KEYS[prop.name])
        elif prop.name == "CATEGORIES":
            slots.append((prop.name, list(map(categorised, values.raw))))
        elif prop.name not in _MAPPED and prop.name not in _BOOKKEEPING:
            slots.append((prop.name, list(map(bool, map(str.strip, values.raw)))))
    out.producers = _producers(groups, raw, count)
    out.multiline = out.multiline or any(column.breaks for prop, column in zip(props, raw) if prop.name != "ADR")
    return out


def _producers(groups: dict[str, list[int]], raw: list[Column], count: int) -> str | list[str]:
    """The producer the cards tell: the same for all when their names tell it, else each card's."""
    names = groups.keys()
    if "PRODID" not in names and "CATEGORIES" not in names:
        producer = producer_of(names)
        if producer is not None:
            return producer
    prodids = raw[groups["PRODID"][0]].raw if "PRODID" in names else repeat("", count)
    categories = [raw[j].raw for j in groups.get("CATEGORIES", ())]
    versions = raw[groups["VERSION"][0]].raw if "VERSION" in names else repeat("", count)
    return [producer_of(names, prodid.lower(), google_category(values)) or version_producer(version)
            for prodid, values, version in zip(prodids, zip(*categories) if categories else repeat(()), versions)]


def _phone_column(raw: Column, out: ShapeRows) -> list[str]:
    values = raw.texts()
    if not raw.tel:
        return values
    if "tel:" in SEP.join(values).lower():
        values = [v[4:] if v.lower().startswith("tel:") else v for v in values]
        out.loose = True  # "tel: 123" leaves " 123"
    return values


def _read_address(props: list[Prop], raw: list[Column], adrs: list[int], out: ShapeRows) -> None:
    """``contacts_vcard._read_address`` of the shape's ADR properties (``adrs``: their positions)."""
    chosen = next((j for j in adrs if "work" in props[j].types), None)
    if chosen is None:
        chosen = next((j for j in adrs if "home" not in props[j].types), None)
    for j in adrs:
        if j != chosen:
            out.slots.append((adr_label(props[j].types), 1))
    if chosen is None:
        return
    parts, _ = raw[chosen].parts(7)
    pobox, extended, street, city, region, code, country = parts
    c = out.columns
    c["address"], c["address2"] = street_columns(pobox, extended, street)
    if any(pobox):
        out.slots.append(("ADR (post office box)", list(map(and_, map(bool, street), map(bool, pobox)))))
    c["city"], c["county"], c["post_code"], c["country_code"] = city, region, code, country
    # Address and Address 2 are lines of the street; the other components may hold a line break
    out.multiline = raw[chosen].breaks and any("\n" in SEP.join(p) for p in (city, region, code, country) if any(p))
