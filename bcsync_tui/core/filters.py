"""Business Central filter expressions on contact fields (SPEC §4).

A filter maps fields to expressions typed as in BC's filter pane::

    1000..2000   ..2500   2500..   <>0   >50   <=10   10000|20000   >5000&<10000
    *Co*   Co*   *Co   ?oo   @*co*   ''   <>''   'A&B'   (A*|B*)&<>Bob

Decisions (BC has no formal grammar; these follow BC where it shows):

* ``&`` binds tighter than ``|``: ``A*&*z|B`` is ``(A*&*z)|B``. Parentheses group.
* ``*`` is any run of characters (also none), ``?`` exactly one; anywhere in a value, text and
  code fields only, not with ``<``/``>``/``..`` (``<>`` is fine: "not like").
* ``'…'`` quotes: everything inside is literal, ``''`` inside is one quote, ``''`` alone is the
  empty value; quoted and unquoted pieces mix (``'50%'*``). Spaces around a value are trimmed
  unless quoted; spaces inside are kept.
* ``& | ( ) ' < >`` are operators everywhere: quote a value to match them (``'Smith (Jr)'``).
  ``@`` is special only where a condition starts (``@co*``, ``<>@oslo``, ``@a..m`` for both
  bounds, ``@(oslo|bergen)`` for a group), so ``*@contoso.com`` works. ``=`` is literal (BC has
  no ``=`` operator).
* Text compares case-sensitively by code point (BC's default, not its SQL collation: ``A..Z``
  excludes lower-case words, use ``@a..z``); ``@`` compares Unicode case-folded text. Code fields
  compare upper-cased like BC's Code type, so ``n*`` matches ``N1``.
* Revision compares as a number; Privacy Blocked takes Yes/No/true/false/1/0; Type takes
  Person/Company (Company < Person, as BC's option order); all case-insensitive.
* A reversed range (``b..a``) is an error, not a filter that silently matches nothing.

Expressions compile once into closures (str fast paths, precompiled regexes, one set lookup for
``a|b|c``), so matching is a cheap pass over the contacts.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, NoReturn

from .model import COMPANY, CONTACT_TYPES, FIELD_BY_KEY, FIELDS, PERSON, parse_bool, parse_type, resolve_field

__all__ = ["ContactFilter", "FilterError", "parse_expression", "validate_expression"]

Predicate = Callable[[Any], bool]


class FilterError(ValueError):
    """An expression a user must fix; ``position`` is a 0-based index into ``expression``."""

    def __init__(self, field: str, expression: str, position: int, reason: str):
        super().__init__(field, expression, position, reason)
        self.field, self.expression, self.position, self.reason = field, expression, position, reason

    @property
    def column(self) -> int:
        """Where the error is as people count (from 1), in the TUI and the CLI alike."""
        return self.position + 1

    def __str__(self) -> str:
        f = FIELD_BY_KEY.get(self.field)
        label = f.caption if f else self.field
        text = f"{self.reason} (column {self.column}): {self.expression}"
        return f"{label}: {text}" if label else text


def _kind(key: str) -> str:
    """The model's field kinds collapsed to the five ways a filter compares values."""
    k = FIELD_BY_KEY[key].kind
    return k if k in ("code", "int", "bool", "type") else "text"


# Stored values are normalised by the model; these only keep odd ones from raising.
def _text(raw: Any) -> str:
    return raw if raw.__class__ is str else ("" if raw is None else str(raw))


def _int(raw: Any) -> int | None:
    try:
        return 0 if raw is None or raw == "" else int(raw)
    except (TypeError, ValueError, OverflowError):
        return None  # unreadable: matches no condition


def _bool(raw: Any) -> bool:
    return parse_bool(raw) if isinstance(raw, str) else bool(raw)


def _type(raw: Any) -> str:
    return raw if raw in CONTACT_TYPES else parse_type(_text(raw))


_BOOLS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
_TYPES = {"person": PERSON, "company": COMPANY}
_OPS = ("<>", "<=", ">=", "<", ">")
_INT_RE = re.compile(r"[+-]?[0-9]{1,30}")
_LIT, _WILD, _SPACE = 0, 1, 2  # item kinds in a value: literal char, unquoted * or ?, unquoted space
_STAR, _ONE = ("*",), ("?",)  # wildcard markers in a pattern's parts (literal runs are str)
_END = ("", "|", "&", ")")  # what may follow a condition


