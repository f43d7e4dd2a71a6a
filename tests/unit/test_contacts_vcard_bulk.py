"""The vCard bulk reading (issue 14, core.contacts_vcard_bulk) gives exactly the card-by-card
result (``parse_vcards_each``): the same rows (data, lines, errors, notes), the same counts of what
is not kept in the same order, the same producer, the same error for a damaged file, and so the
same import plan; on our exports, the real exports of other producers and random cards."""

from __future__ import annotations

from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from bcsync_tui.core import model
from bcsync_tui.core.contact_docs import filled
from bcsync_tui.core.contacts_plan import plan_import
from bcsync_tui.core.contacts_types import ImportFileError, ImportPlan, ReadResult
from bcsync_tui.core.contacts_vcard import parse_vcards, parse_vcards_each, write_vcards
from bcsync_tui.core.contacts_vcard_bulk import _CHUNK, read_bulk
from bcsync_tui.core.contacts_vcard_lex import unescape, unescape_each

_EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
#: what values are made of: escapes, separators, quotes, spaces of several kinds, letters beyond ASCII
_CHARS = "ab Z;,:\\\\n\"=\t\xa0\u3000éø张"
_VALUE = st.text(alphabet=_CHARS, max_size=10)
_NAMES = ["N", "FN", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "URL", "KIND", "NOTE", "PHOTO", "CATEGORIES",
          "PRODID", "VERSION", "X-ABSHOWAS", "X-BCSYNC-NO", "X-BCSYNC-TYPE", "X-BCSYNC-PRIVACY-BLOCKED",
          "X-BCSYNC-INITIALS", "X-ABUID", "X-MS-OL-DESIGN", "UID", "LABEL", "fn", "item1.TEL", "item2.EMAIL",
          "X-ABLabel", "BEGIN", "END", "email", "Tel"]
_PARAMS = ["TYPE=WORK", "TYPE=HOME", "TYPE=CELL", "TYPE=FAX", "TYPE=INTERNET,WORK,PREF", "PREF=1", "TYPE=pref",
           "WORK", "VOICE", "HOME", 'TYPE="work,voice"', "CHARSET=utf-8", "CHARSET=bogus",
           "ENCODING=QUOTED-PRINTABLE", "VALUE=text", 'TYPE="a:b"', "type=home,work", "TYPE=mobile"]
_CONTACT_KEYS = ("name", "first_name", "middle_name", "surname", "company_name", "job_title", "email", "email2",
                 "phone", "mobile_phone", "fax", "address", "address2", "city", "county", "post_code",
                 "country_code", "home_page", "no", "initials", "territory_code", "salesperson_code")


def _whole(plan: ImportPlan) -> ImportPlan:
    """The plan with its contacts whole (the bulk path's leave their blank fields out, as stored)."""
    return replace(plan, accepted=[(line, filled(c)) for line, c in plan.accepted])


def _outcome(read: Any, text: str) -> tuple[Any, ...]:
    """All a reader's result tells (or its error), and the plans of an import of it: new, and
    ``--update`` of contacts the rows may match."""
    try:
        result: ReadResult = read(text, "f.vcf")
    except ImportFileError as exc:
        return ("refused", str(exc))
    rows = [(row.line, row.data, row.errors, row.notes, row.label) for row in result.rows]
    existing = [dict(model.blank_contact(), uuid="u1", no="CT000001", email="a@b.co", name="Ann"),
                dict(model.blank_contact(), uuid="u2", no="X1", email="ab@b.co", name="Bo", deleted=True)]
    plans = tuple(_whole(plan_import(result, ex, **kw)) for ex, kw in
                  (([], {}), (existing, {"update": True}), (existing, {"allow_duplicates": True})))
    return (result.fmt, result.source, list(result.unkept.items()), result.warnings, result.derived, rows, plans)


def _same(text: str) -> bool:
    """Both readings agree; whether the bulk one read the file."""
    bulk = read_bulk(text)
    assert _outcome(parse_vcards, text) == _outcome(parse_vcards_each, text)
    if bulk is not None:
        assert _outcome(lambda t, p: bulk, text) == _outcome(parse_vcards_each, text)
    return bulk is not None


@st.composite
def _line(draw: st.DrawFn, name: str, params: tuple[str, ...]) -> str:
    kind = draw(st.sampled_from(["value"] * 12 + ["structured", "empty", "blank", "no colon", "spaced"]))
    head = name + "".join(";" + p for p in params)
    if kind == "structured":
        return head + ":" + ";".join(draw(st.lists(_VALUE, max_size=8)))
    if kind == "empty":
        return head + ":"
    if kind == "blank":
        return draw(st.sampled_from(["", "  ", "\t"]))
    if kind == "no colon":
        return head + draw(_VALUE).replace(":", "")
    if kind == "spaced":
        return " \x0b" + head + ": " + draw(_VALUE) + " "
    return head + ":" + draw(_VALUE)


