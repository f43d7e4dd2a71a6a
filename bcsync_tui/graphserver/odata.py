"""The OData query options the contacts API takes: ``$filter``, ``$select``, ``$expand``, ``$orderby``.

``$filter`` is parsed into a small tree and evaluated against an object's JSON (what Graph would answer
with every property, extended properties included). Supported: ``eq ne gt ge lt le``, ``and or not``,
parentheses, ``startswith/endswith/contains(path, 'x')`` and lambdas ``path/any(v: ...)``. String
comparisons ignore case, as Outlook's do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import GraphError

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w/])|(?P<punct>[(),:])"
                    r"|(?P<word>[A-Za-z_@$][\w@./$-]*))")
_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith", "contains"}
_MAX_FILTER = 8192

Pred = Callable[[Any, dict], bool]


def invalid_filter(detail: str = "") -> GraphError:
    return GraphError(400, "BadRequest", "Invalid filter clause" + (f": {detail}" if detail else ""))


@dataclass
class _Tok:
    kind: str
    value: Any


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise invalid_filter(f"syntax error at position {pos}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(_Tok("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            n = m.group("num")
            out.append(_Tok("lit", float(n) if "." in n else int(n)))
        elif m.group("punct") is not None:
            out.append(_Tok(m.group("punct"), m.group("punct")))
        else:
            w = m.group("word")
            low = w.lower()
            if low in ("true", "false"):
                out.append(_Tok("lit", low == "true"))
            elif low == "null":
                out.append(_Tok("lit", None))
            elif low in _CMP or low in ("and", "or", "not"):
                out.append(_Tok(low, low))
            else:
                out.append(_Tok("path", w))
    return out


def _norm(v: Any) -> Any:
    return v.casefold() if isinstance(v, str) else v


def resolve(obj: Any, path: str, scope: dict) -> Any:
    parts = path.split("/")
    cur = scope[parts[0]] if parts[0] in scope else (obj.get(parts[0]) if isinstance(obj, dict) else None)
    for p in parts[1:]:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


class _Parser:
    def __init__(self, tokens: list[_Tok]):
        self.toks, self.i = tokens, 0

    def peek(self, kind: str | None = None) -> _Tok | None:
        t = self.toks[self.i] if self.i < len(self.toks) else None
        return t if t is not None and (kind is None or t.kind == kind) else None

    def take(self, kind: str) -> _Tok:
        t = self.peek(kind)
        if t is None:
            raise invalid_filter(f"expected {kind!r}")
        self.i += 1
        return t

    def parse(self) -> Pred:
        p = self.expr()
        if self.i != len(self.toks):
            raise invalid_filter("unexpected text after the expression")
        return p

    def expr(self) -> Pred:
        left = self.conj()
        while self.peek("or"):
            self.i += 1
            right = self.conj()
            left = (lambda a, b: lambda o, s: a(o, s) or b(o, s))(left, right)
        return left

    def conj(self) -> Pred:
        left = self.unary()
        while self.peek("and"):
            self.i += 1
            right = self.unary()
            left = (lambda a, b: lambda o, s: a(o, s) and b(o, s))(left, right)
        return left

    def unary(self) -> Pred:
        if self.peek("not"):
            self.i += 1
            inner = self.unary()
            return lambda o, s: not inner(o, s)
        if self.peek("("):
            self.i += 1
            inner = self.expr()
            self.take(")")
            return inner
        return self.primary()

    def value(self) -> Callable[[Any, dict], Any]:
        if self.peek("lit"):
            v = self.take("lit").value
            return lambda o, s: v
        path = self.take("path").value
        return lambda o, s: resolve(o, path, s)

    def primary(self) -> Pred:
        tok = self.take("path")
        name = tok.value
        if name.lower() in _FUNCS and self.peek("("):
            self.i += 1
            a = self.value()
            self.take(",")
            b = self.value()
            self.take(")")
            fn = {"startswith": str.startswith, "endswith": str.endswith, "contains": str.__contains__}[name.lower()]
            return lambda o, s: isinstance(a(o, s), str) and isinstance(b(o, s), str) and fn(
                a(o, s).casefold(), b(o, s).casefold())
        head, _, last = name.rpartition("/")
        if head and last.lower() in ("any", "all") and self.peek("("):
            self.i += 1
            var = self.take("path").value
            self.take(":")
            body = self.expr()
            self.take(")")
            quantifier = any if last.lower() == "any" else all

            def lam(o: Any, s: dict) -> bool:
                coll = resolve(o, head, s)
                return isinstance(coll, list) and quantifier(body(o, {**s, var: e}) for e in coll)
            return lam
        op = self.peek()
        if op is None or op.kind not in _CMP:
            raise invalid_filter(f"expected a comparison after {name!r}")
        self.i += 1
        rhs = self.value()
        return lambda o, s: _compare(op.kind, resolve(o, name, s), rhs(o, s))


def parse_filter(text: str) -> Pred:
    """A predicate ``pred(obj, {})``; GraphError 400 for text it cannot parse."""
    if len(text) > _MAX_FILTER:
        raise invalid_filter("the filter is too long")
    try:
        return _Parser(_tokens(text)).parse()
    except RecursionError:
        raise invalid_filter("the filter is nested too deeply") from None


def matches(pred: Pred, obj: Any) -> bool:
    return bool(pred(obj, {}))


@dataclass
class Expand:
    """One ``$expand`` entry: a navigation property and its optional ``$filter``."""

    name: str
    filter: Pred | None = None


def parse_expand(text: str, allowed: set[str], type_name: str) -> list[Expand]:
    out: list[Expand] = []
    for part in _split_top(text):
        m = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*", part, re.S)
        if m is None:
            raise GraphError(400, "BadRequest", f"Invalid $expand: {part!r}")
        name = next((a for a in allowed if a.lower() == m.group(1).lower()), None)
        if name is None:
            raise GraphError(400, "RequestBroker--ParseUri", f"Could not find a property named '{m.group(1)}' on "
                             f"type '{type_name}'.")
        pred = None
        if m.group(2):
            opt = re.fullmatch(r"\s*\$filter\s*=(.*)", m.group(2), re.S)
            if opt is None:
                raise GraphError(400, "BadRequest", f"Invalid $expand option: {m.group(2)!r}")
            pred = parse_filter(opt.group(1))
        out.append(Expand(name, pred))
    return out


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def parse_select(text: str, allowed: set[str], type_name: str) -> list[str]:
    names = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            continue
        name = next((a for a in allowed if a.lower() == raw.lower()), None)
        if name is None:
            raise GraphError(400, "RequestBroker--ParseUri", f"Could not find a property named '{raw}' on type "
                             f"'{type_name}'.")
        names.append(name)
    return names


def parse_orderby(text: str, allowed: set[str], type_name: str) -> tuple[str, bool]:
    """(property, descending) of a one-key ``$orderby``."""
    parts = text.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise GraphError(400, "BadRequest", f"Invalid $orderby: {text!r}")
    name = parse_select(parts[0], allowed, type_name)[0]
    return name, len(parts) == 2 and parts[1].lower() == "desc"
