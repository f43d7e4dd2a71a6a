"""BC filter syntax (SPEC §4): examples from BC's filtering docs, errors with positions, ContactFilter."""

from __future__ import annotations

import fnmatch
import pickle

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bcsync_tui.core.filters import ContactFilter, FilterError, parse_expression, validate_expression
from bcsync_tui.core.model import FIELDS, blank_contact

# (field, expression, values that match, values that do not)
MATCH_TABLE = [
    # numbers, from BC's "Filtering" examples
    ("revision", "1000..2000", [1000, 1500, 2000], [999, 2001, 0]),
    ("revision", "..2500", [0, -5, 2500], [2501]),
    ("revision", "2500..", [2500, 10**9], [2499]),
    ("revision", "<>0", [1, -1], [0]),
    ("revision", ">50", [51], [50, 0]),
    ("revision", "<=10", [10, -3], [11]),
    ("revision", "10000|20000", [10000, 20000], [15000, 0]),
    ("revision", ">5000&<10000", [5001, 9999], [5000, 10000]),
    ("revision", " 1000 .. 2000 ", [1000, 2000], [2001]),
    ("revision", "-5..+5", [-5, 0, 5], [6, -6]),
    ("revision", "5", [5, "5", 5.0], [6, None, "x"]),  # odd stored values never raise
    ("revision", "0", [None, "", 0], [1]),
    # text wildcards
    ("name", "*Co*", ["Co", "The Cone", "Acme Co"], ["co", "Cx", ""]),
    ("name", "*Co", ["Acme Co", "Co"], ["Cone", "Acme co"]),
    ("name", "Co*", ["Co", "Contoso"], ["The Co", "contoso"]),
    ("name", "@*co*", ["Co", "ACME CO", "deco"], ["C o", ""]),
    ("name", "C*o", ["Co", "Cairo"], ["Cairos", "co"]),
    ("name", "*", ["", "anything"], []),
    ("name", "**a", ["a", "ba"], ["ab"]),
    ("name", "?", ["a", "?", "*"], ["", "ab"]),
    ("name", "?o?", ["Bob", "Tom"], ["Bo", "Boby", "BOB"]),
    ("name", "Sm?th", ["Smith", "Smyth"], ["Smth", "Smiith"]),
    ("name", "*o?", ["Bob", "foot"], ["Bo", "fob "]),
    ("name", "?*", ["a", "ab"], [""]),
    ("name", "Ol?\n*", ["Ola\nx"], ["Ola"]),
    # empty / not empty / quoting
    ("city", "''", ["", None], [" ", "Oslo"]),
    ("city", "<>''", ["Oslo", " "], ["", None]),
    ("city", "'A&B'", ["A&B"], ["A", "B", "AB"]),
    ("city", "'A|B'", ["A|B"], ["A", "B"]),
    ("city", "'it''s'", ["it's"], ["its", "it''s"]),
    ("city", "''''", ["'"], ["", "''"]),
    ("city", "'*'", ["*"], ["x", ""]),
    ("city", "'50%'*", ["50%", "50% off"], ["5", "x50%"]),
    ("city", "' Oslo '", [" Oslo "], ["Oslo"]),
    ("city", "  Oslo  ", ["Oslo"], [" Oslo", "Oslo "]),
    ("city", "New York", ["New York"], ["NewYork"]),
    ("city", "'Smith (Jr)'|'a<b'", ["Smith (Jr)", "a<b"], ["Smith"]),
    ("city", "''|Oslo", ["", "Oslo"], ["Bergen"]),
    ("city", "a.b", ["a.b"], ["ab", "a..b"]),
    ("city", "=Oslo", ["=Oslo"], ["Oslo"]),  # BC has no '=' operator: literal
    # case
    ("city", "Oslo", ["Oslo"], ["OSLO", "oslo"]),
    ("city", "@oslo", ["Oslo", "OSLO"], ["Bergen"]),
    ("city", "@oslo|Bergen", ["OSLO", "Bergen"], ["BERGEN"]),
    ("city", "@(oslo|bergen)", ["OSLO", "Bergen"], ["Trondheim"]),
    ("city", "@*SL*|B*|Tromsø", ["oslo", "Bergen", "Tromsø"], ["bergen", "TROMSØ"]),
    ("city", "@*o*&<>@oslo|@bodø", ["Bodø", "Molde", "BODØ"], ["Oslo", "Alta"]),
    ("city", "<>@oslo", ["Bergen"], ["OSLO", "oslo"]),
    ("city", "@<>oslo", ["Bergen"], ["OSLO"]),
    ("city", "<>A*", ["Bergen", "a"], ["A", "Alta"]),
    ("city", "<>@a*", ["Bergen"], ["a", "Alta"]),
    ("city", "@STRASSE", ["straße", "Strasse"], ["Strase"]),  # Unicode case folding
    # ranges and comparisons on text (code point order, case-sensitive unless @)
    ("city", "A..C", ["A", "Bergen", "C"], ["Cairo", "bergen", "D"]),
    ("city", "@a..c", ["Bergen", "bergen", "a", "C"], ["Cairo", "D"]),
    ("city", "..B", ["", "A", "B"], ["Ba"]),
    ("city", ">M", ["Oslo", "Ma"], ["M", "Bergen"]),
    ("city", ">=M&<=O", ["M", "Narvik", "O"], ["Oslo", "L"]),
    ("city", "''..B", ["", "B"], ["C"]),
    # precedence: & binds tighter than |, parentheses override
    ("city", "A*&*z|B", ["Az", "B"], ["Ax", "Bz"]),
    ("city", "B|A*&*z", ["Az", "B"], ["Ax", "Bz"]),
    ("city", "(A*|B*)&*z", ["Az", "Bz"], ["B", "Cz"]),
    ("city", "((A*))", ["Ab"], ["b"]),
    ("city", "A*&<>Alta&*a", ["Aba"], ["Alta", "Ab"]),
    ("city", "A|B|C|D*|*E", ["A", "B", "C", "Dx", "xE"], ["", "x", "AB"]),
    # e-mail: '@' is only special where a condition starts
    ("email", "*@contoso.com", ["a@contoso.com"], ["a@contoso.co", "contoso.com"]),
    ("email", "'@x'", ["@x"], ["@X", "x"]),
    # code fields compare upper-cased like BC's Code type
    ("territory_code", "n*", ["N1", "n2"], ["S1"]),
    ("territory_code", "N1|s1", ["N1", "n1", "S1"], ["N2"]),
    ("territory_code", "a..c", ["B", "b", "C"], ["C1", "D"]),
    ("post_code", "<>''", ["0150"], [""]),
    # booleans and the contact type
    ("privacy_blocked", "Yes", [True], [False, None]),
    ("privacy_blocked", "no", [False, None], [True]),
    ("privacy_blocked", "TRUE|0", [True, False], []),
    ("privacy_blocked", "1", [True, "yes"], [False, ""]),
    ("privacy_blocked", "<>false", [True], [False]),
    ("type", "Person", ["Person", None], ["Company"]),
    ("type", "@company", ["Company"], ["Person"]),
    ("type", "<>COMPANY", ["Person"], ["Company"]),
    ("type", "Company..Person", ["Person", "Company"], []),
    ("type", "<Person", ["Company"], ["Person"]),
    # stamps compare as text
    ("modified_at", "2024-01*", ["2024-01-05T10:00:00+00:00"], ["2024-02-01T00:00:00+00:00"]),
    ("modified_at", ">=2024-06", ["2024-06-01T00:00:00+00:00"], ["2024-05-31T23:59:59+00:00"]),
]