class _Parser:
    """Recursive descent over the raw expression, so errors carry positions in what was typed.

    Builds a tree of tuples: ("or"|"and", [nodes]), ("cmp", op, const, fold),
    ("pat", parts, fold, negate), ("range", lo, hi, fold); ``fold``: case-fold the value first.
    """

    def __init__(self, key: str, expr: str):
        self.key, self.s, self.i, self.depth, self.kind = key, expr, 0, 0, _kind(key)

    def fail(self, reason: str, pos: int | None = None) -> NoReturn:
        raise FilterError(self.key, self.s, self.i if pos is None else pos, reason)

    def peek(self) -> str:
        s, n = self.s, len(self.s)
        while self.i < n and s[self.i].isspace():
            self.i += 1
        return s[self.i] if self.i < n else ""

    def parse(self) -> tuple:
        node = self.expr("", False)
        if self.i < len(self.s):  # expr() stops only at ')' or the end
            self.fail("unmatched ')'")
        return node

    def expr(self, after: str, ci: bool, sep: str = "|") -> tuple:
        """With sep '|': alternatives of '&'-chains; with sep '&': a chain of conditions."""
        item = (lambda a: self.expr(a, ci, "&")) if sep == "|" else (lambda a: self.term(a, ci))
        parts = [item(after)]
        while self.peek() == sep:
            self.i += 1
            parts.append(item(sep))
        return parts[0] if len(parts) == 1 else ("or" if sep == "|" else "and", parts)

    def term(self, after: str, ci: bool) -> tuple:
        c = self.peek()
        if c in _END:
            self.fail({"&": "missing condition after '&'", "|": "empty alternative after '|'"}.get(after)
                      or ("empty parentheses" if c == ")" and after == "(" else None)
                      or {"|": "empty alternative before '|'", "&": "missing condition before '&'",
                          ")": "unmatched ')'", "": "unclosed '('"}[c])
        own_at = c == "@"
        if own_at:
            ci = self.at_sign(False)
            c = self.peek()
            if c in _END:
                self.fail("'@' needs a value after it")
        if c == "(":
            self.depth += 1
            if self.depth > 30:
                self.fail("too many nested parentheses")
            self.i += 1
            node = self.expr("(", ci)
            if self.peek() != ")":
                self.fail("unclosed '('")
            self.i += 1
            self.depth -= 1
            if self.peek() not in _END:
                self.fail(f"unexpected {self.s[self.i]!r} after ')' (expected '&', '|' or the end)")
            return node
        op = next((o for o in _OPS if self.s.startswith(o, self.i)), None)
        if op:
            self.i += len(op)
            if self.peek() == "@":
                ci = self.at_sign(own_at)
            val = self.operand()
            if self.s.startswith("..", self.i):
                self.fail(f"'{op}' cannot be combined with a range '..'")
            if val is None:
                self.fail(f"'{op}' needs a value" + (" (use <>'' for 'not empty')" if op == "<>" else ""))
            return self.condition(op, val, ci)
        lo = self.operand()  # not None: c is no stop character, so something is read or it fails
        if not self.s.startswith("..", self.i):
            return self.condition("=", lo, ci)
        dots = self.i
        self.i += 2
        if self.peek() == "@":
            self.fail("put '@' at the start of the range, e.g. @a..m")
        hi = self.operand()
        if self.s.startswith("..", self.i):
            self.fail("only one '..' allowed in a range")
        if lo is None and hi is None:
            self.fail("'..' needs a value on at least one side", dots)
        why = self.wild_reason("a range")
        lo_c = None if lo is None else self.const(lo, ci, why)
        hi_c = None if hi is None else self.const(hi, ci, why)
        if lo_c is not None and hi_c is not None and lo_c > hi_c:
            self.fail("the range starts after it ends (write the smaller value first)", lo[1])
        return ("range", lo_c, hi_c, self.folds(ci))

    def at_sign(self, twice: bool) -> bool:
        if self.kind == "int":
            self.fail("'@' (ignore case) does not apply to numbers")
        if twice:
            self.fail("'@' given twice")
        self.i += 1
        if self.peek() == "@":
            self.fail("'@' given twice")
        return True

    def operand(self) -> tuple[list, int] | None:
        """One value up to the next operator as ([(char, pos, kind)], start); None if absent."""
        self.peek()
        s, n, start, items, quoted = self.s, len(self.s), self.i, [], False
        while self.i < n:
            c = s[self.i]
            if c in "&|)" or s.startswith("..", self.i):
                break
            if c in "(<>":
                self.fail(f"unexpected {c!r} inside a value (quote the value to match a literal {c!r})")
            if c != "'":
                items.append((c, self.i, _WILD if c in "*?" else _SPACE if c.isspace() else _LIT))
                self.i += 1
                continue
            quoted, self.i = True, self.i + 1
            while True:
                j = s.find("'", self.i)
                if j < 0:
                    self.fail("unclosed quote", n)
                items.extend((ch, self.i + k, _LIT) for k, ch in enumerate(s[self.i:j]))
                if not s.startswith("''", j):
                    self.i = j + 1
                    break
                items.append(("'", j, _LIT))  # doubled quote: one literal ', still inside
                self.i = j + 2
        while items and items[-1][2] == _SPACE:  # leading spaces were skipped by peek()
            items.pop()
        if not items and not quoted:
            return None
        return items, (items[0][1] if items else start)

    def folds(self, ci: bool) -> bool:
        return ci and self.kind == "text"  # code values are upper-cased before any test

    def wild_reason(self, context: str) -> str:
        if self.kind in ("text", "code"):
            return f"wildcards (* ?) cannot be used in {context}"
        return "wildcards (* ?) only work on text fields"

    def const(self, val: tuple[list, int], ci: bool, wild_reason: str) -> Any:
        """A wildcard-free value converted to what the field's values are compared with."""
        items, pos = val
        wild = next((p for _, p, k in items if k == _WILD), None)
        if wild is not None:
            self.fail(wild_reason, wild)
        text = "".join(ch for ch, _, _ in items)
        if self.kind == "text":
            return text.casefold() if ci else text
        if self.kind == "code":
            return text.upper()
        if self.kind == "int":
            if not _INT_RE.fullmatch(text):
                self.fail(f"'{text}' is not a whole number", pos)
            return int(text)
        table, what = (_BOOLS, "Yes or No") if self.kind == "bool" else (_TYPES, "Person or Company")
        if text.lower() not in table:
            self.fail(f"'{text}' is not {what}", pos)
        return table[text.lower()]

    def condition(self, op: str, val: tuple[list, int], ci: bool) -> tuple:
        items = val[0]
        if op not in ("=", "<>") or self.kind not in ("text", "code") or all(k != _WILD for _, _, k in items):
            return ("cmp", op, self.const(val, ci, self.wild_reason(f"a '{op}' condition")), self.folds(ci))
        fold = str.upper if self.kind == "code" else str.casefold if ci else None
        parts: list = []
        for ch, _, k in items:
            if k != _WILD:
                ch = fold(ch) if fold else ch
                if parts and isinstance(parts[-1], str):
                    parts[-1] += ch
                else:
                    parts.append(ch)
            elif ch == "?":
                parts.append(_ONE)
            elif not parts or parts[-1] is not _STAR:  # '**' is '*'
                parts.append(_STAR)
        return ("pat", parts, self.folds(ci), op == "<>")