_SHAPE = st.lists(st.tuples(st.sampled_from(_NAMES), st.lists(st.sampled_from(_PARAMS), max_size=2).map(tuple)),
                  min_size=1, max_size=8)


@st.composite
def _file(draw: st.DrawFn) -> str:
    """Cards of a few shapes (their properties' heads), each with its own values; sometimes
    damaged; joined by one line break or several, some lines folded."""
    shapes = draw(st.lists(_SHAPE, min_size=1, max_size=3))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 9))):
        shape = draw(st.sampled_from(shapes))
        lines += ["BEGIN:VCARD", *(draw(_line(name, params)) for name, params in shape), "END:VCARD"]
    damage = draw(st.sampled_from(["none"] * 6 + ["no end", "no begin", "lower", "blank between", "junk"]))
    at = draw(st.integers(0, len(lines) - 1))
    if damage == "no end" and "END:VCARD" in lines:
        lines.remove("END:VCARD")
    elif damage == "no begin":
        lines.remove("BEGIN:VCARD")
    elif damage == "lower":
        lines[at] = lines[at].lower()
    elif damage == "blank between":
        lines.insert(at, "")
    elif damage == "junk":
        lines.insert(at, draw(_VALUE))
    brk = draw(st.sampled_from(["\r\n", "\r\n", "\n", "\r"]))
    text = brk.join(lines)
    for _ in range(draw(st.integers(0, 3))):  # folds, a line break of another kind now and then
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from([brk + " ", brk + " ", brk + "\t", "\n "])) + text[cut:]
    return text + draw(st.sampled_from([brk, "", brk + brk]))


@settings(max_examples=400, deadline=None)
@given(_file())
@example("BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\r\n \nFN:\r\nEND:VCARD\r\n")  # a fold between a lone CR and LF
@example("BEGIN:VCARD\r\nN:\r\nBEGIN:VCARD\r\nN:\r\n\r\nEND:VCARD\r\n")  # BEGIN:VCARD in a card read card by card
def test_bulk_reading_is_the_card_by_card_reading_of_random_cards(text):
    event("read in bulk" if _same(text) else "read card by card")


def _contact(draw: st.DrawFn) -> dict[str, Any]:
    contact: dict[str, Any] = {k: draw(st.one_of(st.just(""), _VALUE)) for k in _CONTACT_KEYS}
    contact["type"] = draw(st.sampled_from([model.PERSON, model.COMPANY]))
    contact["privacy_blocked"] = draw(st.booleans())
    return contact


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from(["3.0", "4.0"]), st.integers(1, 8))
def test_bulk_reading_of_our_exports_of_random_contacts(data, version, count):
    out = StringIO(newline="")
    write_vcards(out, [_contact(data.draw) for _ in range(count)], version)
    event("read in bulk" if _same(out.getvalue()) else "read card by card")


@settings(max_examples=12, deadline=None)
@given(st.data(), st.integers(_CHUNK + 100, 2 * _CHUNK + 100), st.randoms(use_true_random=False))
def test_bulk_reading_of_many_random_cards_a_chunk_at_a_time(data, count, rnd):
    # more cards of a shape than are cut into lines at once: a few random contacts (a long value
    # among them, folded) exported again and again (the first in 3 of 4 cards), and now and then an
    # odd card of random lines
    contacts = [_contact(data.draw) for _ in range(4)]
    contacts[0]["address"] = data.draw(st.text(alphabet=_CHARS, min_size=60, max_size=140))
    out = StringIO(newline="")
    write_vcards(out, [contacts[0 if rnd.random() < 0.75 else rnd.randrange(1, 4)] for _ in range(count)], "3.0")
    cards = out.getvalue().split("BEGIN:VCARD\r\n")[1:]
    if data.draw(st.booleans()):
        shape = data.draw(_SHAPE)
        odd = "\r\n".join(["BEGIN:VCARD", *(data.draw(_line(name, params)) for name, params in shape), "END:VCARD\r\n"])
        cards.insert(data.draw(st.integers(_CHUNK, count)), odd[len("BEGIN:VCARD\r\n"):])
    event("read in bulk" if _same("".join("BEGIN:VCARD\r\n" + card for card in cards)) else "read card by card")