@pytest.mark.parametrize(("field", "expr", "yes", "no"), MATCH_TABLE, ids=[f"{f}:{e}" for f, e, _, _ in MATCH_TABLE])
def test_bc_examples(field, expr, yes, no):
    pred = parse_expression(field, expr)
    assert [v for v in yes if not pred(v)] == [], "should match"
    assert [v for v in no if pred(v)] == [], "should not match"


def test_caption_is_accepted_as_field_name():
    assert parse_expression("Territory Code", "N*")("N1")
    assert not parse_expression("Post Code", "01*")("1000")


@pytest.mark.parametrize("expr", ["", "   ", "\t\n", None])
def test_blank_expression_is_no_condition(expr):
    pred = parse_expression("city", expr)
    assert pred("Oslo") and pred("") and pred(None)
    assert validate_expression("city", expr) is None


# (field, expression, position, reason)
ERROR_TABLE = [
    ("city", "'Oslo", 5, "unclosed quote"),
    ("city", "Oslo|'Ber''gen", 14, "unclosed quote"),
    ("city", "O'Brien", 7, "unclosed quote"),
    ("city", "'''", 3, "unclosed quote"),
    ("city", "Oslo|", 5, "empty alternative after '|'"),
    ("city", "Oslo| ", 6, "empty alternative after '|'"),
    ("city", "Oslo||Bergen", 5, "empty alternative after '|'"),
    ("city", "|Oslo", 0, "empty alternative before '|'"),
    ("city", "Oslo&", 5, "missing condition after '&'"),
    ("city", "&Oslo", 0, "missing condition before '&'"),
    ("city", "A&|B", 2, "missing condition after '&'"),
    ("city", "..", 0, "'..' needs a value on at least one side"),
    ("city", "A|  ..  ", 4, "'..' needs a value on at least one side"),
    ("city", "1..2..3", 4, "only one '..' allowed in a range"),
    ("city", "b..a", 0, "the range starts after it ends (write the smaller value first)"),
    ("revision", "20..10", 0, "the range starts after it ends (write the smaller value first)"),
    ("city", "(Oslo", 5, "unclosed '('"),
    ("city", "(", 1, "unclosed '('"),
    ("city", "Oslo)", 4, "unmatched ')'"),
    ("city", ")", 0, "unmatched ')'"),
    ("city", "()", 1, "empty parentheses"),
    ("city", "(A)B", 3, "unexpected 'B' after ')' (expected '&', '|' or the end)"),
    ("city", "Smith (Jr)", 6, "unexpected '(' inside a value (quote the value to match a literal '(')"),
    ("city", "a<b", 1, "unexpected '<' inside a value (quote the value to match a literal '<')"),
    ("city", "<>", 2, "'<>' needs a value (use <>'' for 'not empty')"),
    ("city", ">=  ", 4, "'>=' needs a value"),
    ("city", "<>1..5", 3, "'<>' cannot be combined with a range '..'"),
    ("city", "@", 1, "'@' needs a value after it"),
    ("city", "@|a", 1, "'@' needs a value after it"),
    ("city", "@@a", 1, "'@' given twice"),
    ("city", "@<>@a", 3, "'@' given twice"),
    ("city", "a..@b", 3, "put '@' at the start of the range, e.g. @a..m"),
    ("city", "A*..B", 1, "wildcards (* ?) cannot be used in a range"),
    ("city", "A..B?", 4, "wildcards (* ?) cannot be used in a range"),
    ("city", ">A*", 2, "wildcards (* ?) cannot be used in a '>' condition"),
    ("revision", "1*", 1, "wildcards (* ?) only work on text fields"),
    ("privacy_blocked", "Y?s", 1, "wildcards (* ?) only work on text fields"),
    ("revision", "abc", 0, "'abc' is not a whole number"),
    ("revision", "1|  x2", 4, "'x2' is not a whole number"),
    ("revision", "''", 0, "'' is not a whole number"),
    ("revision", "1" * 31, 0, f"'{'1' * 31}' is not a whole number"),
    ("revision", "@5", 0, "'@' (ignore case) does not apply to numbers"),
    ("privacy_blocked", "maybe", 0, "'maybe' is not Yes or No"),
    ("type", "Persons", 0, "'Persons' is not Person or Company"),
    ("city", "(" * 31 + "a" + ")" * 31, 30, "too many nested parentheses"),
    ("Foo", "x", 0, "unknown field 'Foo'"),
]


