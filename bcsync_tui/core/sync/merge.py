"""Projection of a master contact onto the synced fields, and the field-level 3-way merge.

A link remembers two bases: ``base_master`` (the master's projection at the last sync) and
``base_remote`` (the Outlook item's fields at the last sync). Comparing each side with its own
base tells who changed what without comparing clocks. Keeping the remote base separately is what
stops a value that was truncated on the way in from looking like an edit on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import model

SYNCED = model.SYNCED_KEYS
#: fields compared without regard to case: an address is the same address in any case
CASELESS = frozenset(f.key for f in model.FIELDS if f.kind == "email")


def clean(value: Any) -> str:
    """Canonical text for comparison: str, no CR (Outlook stores CRLF), no trailing blanks."""
    if type(value) is str:
        return value.strip() if "\r" not in value else value.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = "" if value is None else str(value)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def project(contact: dict[str, Any]) -> dict[str, str]:
    get, out = contact.get, {}
    for k in SYNCED:  # clean() inlined for the common cases: a plan projects every contact
        value = get(k)
        out[k] = "" if value is None else value.strip() if type(value) is str and "\r" not in value else clean(value)
    # Address and Address 2 travel as one multi-line street; a line break inside Address would come
    # back split differently, so compare them in the form the street gives back.
    street = "\n".join(x for x in (out["address"], out["address2"]) if x)
    out["address"], _, out["address2"] = street.partition("\n")
    return out


def same(key: str, a: str, b: str) -> bool:
    """Whether two clean values of ``key`` are the same for the sync: e-mail addresses are compared
    without case (``CARMEN.LECKI@…`` is ``carmen.lecki@…``), so a case-only difference is neither a
    change nor a conflict, and neither side is rewritten for it."""
    return a.casefold() == b.casefold() if key in CASELESS else a == b


def fit(key: str, value: str) -> str:
    """A remote value as the master can hold it (truncated to the field's length)."""
    limit = model.FIELD_BY_KEY[key].max_len
    return value[:limit] if limit is not None and len(value) > limit else value


@dataclass
class MergeResult:
    master_changes: dict[str, str] = field(default_factory=dict)  # to apply to the master
    remote_changes: dict[str, str] = field(default_factory=dict)  # to write to Outlook
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # (field, master, outlook)
    truncated: list[str] = field(default_factory=list)
    new_master: dict[str, str] = field(default_factory=dict)  # master projection after the merge
    new_remote: dict[str, str] = field(default_factory=dict)  # remote fields after the merge


def recompose(master: dict[str, Any], changes: dict[str, str]) -> dict[str, str]:
    """The master's projection once ``changes`` are applied (a person's Name follows its parts)."""
    return project(model.normalise({**master, **changes}))


def merge(master: dict[str, Any], remote: dict[str, str], base_master: dict[str, str] | None,
          base_remote: dict[str, str] | None) -> MergeResult:
    """Field-level 3-way merge. ``None`` bases mean a first link (matched by stamp or e-mail).

    Per field: changed only in Outlook → flows to the master (truncated to fit); changed on both
    sides to different values → the master wins and the Outlook value is reported as a conflict.
    On a first link, the master's non-empty values win and Outlook fills the master's blanks.
    Afterwards Outlook receives every field where it differs from the master, except a value that
    the master holds truncated (so a long Outlook value is kept and not fought over).
    """
    m = project(master)
    r = {k: clean(remote.get(k)) for k in SYNCED}
    out = MergeResult()
    first = base_master is None or base_remote is None
    for key in SYNCED:
        if first:
            m_changed, r_changed = bool(m[key]), bool(r[key])
        else:
            m_changed = not same(key, m[key], clean(base_master.get(key)))  # type: ignore[union-attr]
            r_changed = not same(key, r[key], clean(base_remote.get(key)))  # type: ignore[union-attr]
        if not r_changed:
            continue
        incoming = fit(key, r[key])
        if incoming != r[key]:
            out.truncated.append(key)
        if same(key, incoming, m[key]):
            continue
        if m_changed:
            out.conflicts.append((key, m[key], r[key]))
        else:
            out.master_changes[key] = incoming
    # Name is composed from its parts for a person: let the parts decide, not a display name.
    new_m = recompose(master, out.master_changes) if out.master_changes else m
    if out.master_changes:
        out.master_changes = {k: v for k, v in new_m.items() if v != m[k]}
    for key in SYNCED:
        if not same(key, new_m[key], r[key]) and not same(key, fit(key, r[key]), new_m[key]):
            out.remote_changes[key] = new_m[key]
    out.new_master = new_m
    out.new_remote = {**r, **out.remote_changes}
    return out