def _export(count: int, version: str = "3.0") -> str:
    contacts = []
    for i in range(count):
        company = i % 7 == 0
        contacts.append({
            "type": model.COMPANY if company else model.PERSON, "name": f"Firma {i}, AS" if company else "",
            "first_name": "" if company else f"Åse{i}", "middle_name": "Bø" if i % 3 else "",
            "surname": "" if company else ["Lefèvre", "Li", "Ng"][i % 3], "company_name": f"Firma {i % 5}; Sales",
            "email": f"p{i}@x.example.com", "email2": f"q{i}@y.example.com" if i % 2 else "",
            "phone": f"+47 {i:08d}", "mobile_phone": f"+47 9{i:07d}", "fax": "" if i % 4 else "+47 22 00 00 00",
            "address": f"Gate {i}", "address2": ["", "c/o Resepsjonen", "2. etasje"][i % 3], "city": "Tromsø",
            "post_code": "9020", "country_code": "NO", "home_page": "https://x.example.com", "no": f"CT{i:06d}",
            "initials": "" if company else "AB", "privacy_blocked": i % 11 == 0, "salesperson_code": "KT",
        })
    out = StringIO(newline="")
    write_vcards(out, contacts, version)
    return out.getvalue()


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_our_export_is_read_in_bulk_with_a_table_for_the_planner(version):
    text = _export(300, version)
    assert _same(text)
    read = parse_vcards(text)
    assert read.table is not None and len(read.rows) == 300 and read.source == "bcsync export (vCard)"
    assert read.rows[1].data["address2"] == "c/o Resepsjonen" and read.rows[0].data["surname"] == ""


def _among_exports(odd: str) -> ReadResult:
    """The bulk reading of a card between two exports of 12 contacts (the same as card by card)."""
    text = _export(12) + odd + _export(12)
    assert _same(text)
    read = parse_vcards(text)
    assert read.table is not None
    return read


def test_cards_the_bulk_reading_cannot_promise_are_read_card_by_card_among_the_others():
    read = _among_exports("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Odd\r\nEMAIL;TYPE=INTERNET: \r\n"
                          "EMAIL:odd@x.example.com\r\nNOTE;CHARSET=bogus:x\r\nTEL;TYPE=HOME\r\nEND:VCARD\r\n")
    assert read.rows[12].data == {"name": "Odd", "email": "odd@x.example.com"} and len(read.rows[12].errors) == 2


def test_the_names_of_cards_read_card_by_card_among_the_others_are_composed_from_their_n():
    # the planner takes the names the bulk reading composed (for its notes) and composes those of
    # the cards the card reader read itself
    read = _among_exports("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Li;Ann;B.;;\r\nFN:Someone Else\r\n"
                          "EMAIL;TYPE=INTERNET: \r\nEMAIL:ann@x.example.com\r\nEND:VCARD\r\n")
    assert read.table is not None and read.table.composed is not None
    names = [c["name"] for c in plan_import(read, []).contacts()]
    assert names[12] == "Ann B. Li" and names[1] == "Åse1 Bø Li"
    assert read.rows[12].notes and "Ann B. Li" in read.rows[12].notes[0]


@pytest.mark.parametrize("n, adr", [
    ("Li;Ann;;;", ";;Gate 1;Oslo;;0150;NO"), (" Li;Ann;;; ", " ;;Gate 1 ; Oslo;;0150;NO "),
    ("\\nLi;Ann;;;", "\xa0;;Gate 1;Oslo;;0150;NO"), ("Li\\;s;Ann;;;", ";;Gate 1\\nc/o X;Oslo;;;NO"),
    ("Li;Ann;B;Dr;", "PO 7;;;Oslo;;;NO"), ("Li;Ann", ";;Gate 1;Oslo;;0150;NO;extra"),
    ("Li;\\nAnn;;;", ";;Gate\\;1;Oslo;;;NO\\n"),
])
def test_structured_values_of_one_shape_split_alike(n, adr):
    # N and ADR of the cards of one shape are split at once: a component with spaces around it or
    # a line break, an escaped semicolon, another number of components in some cards
    def card(i: int) -> str:
        odd = i % 3 == 1
        return (f"BEGIN:VCARD\r\nFN:Card {i}\r\nN:{n if odd else f'Ng{i};Bo;;;'}\r\n"
                f"ADR;TYPE=WORK:{adr if odd else f';;Vei {i};Bergen;;5003;NO'}\r\nEND:VCARD\r\n")

    assert _same("".join(card(i) for i in range(12)))


@pytest.mark.parametrize("names", [{7: "Firma\\, AS"}, {0: " Ann\\nB ", 20: "x\\\\y\\;", 119: "Z\\,\\ "}])
def test_a_few_escaped_values_among_many_unescape_alike(names):
    text = "".join(f"BEGIN:VCARD\r\nFN:{names.get(i, f'Card {i}')}\r\nEMAIL:{i}@x.example.com\r\nEND:VCARD\r\n"
                   for i in range(120))
    assert _same(text)