@pytest.mark.parametrize(("field", "expr", "pos", "reason"), ERROR_TABLE,
                         ids=[f"{f}:{e[:20]}" for f, e, _, _ in ERROR_TABLE])
def test_errors_have_position_and_reason(field, expr, pos, reason):
    with pytest.raises(FilterError) as info:
        parse_expression(field, expr)
    err = info.value
    assert (err.reason, err.position, err.expression) == (reason, pos, expr)
    assert err.field == (field if field != "Foo" else "Foo")
    found = validate_expression(field, expr)
    assert isinstance(found, FilterError) and (found.reason, found.position) == (reason, pos)


def test_error_str_attributes_and_type():
    err = validate_expression("City", "'Oslo")
    assert isinstance(err, ValueError)
    assert err.field == "city"  # caption resolved to the key
    assert str(err) == "City: unclosed quote (column 6): 'Oslo"
    again = pickle.loads(pickle.dumps(err))
    assert (again.field, again.expression, again.position, again.reason) == ("city", "'Oslo", 5, "unclosed quote")
    assert str(validate_expression("Foo", "x")) == "Foo: unknown field 'Foo' (column 1): x"


def test_non_text_expression_is_rejected():
    with pytest.raises(FilterError, match="must be text, not int"):
        parse_expression("revision", 5)


# --- ContactFilter ------------------------------------------------------------------------------


def _contact(**kw):
    c = blank_contact()
    c.update(kw)
    return c


