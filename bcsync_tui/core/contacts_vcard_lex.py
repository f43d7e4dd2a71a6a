"""vCard lines and properties: unfolding (linear in the size of the text, however long a line),
group prefixes, parameters, quoted-printable values and their CHARSET, escapes and structured
values. Used by ``contacts_vcard``, which maps properties to master fields."""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, count, repeat
from operator import not_

from .contacts_types import check_encoding

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
#: a line break and the space or tab that makes the next line a continuation
_FOLD = re.compile(r"(?:\r\n|\r|\n)[ \t]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
#: an escaped character, a separator, or a run of neither (a lone trailing backslash stays itself)
_COMPONENT_TOKEN = re.compile(r"\\.|;|[^\\;]+|\\", re.DOTALL)


#: the parameters of every property that has none (shared: read-only)
_NO_PARAMS: dict[str, list[str]] = {}


@dataclass(slots=True)
class Prop:
    name: str
    params: dict[str, list[str]]
    value: str  # raw, still escaped (quoted-printable already decoded)
    line: int
    #: TYPE values, lower case (with vCard 2.1's bare ;WORK;FAX)
    types: frozenset[str] = frozenset()

    @property
    def preferred(self) -> bool:
        return "pref" in self.types or bool(self.params.get("PREF"))


def _types(params: dict[str, list[str]]) -> frozenset[str]:
    return frozenset(t.lower() for t in (*params.get("TYPE", ()), *params.get("", ())))


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _is_qp(head: str) -> bool:
    return "QUOTED-PRINTABLE" in head.upper()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfold: a line starting with a space or tab continues the previous one; a quoted-printable
    value ending in ``=`` continues on the next line (vCard 2.1 soft line break). Linear in the
    size of the text: the pieces of a logical line are joined once."""
    if "RINTABLE" not in text and "rintable" not in text:  # no quoted-printable: unfolding is one replace
        crlf = "\r" in text and text.count("\r\n") == text.count("\r") == text.count("\n")
        if "\r" not in text or crlf:  # every line break the same
            # _FOLD.sub at C speed: with no tab after a line break, the folds are the break and a space
            brk = "\r\n" if crlf else "\n"
            lines = (text.replace(brk + " ", "") if brk + "\t" not in text else _FOLD.sub("", text)).split(brk)
            physical = text.split(brk)
        else:
            lines, physical = _LINE_SPLIT.split(_FOLD.sub("", text)), _LINE_SPLIT.split(text)
        starts = list(compress(count(1), map(not_, map(str.startswith, physical, repeat((" ", "\t"))))))
        if not starts or starts[0] != 1:  # the first line starts one even when it is indented
            starts.insert(0, 1)
        if len(starts) == len(lines):  # else a CR before a fold met the LF after it: read line by line
            return list(zip(starts, lines))
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    start, qp = 0, False

    def flush() -> None:
        if parts:
            out.append((start, "".join(parts)))

    for number, line in enumerate(_LINE_SPLIT.split(text), start=1):
        if parts and line[:1] in (" ", "\t"):
            parts.append(line[1:])
        elif parts and qp and parts[-1].endswith("="):
            parts[-1] = parts[-1][:-1]
            parts.append("=\n" + line)
        else:
            flush()
            parts, start = [line], number
            qp = quoted_printable(line)
    flush()
    return out


def quoted_printable(line: str) -> bool:
    """Whether a line's value is quoted-printable (and may go on in the next line)."""
    return ("RINTABLE" in line or "rintable" in line) and _is_qp(_head(line))


def _head(line: str) -> str:
    """The part of a property line before its value: up to the first colon outside quotes."""
    colon = line.find(":")
    if colon < 0:
        return line
    if '"' not in line[:colon]:
        return line[:colon]
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i]
    return line