def test_cards_of_one_size_that_differ_in_several_places_are_told_apart():
    def card(second: str, third: str, i: int) -> str:
        return f"BEGIN:VCARD\r\nFN:Card {i}\r\n{second}:{i}@x.example.com\r\n{third}:+47 {i}\r\nEND:VCARD\r\n"

    # the shape most cards have shares its second line's head with the first card's, not its third
    text = card("EMAIL", "NOTE", 0) + "".join(card("URL" if i % 4 else "EMAIL", "TEL", i) for i in range(1, 40))
    assert _same(text)


def _uniform(count: int, odd: dict[int, str] | None = None) -> str:
    """``count`` cards of one shape (``odd``: the line that replaces a card's TEL line)."""
    odd = odd or {}
    return "".join(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Card {i}\r\nEMAIL;TYPE=INTERNET:{i}@x.example.com\r\n"
                   f"{odd.get(i, f'TEL;TYPE=WORK:+47 {i}')}\r\nX-BCSYNC-NO:CT{i:06d}\r\nEND:VCARD\r\n"
                   for i in range(count))


@pytest.mark.parametrize("odd", [{}, {_CHUNK + 3: "TEL;TYPE=CELL:+47 9"}, {3: "NOTE:x", 2 * _CHUNK + 1: "URL:y"},
                                 {_CHUNK: "TEL;TYPE=WORK: +47 1 "}, {2 * _CHUNK + 4: "TEL;TYPE=WORK:tel:+47 2"}])
def test_cards_cut_into_lines_a_few_hundred_at_a_time_read_alike(odd):
    # one shape's cards are cut into lines _CHUNK at a time: a card unlike the others in a later
    # chunk (another head, spaces, a tel: URI) is read as the card reader reads it
    text = _uniform(3 * _CHUNK + 5, odd)
    assert _same(text)
    read = parse_vcards(text)
    assert read.table is not None and len(read.rows) == 3 * _CHUNK + 5
    assert read.rows[-1].data["no"] == f"CT{3 * _CHUNK + 4:06d}" and read.rows[-1].line == 1 + 7 * (3 * _CHUNK + 4)


@pytest.mark.parametrize("damage", ["FN:a\rb", "FN:a\nb", "END:VCARD", "BEGIN:VCARD", "end:vcard"])
def test_damage_in_a_later_chunk_of_cards_is_found(damage):
    text = _uniform(2 * _CHUNK + 9, {2 * _CHUNK + 2: damage})
    assert read_bulk(text) is None
    assert _outcome(parse_vcards, text) == _outcome(parse_vcards_each, text)


@pytest.mark.parametrize("kinds", [3, 90])
def test_cards_of_one_size_whose_last_properties_differ_read_alike(kinds):
    # as our export's optional X-BCSYNC properties: the last line's head tells the shapes apart
    # (past _KINDS_MAX of them the cards are told apart by their number of lines alone)
    def card(i: int) -> str:
        last = f"X-{'A' * (i % kinds + 1)}:{i}" if i % 5 else f"NOTE:{i}"
        return f"BEGIN:VCARD\r\nFN:Card {i}\r\nEMAIL:{i}@x.example.com\r\n{last}\r\nEND:VCARD\r\n"

    text = "".join(card(i) for i in range(3 * kinds))
    assert _same(text) == (kinds == 3)  # 90 shapes of one size: mostly cards the card reader reads


def test_damaged_files_are_refused_with_the_card_by_card_reading_s_words():
    good = _export(3)
    for damaged in (good.replace("END:VCARD\r\nBEGIN", "BEGIN", 1), good[:-12], "FN:x\r\n" + good,
                    good.replace("N:", "END:VCARD\r\nN:", 1), good.replace("FN:", "begin:vcard\r\nFN:", 1)):
        assert read_bulk(damaged) is None
        with pytest.raises(ImportFileError) as bulk:
            parse_vcards(damaged, "f.vcf")
        with pytest.raises(ImportFileError) as each:
            parse_vcards_each(damaged, "f.vcf")
        assert str(bulk.value) == str(each.value)


@pytest.mark.parametrize("name", sorted(p.name for p in _EXPORTS.glob("*.vcf")))
def test_real_exports_read_alike(name):
    text = (_EXPORTS / name).read_text(encoding="utf-8")
    _same(text)
    assert _same(text * 3) == (name != "outlook.vcf")  # Outlook's quoted-printable: card by card


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="\\nN,;:a \n\x00é", max_size=12))
@example("a\\,b\\")  # an escape, then a lone backslash at the end
@example("\\\n\\N\\\\n")
def test_unescaping_a_whole_text_at_once_is_unescaping_each_escape(text):
    assert unescape(text) == unescape_each(text)