# --- compiling the tree to closures -----------------------------------------------------------

# partial(op, c)(v) is op(c, v): no Python frame per test; with the constant first, '<' is gt.
_CMP = {"=": operator.eq, "<>": operator.ne, "<": operator.gt, "<=": operator.ge, ">": operator.lt, ">=": operator.le}


def _pattern(parts: list) -> Predicate:
    """A wildcard pattern as the cheapest test that implements it (str methods before regex)."""
    if parts == [_STAR]:
        return lambda v: True
    if _ONE not in parts and len(parts) <= 3:
        lit = next(p for p in parts if isinstance(p, str))
        if parts == [_STAR, lit, _STAR]:
            return lambda v: lit in v
        if parts == [lit, _STAR]:
            return lambda v: v.startswith(lit)
        if parts == [_STAR, lit]:
            return lambda v: v.endswith(lit)
    return _glob(parts)


class _Segment:
    """A run of the pattern between two stars: literals and ``?``, so it has a fixed length."""

    def __init__(self, parts: list):
        self.length = sum(1 if p is _ONE else len(p) for p in parts)
        if all(p is _ONE for p in parts):  # only ``?``: any characters, as long as there are enough
            n = self.length
            self.at = lambda v, i: i + n <= len(v)
            self.find = lambda v, i: i if i + n <= len(v) else -1
        elif _ONE in parts:
            rx = re.compile("".join("." if p is _ONE else re.escape(p) for p in parts), re.DOTALL)
            self.at = lambda v, i: rx.match(v, i) is not None
            self.find = lambda v, i: -1 if (m := rx.search(v, i)) is None else m.start()
        else:
            text = "".join(parts)
            self.at = lambda v, i: v.startswith(text, i)
            self.find = lambda v, i: v.find(text, i)