#: a property line's part before the value, as written → (name, parameters, types, needs decoding);
#: a file repeats a few dozen of them ("EMAIL;TYPE=INTERNET,WORK", "TEL;TYPE=CELL") on every card
HEADS: dict[str, tuple[str, dict[str, list[str]], frozenset[str], bool]] = {}
HEADS_MAX = 512  # a file of made-up heads does not grow the table without end


def _parse_head(head: str) -> tuple[str, dict[str, list[str]], frozenset[str], bool]:
    parts = _split_outside_quotes(head, ";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()  # drop a group prefix: item1.EMAIL
    if len(parts) == 1:
        return name, _NO_PARAMS, frozenset(), False
    params: dict[str, list[str]] = {}
    for p in parts[1:]:
        key, eq, val = p.partition("=")
        if not eq:
            key, val = "", key
        values = [v.strip() for v in val.replace('"', "").split(",")]
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    return name, params, _types(params), "CHARSET" in params or _is_qp(head)


def parsed_head(head: str) -> tuple[str, dict[str, list[str]], frozenset[str], bool]:
    """A head's name, parameters, types and whether its value needs decoding (QUOTED-PRINTABLE or
    a CHARSET), from ``HEADS`` or parsed (and kept there while it has room)."""
    parsed = HEADS.get(head)
    if parsed is None:
        parsed = _parse_head(head)
        if len(HEADS) < HEADS_MAX:
            HEADS[head] = parsed
    return parsed


def parse_prop(number: int, line: str) -> Prop | str:
    """The property on a logical line, or why it is none. Its parameters may be shared with
    other properties: read-only."""
    head = _head(line)
    if len(head) == len(line):
        return f"line {number} is not a vCard property (NAME:value)"
    value = line[len(head) + 1:]
    name, params, types, encoded = parsed_head(head)
    if not encoded:
        return Prop(name, params, value, number, types)
    encoding = {e.upper() for e in params.get("ENCODING", [])} | {e.upper() for e in params.get("", [])}
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    if "QUOTED-PRINTABLE" in encoding:
        raw = quopri.decodestring(value.encode("utf-8", "replace"))
        try:
            value = raw.decode(_charset(charset), "replace")
        except (LookupError, ValueError) as exc:  # UnicodeError is a ValueError
            return f"line {number}: {name} has CHARSET={charset}, which is not a character set for text ({exc})"
    elif params.get("CHARSET"):
        try:
            _charset(charset)
        except (LookupError, ValueError) as exc:
            return f"line {number}: {name} has CHARSET={charset}, which is not a character set for text ({exc})"
    return Prop(name, params, value, number, types)


@lru_cache(maxsize=64)
def _charset(name: str) -> str:
    return check_encoding(name)


def unescape(text: str) -> str:
    if "\\" not in text:
        return text
    if "\\\\" not in text:  # every backslash starts an escape: \n and \N are line breaks, \x is x
        text = text.replace("\\n", "\n").replace("\\N", "\n")
        if "\\" not in text:
            return text
        if text.endswith("\\"):  # a lone backslash at the end stays
            return text[:-1].replace("\\", "") + "\\"
        return text.replace("\\", "")
    return unescape_each(text)


def unescape_each(text: str) -> str:
    """``unescape``, one escape at a time."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def components(value: str) -> list[str]:
    """Split a structured value (N, ADR, ORG) at unescaped semicolons, then unescape each part."""
    if "\\" not in value:
        return [part.strip() for part in value.split(";")]
    if "\\;" not in value:  # no semicolon is escaped (nor follows a backslash): each one separates
        return [unescape(part).strip() for part in value.split(";")]
    return components_by_token(value)


def components_by_token(value: str) -> list[str]:
    """``components``, token by token."""
    parts: list[str] = []
    cur: list[str] = []
    for token in _COMPONENT_TOKEN.findall(value):
        if token == ";":
            parts.append(unescape("".join(cur)).strip())
            cur = []
        else:
            cur.append(token)
    parts.append(unescape("".join(cur)).strip())
    return parts
