"""Restriction (search filter) and SortOrder evaluation for FindItem and FindFolder.

Supported: And, Or, Not, IsEqualTo, IsNotEqualTo, IsGreaterThan(OrEqualTo), IsLessThan(OrEqualTo),
Exists, Contains (FullString / Prefixed / Substring / PrefixOnWords / ExactPhrase, with IgnoreCase
and Loose comparisons), Excludes (bitmask) on FieldURI, IndexedFieldURI and ExtendedFieldURI paths.
Values compare as numbers when both sides are numbers, else as case-insensitive strings (Exchange's
default collation is case-insensitive); date-times in ISO form sort correctly as strings.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from typing import Callable

from .contacts_xml import COMPUTED, INDEXED, ext_key, uri_element
from .mailbox import Folder, Item, Mailbox, fmt_time
from .render import computed, item_size
from .soap import local_name, schema_error, t

Getter = Callable[[ET.Element], list[str]]


def item_getter(item: Item, mbx: Mailbox, folder: Folder) -> Getter:
    def get(path: ET.Element) -> list[str]:
        kind = local_name(path.tag)
        if kind == "ExtendedFieldURI":
            prop = item.ext.get(ext_key(path))
            if prop is None:
                return []
            vals = prop.findall(t("Value")) + [v for vs in prop.findall(t("Values")) for v in vs]
            return [v.text or "" for v in vals]
        uri = path.get("FieldURI") or ""
        if kind == "IndexedFieldURI":
            parts = uri.split(":")
            container = item.props.get(INDEXED.get(parts[1] if len(parts) > 1 else "", ""))
            if container is None:
                return []
            for entry in container:
                if entry.get("Key") == path.get("FieldIndex"):
                    if len(parts) > 2:
                        return [c.text or "" for c in entry if local_name(c.tag) == parts[2]]
                    return [entry.text or ""]
            return []
        name = uri_element(uri)
        if name == "ItemId":
            return [mbx.item_id(item)]
        if name == "ParentFolderId":
            return [mbx.folder_id(folder)]
        if name in ("DateTimeCreated", "DateTimeReceived"):
            return [fmt_time(item.created)]
        if name == "LastModifiedTime":
            return [fmt_time(item.modified)]
        e = item.props.get(name)
        if e is None and name in COMPUTED:  # a value the server fills in matches like a stored one
            e = computed(name, item, mbx, folder, item_size(item) if name == "Size" else 0)
        if e is None:
            return []
        if len(e):
            if local_name(e[0].tag) in ("String", "Entry"):
                return [c.text or "" for c in e]
            return ["".join(e.itertext())]
        return [e.text or ""]
    return get


def unread_count(folder: Folder) -> int:
    """Items of the folder marked unread (IsRead false); items without IsRead, contacts among them, are not."""
    return sum(1 for it in folder.items.values() if (e := it.props.get("IsRead")) is not None and e.text == "false")


def folder_getter(folder: Folder, mbx: Mailbox) -> Getter:
    def get(path: ET.Element) -> list[str]:
        name = uri_element(path.get("FieldURI") or "")
        if name == "DisplayName":
            return [folder.name]
        if name == "FolderClass":
            return [folder.folder_class] if folder.folder_class else []
        if name == "TotalCount":
            return [str(len(folder.items))]
        if name == "ChildFolderCount":
            return [str(len(mbx.children(folder)))]
        if name == "UnreadCount":
            return [str(unread_count(folder))]
        if name == "FolderId":
            return [mbx.folder_id(folder)]
        if name == "DistinguishedFolderId":
            return [folder.distinguished] if folder.distinguished else []
        return []
    return get


def _fold(s: str, ignore_case: bool = True, loose: bool = False) -> str:
    if loose:
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return s.casefold() if ignore_case else s


def _num(s: str):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


_BOOL = {"true": 1.0, "1": 1.0, "false": 0.0, "0": 0.0}


def _cmp(a: str, b: str) -> int:
    # xs:boolean: exchangelib sends a boolean constant as "0"/"1", Exchange stores and answers "false"/"true"
    if a.lower() in _BOOL and b.lower() in _BOOL and not (a.isdigit() and b.isdigit()):
        ba, bb = _BOOL[a.lower()], _BOOL[b.lower()]
        return (ba > bb) - (ba < bb)
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    fa, fb = _fold(a), _fold(b)
    return (fa > fb) - (fa < fb)


_PATHS = ("FieldURI", "IndexedFieldURI", "ExtendedFieldURI")
_COMPARE = {"IsEqualTo": lambda c: c == 0, "IsNotEqualTo": lambda c: c != 0, "IsGreaterThan": lambda c: c > 0,
            "IsGreaterThanOrEqualTo": lambda c: c >= 0, "IsLessThan": lambda c: c < 0,
            "IsLessThanOrEqualTo": lambda c: c <= 0}


def _path(expr: ET.Element) -> ET.Element:
    for c in expr:
        if local_name(c.tag) in _PATHS:
            return c
    raise schema_error(f"{local_name(expr.tag)} needs a property path.")


def evaluate(expr: ET.Element, get: Getter) -> bool:
    op = local_name(expr.tag)
    if op == "Restriction":
        return all(evaluate(c, get) for c in expr)
    if op == "And":
        return all(evaluate(c, get) for c in expr)
    if op == "Or":
        return any(evaluate(c, get) for c in expr)
    if op == "Not":
        return not any(evaluate(c, get) for c in expr)
    if op == "Exists":
        return bool(get(_path(expr)))
    if op in _COMPARE:
        left = get(_path(expr))
        holder = expr.find(t("FieldURIOrConstant"))
        if holder is None or len(holder) != 1:
            raise schema_error(f"{op} needs a FieldURIOrConstant.")
        inner = holder[0]
        right = [inner.get("Value", "")] if local_name(inner.tag) == "Constant" else get(inner)
        if not left or not right:
            return op == "IsNotEqualTo" and bool(left) != bool(right)
        test = _COMPARE[op]
        return any(test(_cmp(a, b)) for a in left for b in right)
    if op == "Contains":
        const = expr.find(t("Constant"))
        needle = const.get("Value", "") if const is not None else ""
        mode = expr.get("ContainmentMode", "FullString")
        comparison = expr.get("ContainmentComparison", "Exact")
        ignore_case = "IgnoreCase" in comparison or "Loose" in comparison
        loose = "Loose" in comparison or "NonSpacing" in comparison
        n = _fold(needle, ignore_case, loose)
        for v in get(_path(expr)):
            h = _fold(v, ignore_case, loose)
            if mode == "FullString" and h == n:
                return True
            if mode == "Prefixed" and h.startswith(n):
                return True
            if mode in ("Substring", "ExactPhrase") and n in h:
                return True
            if mode == "PrefixOnWords" and any(w.startswith(n) for w in h.split()):
                return True
        return False
    if op == "Excludes":
        bitmask = expr.find(t("Bitmask"))
        mask = int((bitmask.get("Value") if bitmask is not None else "0") or "0", 0)
        vals = [_num(v) for v in get(_path(expr))]
        return all(v is not None and (int(v) & mask) == 0 for v in vals) if vals else True
    raise schema_error(f"The restriction element '{op}' is not supported.")


def parse_sort(sort_order: ET.Element | None) -> list[tuple[ET.Element, bool]]:
    """[(path, descending)] from a SortOrder element."""
    if sort_order is None:
        return []
    out = []
    for fo in sort_order.findall(t("FieldOrder")):
        out.append((_path(fo), fo.get("Order", "Ascending") == "Descending"))
    return out


def apply_sort(objs: list, orders: list[tuple[ET.Element, bool]], make_getter: Callable) -> list:
    for path, desc in reversed(orders):  # stable sorts, least significant first
        def key(o, path=path):
            vals = make_getter(o)(path)
            v = vals[0] if vals else ""
            n = _num(v)
            return (0, n, "") if n is not None else (1, 0.0, _fold(v))
        objs = sorted(objs, key=key, reverse=desc)
    return objs