CONTACTS = [
    _contact(no="C1", name="Ann", city="Oslo", territory_code="N1", revision=3),
    _contact(no="C2", name="Bob", city="OSLO", territory_code="N2", revision=12),
    _contact(no="C3", name="Cid", city="Bergen", territory_code="S1", revision=7),
    _contact(no="C4", name="Dag", city="Bergen", territory_code="N1", revision=30, type="Company"),
    _contact(no="C5", name="Eva", city="", territory_code="", revision=0),
]


def _nos(flt):
    return [c["no"] for c in flt.select(CONTACTS)]


def test_contact_filter_combines_fields_with_and():
    flt = ContactFilter({"city": "@oslo|Bergen", "territory_code": "n*", "revision": "<20"})
    assert _nos(flt) == ["C1", "C2"]
    assert flt.count(CONTACTS) == 2
    assert flt.count(iter(CONTACTS)) == 2  # any iterable, consumed once
    assert flt.matches(CONTACTS[0]) and not flt.matches(CONTACTS[3])
    assert _nos(ContactFilter({"city": "Bergen", "territory_code": "N*"})) == ["C4"]
    assert _nos(ContactFilter({"type": "Company"})) == ["C4"]
    assert _nos(ContactFilter({"city": "''"})) == ["C5"]


def test_contact_filter_missing_keys_use_blank_values():
    assert ContactFilter({"city": "''", "revision": "0", "privacy_blocked": "No", "type": "Person"}).matches({})
    assert not ContactFilter({"city": "<>''"}).matches({})


def test_captions_resolve_and_store_canonical_keys_in_field_order():
    flt = ContactFilter({"Territory Code": " N* ", "City": "OSLO|BERGEN", "E-Mail": "*@x.no"})
    assert list(flt.to_dict().items()) == [("email", "*@x.no"), ("city", "OSLO|BERGEN"), ("territory_code", "N*")]
    assert flt.describe() == "E-Mail: *@x.no; City: OSLO|BERGEN; Territory Code: N*"
    assert ContactFilter({"city": "OSLO|BERGEN", "territory_code": "N*"}).describe() == \
        "City: OSLO|BERGEN; Territory Code: N*"


def test_round_trip_to_dict_from_dict():
    flt = ContactFilter({"Post Code": "0150..0199", "country": "NO|SE", "Revision": ">1&<>5", "city": "  "})
    stored = flt.to_dict()
    assert stored == {"post_code": "0150..0199", "country_code": "NO|SE", "revision": ">1&<>5"}
    again = ContactFilter.from_dict(stored)
    assert again == flt and again.to_dict() == stored
    contacts = [_contact(post_code=p, country_code=cc, revision=r)
                for p in ("0150", "0200") for cc in ("NO", "DK") for r in (5, 6)]
    assert again.select(contacts) == flt.select(contacts) == [contacts[1]]


def test_empty_filter_matches_everything():
    for flt in (ContactFilter({}), ContactFilter(), ContactFilter.from_dict(None), ContactFilter({"city": " "})):
        assert flt.is_empty and flt.to_dict() == {} and flt.describe() == ""
        assert flt.count(CONTACTS) == len(CONTACTS)
    assert not ContactFilter({"city": "x"}).is_empty


@pytest.mark.parametrize(("exprs", "field", "reason"), [
    ({"Foo": "x"}, "Foo", "unknown field 'Foo'"),
    ({"city": "Oslo", "City": "Bergen"}, "city", "field given twice (as 'city' and 'City')"),
    ({"city": "Oslo", "revision": "x"}, "revision", "'x' is not a whole number"),
    ({"city": 3}, "city", "a filter must be text, not int"),
])
def test_contact_filter_rejects_bad_input(exprs, field, reason):
    with pytest.raises(FilterError) as info:
        ContactFilter(exprs)
    assert (info.value.field, info.value.reason) == (field, reason)


def test_from_dict_rejects_non_mapping():
    with pytest.raises(FilterError, match="must map field names"):
        ContactFilter.from_dict(["city"])


# --- properties ---------------------------------------------------------------------------------

SPECIAL = "'\"*?@&|()<>=.. \t\n"
FIELD_KEYS = [f.key for f in FIELDS]
ODD_VALUES = [None, "", "Oslo", " x ", 0, 7, -3, True, False, "Person", "Company", "12", 3.5, float("nan")]


@given(field=st.sampled_from(FIELD_KEYS),
       expr=st.text(alphabet=st.sampled_from(SPECIAL + "aZ09ß-+"), max_size=25) | st.text(max_size=25))
