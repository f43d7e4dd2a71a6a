"""What ``bcsync status`` shows, kept beside the store so that status need not load the contacts.

``status.json`` (0600, replaced atomically) holds each profile's settings, its last run and last
successful run, and the contact counts status prints, with the signature (inode, size, mtime) of
``store.json`` and ``store.json.wal`` the figures were taken from: the same test the storage uses
to know its memory is current. Every commit appends to the journal and every compaction or restore
replaces the snapshot, so a file whose signature no longer matches is stale; readers then load
the store, as they would without it. The file is only ever a copy: losing it, or finding it
damaged, costs one full load, never data.

Whoever has the store loaded anyway writes it: ``bcsync status`` after a full load, and every
command that loaded the store when it ends (a sync, an import, an edit), so the next status is
quick.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .paths import write_private_file
from .store_errors import StoreCorruptError
from .store_signature import files_signature

if TYPE_CHECKING:
    from .storage import JournaledStorage

FORMAT = "bcsync-status"
VERSION = 1

Signature = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


@dataclass(frozen=True)
class ProfileFacts:
    """One profile as status reports it: settings (without the engine's state), runs, counts."""

    doc: dict[str, Any]
    last_run: dict[str, Any] | None
    last_ok_run: dict[str, Any] | None
    #: contacts the filter sends to Outlook; None when the saved filter does not compile
    selected: int | None
    linked: int
    kept: int


@dataclass(frozen=True)
class StoreFacts:
    master: int
    profiles: tuple[ProfileFacts, ...]

    def names(self) -> list[str]:
        return [p.doc.get("name", "") for p in self.profiles]

    def profile(self, name: str) -> ProfileFacts | None:
        return next((p for p in self.profiles if p.doc.get("name") == name), None)


def status_path(store_file: Path) -> Path:
    return store_file.with_name("status.json")


def _as_sig(value: Any) -> tuple[int, int, int] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value)):
        raise ValueError("not a file signature")
    return (value[0], value[1], value[2])


def _as_run(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ValueError("not a run record")
    return value


def _as_count(value: Any, optional: bool = False) -> Any:
    if (value is None and optional) or (type(value) is int and value >= 0):
        return value
    raise ValueError("not a count")


def _decode(doc: Any) -> tuple[Signature, StoreFacts]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError("not a status file of this version")
    sig = doc["store"]
    if not isinstance(sig, list) or len(sig) != 2:
        raise ValueError("no store signature")
    profiles = []
    for p in doc["profiles"]:
        if not isinstance(p.get("doc"), dict) or not isinstance(p["doc"].get("name"), str):
            raise ValueError("not a profile")
        profiles.append(ProfileFacts(doc=p["doc"], last_run=_as_run(p["last_run"]),
                                     last_ok_run=_as_run(p["last_ok_run"]),
                                     selected=_as_count(p["selected"], optional=True),
                                     linked=_as_count(p["linked"]), kept=_as_count(p["kept"])))
    return (_as_sig(sig[0]), _as_sig(sig[1])), StoreFacts(master=_as_count(doc["master"]), profiles=tuple(profiles))


def read_facts(store_file: Path) -> StoreFacts | None:
    """The facts of ``status.json`` if they are those of the store as it is on disk now, else None
    (no file, a stale one, a damaged or foreign one: the caller loads the store)."""
    try:
        raw = status_path(store_file).read_bytes()
        sig, facts = _decode(json.loads(raw))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    try:
        current = files_signature(store_file)
    except StoreCorruptError:
        return None  # the store cannot even be looked at: the full load says why
    if sig != current or current == (None, None):
        return None
    return facts


def write_facts(store_file: Path, sig: Signature, facts: StoreFacts) -> None:
    """Record ``facts`` as those of the store files with signature ``sig`` (OSError if it cannot)."""
    if sig == (None, None):
        return  # no store on disk: a read creates nothing
    doc = {"format": FORMAT, "version": VERSION, "store": [list(s) if s else None for s in sig],
           "master": facts.master, "profiles": [asdict(p) for p in facts.profiles]}
    write_private_file(status_path(store_file), json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())


def facts_are_current(store_file: Path, storage: JournaledStorage) -> bool:
    """Whether ``status.json`` already describes what ``storage`` holds (no need to write it)."""
    try:
        raw = status_path(store_file).read_bytes()
        sig, _ = _decode(json.loads(raw))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return False
    return sig == storage.signature()
