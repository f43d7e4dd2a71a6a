"""vCard lines and properties: unfolding (linear in the size of the text, however long a line),
group prefixes, parameters, quoted-printable values and their CHARSET, escapes and structured
values. Used by ``contacts_vcard``, which maps properties to master fields."""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .contacts_types import check_encoding

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
#: an escaped character, a separator, or a run of neither (a lone trailing backslash stays itself)
_COMPONENT_TOKEN = re.compile(r"\\.|;|[^\\;]+|\\", re.DOTALL)


@dataclass
class Prop:
    name: str
    params: dict[str, list[str]]
    value: str  # raw, still escaped (quoted-printable already decoded)
    line: int

    @cached_property
    def types(self) -> set[str]:
        out = {t.lower() for t in self.params.get("TYPE", [])}
        out |= {t.lower() for t in self.params.get("", [])}  # vCard 2.1: bare ;WORK;FAX
        return out

    @property
    def preferred(self) -> bool:
        return "pref" in self.types or bool(self.params.get("PREF"))


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
            qp = ("RINTABLE" in line or "rintable" in line) and _is_qp(_head(line))
    flush()
    return out


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


def parse_prop(number: int, line: str) -> Prop | str:
    """The property on a logical line, or why it is none."""
    head = _head(line)
    if len(head) == len(line):
        return f"line {number} is not a vCard property (NAME:value)"
    value = line[len(head) + 1:]
    if ";" not in head:  # most lines: no parameters
        return Prop(head.rsplit(".", 1)[-1].strip().upper(), {}, value, number)
    parts = _split_outside_quotes(head, ";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()  # drop a group prefix: item1.EMAIL
    params: dict[str, list[str]] = {}
    for p in parts[1:]:
        key, eq, val = p.partition("=")
        if not eq:
            key, val = "", key
        values = [v.strip() for v in val.replace('"', "").split(",")]
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    if "CHARSET" not in params and not _is_qp(head):
        return Prop(name, params, value, number)
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
    return Prop(name, params, value, number)


@lru_cache(maxsize=64)
def _charset(name: str) -> str:
    return check_encoding(name)


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def components(value: str) -> list[str]:
    """Split a structured value (N, ADR, ORG) at unescaped semicolons, then unescape each part."""
    if "\\" not in value:
        return [part.strip() for part in value.split(";")]
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
