"""The two sides a scenario test needs — a master store and an Outlook mailbox — over either the
in-memory transport or the loopback EWS server (through exchangelib). Scenario tests are written
once against this interface and run on both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcsync_tui.core import model
from bcsync_tui.core.profiles import Profile, load_profile, save_profile
from bcsync_tui.core.store import Store
from bcsync_tui.core.sync.memory import MemoryMailbox, MemoryTransport
from bcsync_tui.core.sync.runner import sync_blocking

PROFILE = "ann"
FOLDER = "Business Central"


@dataclass
class FolderItem:
    item_id: str
    stamp: str | None
    fields: dict[str, str]
    extra: dict[str, str]


class MemoryBackend:
    name = "memory"

    def __init__(self, home: Path):
        self.mb = MemoryMailbox()
        self.transports: list[MemoryTransport] = []

    def factory(self, profile: Profile) -> MemoryTransport:
        t = MemoryTransport(self.mb)
        self.transports.append(t)
        return t

    def folder_id(self, name: str = FOLDER) -> str:
        fid = self.mb.folder_by_name(name)
        if fid is None:
            fid = self.mb.create_folder(name)
        return fid

    def items(self, name: str = FOLDER) -> list[FolderItem]:
        fid = "deleteditems" if name == "Deleted Items" else self.mb.folder_by_name(name)
        if fid is None:
            return []
        return [FolderItem(i.item_id, i.stamp, dict(i.fields), dict(i.extra)) for i in self.mb.in_folder(fid)]

    def user_create(self, fields: dict[str, str], name: str = FOLDER, **extra: str) -> str:
        return self.mb.user_create(self.folder_id(name), fields, **extra)

    def user_update(self, item_id: str, **changes: str) -> None:
        self.mb.user_update(item_id, **changes)

    def user_delete(self, item_id: str) -> None:
        self.mb.user_delete(item_id)

    def user_move_out(self, item_id: str) -> str:
        return self.mb.user_move(item_id, "contacts")

    def user_copy(self, item_id: str) -> str:
        return self.mb.user_copy(item_id)

    def delete_folder(self, name: str = FOLDER) -> None:
        self.mb.delete_folder(self.mb.folder_by_name(name))

    def expire_sync_states(self) -> None:
        self.mb.expire_sync_states()

    def arm(self, operation: str, mode: str) -> None:
        self.mb.arm(operation, mode)

    @property
    def writes(self) -> int:
        return self.mb.writes

    def close(self) -> None:
        pass


class World:
    """A store with one or more profiles and a backend mailbox."""

    def __init__(self, home: Path, backend: Any):
        self.home = home
        self.store = Store(home / "store.json")
        self.backend = backend
        self.add_profile(PROFILE)

    def add_profile(self, name: str, **settings: Any) -> Profile:
        profile = Profile(name=name, email=f"{name}@example.com", server_url="http://127.0.0.1/EWS/Exchange.asmx",
                          username=name, **settings)
        save_profile(self.store, profile)
        return profile

    def profile(self, name: str = PROFILE) -> Profile:
        return load_profile(self.store, name)

    def set(self, name: str = PROFILE, **settings: Any) -> None:
        p = self.profile(name)
        for k, v in settings.items():
            setattr(p, k, v)
        save_profile(self.store, p)

    def sync(self, profile: str = PROFILE, **kwargs: Any) -> dict[str, Any]:
        return sync_blocking(self.store, profile, transport_factory=self.backend.factory, **kwargs)

    def add(self, **fields: Any) -> dict[str, Any]:
        return self.store.add_contact(fields)

    def person(self, first: str, last: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        email = email if email is not None else f"{first}.{last}@example.com".lower()
        return self.add(first_name=first, surname=last, email=email, **fields)

    def contact(self, uuid: str) -> dict[str, Any] | None:
        return self.store.get_contact(uuid)

    def links(self, profile: str = PROFILE) -> list[dict[str, Any]]:
        return [dict(d) for d in self.store.links.raw().values() if d.get("profile") == profile]

    def item_of(self, uuid: str, folder: str = FOLDER) -> FolderItem:
        matches = [i for i in self.backend.items(folder) if i.stamp == uuid]
        assert len(matches) == 1, f"expected one item stamped {uuid}, found {len(matches)}"
        return matches[0]


def fields_of(contact: dict[str, Any]) -> dict[str, str]:
    from bcsync_tui.core.sync.merge import project

    return project(contact)


def blank_fields(**values: str) -> dict[str, str]:
    out = dict.fromkeys(model.SYNCED_KEYS, "")
    out.update(values)
    return out