def _glob(parts: list) -> Predicate:
    """``*``/``?`` matching in time linear in the value (times the pattern's length), never
    exponential: the pattern is ``first * middle... * last`` with fixed-length pieces; ``first``
    must start the value, ``last`` end it, and each middle piece is taken at its leftmost place
    after the previous one (a later place never leaves more room for the rest). A regex with
    several ``.*`` backtracks exponentially on ``*?*?*?*?x``."""
    pieces: list[list] = [[]]
    for p in parts:
        if p is _STAR:
            pieces.append([])
        else:
            pieces[-1].append(p)
    segments = [_Segment(piece) for piece in pieces]
    if len(segments) == 1:
        only = segments[0]
        return lambda v: len(v) == only.length and only.at(v, 0)
    first, middle, last = segments[0], segments[1:-1], segments[-1]

    def test(v: str) -> bool:
        end = len(v) - last.length
        if end < first.length or not first.at(v, 0):
            return False
        pos = first.length
        for seg in middle:
            if seg.length == 0:
                continue
            found = seg.find(v, pos)
            if found < 0 or found + seg.length > end:
                return False
            pos = found + seg.length
        return last.at(v, end)
    return test


def _join(preds: list[Predicate], is_or: bool) -> Predicate:
    """OR / AND of predicates, short-circuiting; a loop, not nesting, so long chains are fine."""
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return (lambda v: a(v) or b(v)) if is_or else (lambda v: a(v) and b(v))
    ps = tuple(preds)

    def test(v: Any) -> bool:
        for p in ps:
            if (not p(v)) is not is_or:
                return is_or
        return not is_or
    return test


def _folded(pred: Predicate) -> Predicate:
    return lambda v: pred(v.casefold())


def _compile(node: tuple) -> tuple[Predicate, bool]:
    """(predicate, whether it expects case-folded text): folding happens once, as high as it can."""
    tag = node[0]
    if tag in ("or", "and"):
        sets: dict[bool, set] = {False: set(), True: set()}  # plain values of 'a|b|c': one set lookup
        compiled = []
        for child in node[1]:
            if tag == "or" and child[0] == "cmp" and child[1] == "=":
                sets[child[3]].add(child[2])
            else:
                compiled.append(_compile(child))
        compiled += [(frozenset(values).__contains__, fold) for fold, values in sets.items() if values]
        fold = all(f for _, f in compiled)
        preds = [p if fold or not f else _folded(p) for p, f in compiled]
        return _join(preds, tag == "or"), fold
    if tag == "cmp":
        return partial(_CMP[node[1]], node[2]), node[3]
    if tag == "pat":
        pred = _pattern(node[1])
        return ((lambda v: not pred(v)) if node[3] else pred), node[2]
    lo, hi, fold = node[1:]
    return ((lambda v: v >= lo) if hi is None else (lambda v: v <= hi) if lo is None
            else (lambda v: lo <= v <= hi)), fold


# --- public API -------------------------------------------------------------------------------


def _field_key(field: Any, expr: Any) -> str:
    key = resolve_field(field) if isinstance(field, str) else None
    if key is None:
        raise FilterError(str(field), expr if isinstance(expr, str) else "", 0, f"unknown field '{field}'")
    return key