@example(field="revision", expr="9" * 5000)
@example(field="city", expr="(" * 500)
@example(field="city", expr="a|" * 2000 + "a")
def test_parser_never_raises_anything_but_filter_error(field, expr):
    try:
        pred = parse_expression(field, expr)
    except FilterError as err:
        assert err.field == field and err.expression == expr
        assert 0 <= err.position <= len(expr) and err.reason
        assert str(err)
        return
    for raw in ODD_VALUES:  # a compiled filter never raises on any stored value either
        assert pred(raw) in (True, False)


@given(exprs=st.dictionaries(st.sampled_from([f.caption for f in FIELDS] + ["Foo", "", "e mail"]) | st.text(max_size=8),
                             st.text(alphabet=st.sampled_from(SPECIAL + "aZ09"), max_size=12), max_size=4))
def test_contact_filter_never_raises_anything_but_filter_error(exprs):
    try:
        flt = ContactFilter(exprs)
    except FilterError as err:
        assert str(err)
        return
    assert ContactFilter.from_dict(flt.to_dict()) == flt
    assert flt.count([blank_contact(), {}, {"city": None, "revision": "x"}]) in (0, 1, 2, 3)


def _quote(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


@given(v=st.text(max_size=20), other=st.text(max_size=20))
@example(v="A|B", other="A")
@example(v="it's", other="its")
@example(v="", other=" ")
@example(v=" *? ", other="  ")
def test_quoted_value_matches_exactly_itself(v, other):
    pred = parse_expression("city", _quote(v))
    assert pred(v)
    assert pred(other) == (other == v)
    assert not pred(v + "x") and (v == "" or not pred(v[:-1]))


@given(pattern=st.text(alphabet="ab*?", min_size=1, max_size=8), value=st.text(alphabet="ab", max_size=8))
def test_wildcards_agree_with_fnmatch(pattern, value):
    assert parse_expression("city", pattern)(value) == fnmatch.fnmatchcase(value, pattern)
    assert parse_expression("city", "<>" + pattern)(value) != fnmatch.fnmatchcase(value, pattern)


@given(values=st.lists(st.text(alphabet="abAB xy", min_size=1, max_size=4).map(str.strip).filter(bool),
                       min_size=1, max_size=6),
       probe=st.text(alphabet="abAB xy", max_size=4))
def test_alternatives_of_plain_values(values, probe):
    expr = "|".join(values)
    assert parse_expression("city", expr)(probe) == (probe in values)
    assert parse_expression("city", "@" + "|@".join(values))(probe) == \
        (probe.casefold() in {v.casefold() for v in values})
    assert parse_expression("territory_code", expr)(probe.upper()) == (probe.upper() in {v.upper() for v in values})


@given(lo=st.integers(-100, 100), hi=st.integers(-100, 100), n=st.integers(-150, 150))
def test_numeric_ranges_and_comparisons(lo, hi, n):
    if lo <= hi:
        assert parse_expression("revision", f"{lo}..{hi}")(n) == (lo <= n <= hi)
    else:
        assert validate_expression("revision", f"{lo}..{hi}") is not None
    assert parse_expression("revision", f">{lo}&<={hi}")(n) == (lo < n <= hi)
    assert parse_expression("revision", f"<{lo}|>={hi}")(n) == (n < lo or n >= hi)


# --- wildcards in linear time ---------------------------------------------------------------------

def _old_regex_matcher(pattern: str):
    """The matcher wildcards used to compile to (exponential on `*?*?*?x`): the reference."""
    import re

    rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return lambda v: re.compile(rx, re.DOTALL).fullmatch(v) is not None


@given(st.text("ab*?", max_size=9), st.text("ab\n", max_size=12))
@example("*?*?*?*?*?*?*?*?x", "a" * 12)
@example("a*?b", "ab")
@example("*a?", "aab")
@example("??", "a\n")
def test_wildcards_match_exactly_as_the_old_regex_did(pattern, value):
    if not pattern or pattern.strip() == "":
        return
    matches = parse_expression("name", pattern)
    assert matches(value) is _old_regex_matcher(pattern)(value), (pattern, value)


def test_the_worst_wildcard_patterns_answer_at_once():
    """As regexes these took seconds (200 characters: longer than anyone would wait) per value."""
    value = "a" * 200
    worst = {"*?*?*?*?*?*?*?*?x": False, "*a*a*a*a*a*a*a*a*a*b": False, "?*?*?*?*?*?*?*?*?*?*?*?*": True,
             "*aa*aa*aa*aa*aa*aa*ab": False, "*a?a?a?a*a?a?a*": True}
    assert {p: parse_expression("name", p)(value) for p in worst} == worst