def _as_text(field: str, expr: Any) -> str:
    if expr is None or isinstance(expr, str):
        return expr or ""
    raise FilterError(field, repr(expr), 0, f"a filter must be text, not {type(expr).__name__}")


def parse_expression(field: str, expr: str) -> Predicate:
    """Compile ``expr`` for a field (key or BC caption) into a test on that field's stored value.

    Blank means no condition (always true). Raises FilterError for anything it cannot read.
    """
    key = _field_key(field, expr)
    expr = _as_text(key, expr)
    if not expr.strip():
        return lambda raw: True
    (test, fold), kind = _compile(_Parser(key, expr).parse()), _kind(key)
    test = _folded(test) if fold else test
    if kind == "text":  # str check inline: this runs once per contact and field
        return lambda raw: test(raw) if raw.__class__ is str else test(_text(raw))
    if kind == "code":
        return lambda raw: test(raw.upper()) if raw.__class__ is str else test(_text(raw).upper())
    if kind == "int":
        return lambda raw: (v := _int(raw)) is not None and test(v)
    norm = _bool if kind == "bool" else _type
    return lambda raw: test(norm(raw))


def validate_expression(field: str, expr: str) -> FilterError | None:
    """The error for a UI to show under the input, or None when ``expr`` is fine."""
    try:
        parse_expression(field, expr)
    except FilterError as exc:
        return exc
    return None


_ORDER = {f.key: i for i, f in enumerate(FIELDS)}


class ContactFilter:
    """Field → expression, compiled once; a contact matches when every field's condition holds.

    Names may be keys or BC captions; they are kept by key, in the model's field order, and
    blank expressions are dropped (no condition on that field).
    """

    __slots__ = ("_exprs", "_match")

    def __init__(self, exprs: Mapping[str, str] | None = None):
        if exprs is not None and not isinstance(exprs, Mapping):
            raise FilterError("", repr(exprs), 0, "a filter must map field names to expressions")
        given: dict[str, str] = {}  # key → name as given
        compiled: list[tuple[str, str, Predicate]] = []
        for name, expr in (exprs or {}).items():
            key = _field_key(name, expr)
            if key in given:
                raise FilterError(key, _as_text(key, expr), 0, f"field given twice (as '{given[key]}' and '{name}')")
            given[key] = name
            pred, text = parse_expression(key, expr), _as_text(key, expr).strip()
            if text:
                compiled.append((key, text, pred))
        compiled.sort(key=lambda c: _ORDER[c[0]])
        self._exprs = {key: text for key, text, _ in compiled}
        self._match = _contact_test([(key, pred) for key, _, pred in compiled])

    @classmethod
    def from_dict(cls, data: Mapping[str, str] | None) -> ContactFilter:
        return cls(data)

    def to_dict(self) -> dict[str, str]:
        """Canonical form for storage: field key → trimmed expression, blanks left out."""
        return dict(self._exprs)

    @property
    def is_empty(self) -> bool:
        return not self._exprs

    def matches(self, contact: Mapping[str, Any]) -> bool:
        return self._match(contact)

    def count(self, contacts: Iterable[Mapping[str, Any]]) -> int:
        return sum(map(self._match, contacts))

    def select(self, contacts: Iterable[Mapping[str, Any]]) -> list:
        return list(filter(self._match, contacts))

    def describe(self) -> str:
        """BC-like text, e.g. ``City: OSLO|BERGEN; Territory Code: N*`` ("" when empty)."""
        return "; ".join(f"{FIELD_BY_KEY[k].caption}: {e}" for k, e in self._exprs.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContactFilter) and self._exprs == other._exprs

    def __hash__(self) -> int:
        return hash(frozenset(self._exprs.items()))

    def __repr__(self) -> str:
        return f"ContactFilter({self._exprs!r})"


def _contact_test(checks: list[tuple[str, Predicate]]) -> Callable[[Mapping[str, Any]], bool]:
    if len(checks) == 1:
        (k, p), = checks
        return lambda c: p(c.get(k))
    ks = tuple(checks)

    def test(c: Mapping[str, Any]) -> bool:
        for k, p in ks:
            if not p(c.get(k)):
                return False
        return True
    return test
