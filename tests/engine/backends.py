"""The two sides a scenario test needs — a master store and an Outlook mailbox — over either the
in-memory transport or the loopback EWS server (through exchangelib). Scenario tests are written
once against this interface and run on both."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bcsync_tui.core import model
from bcsync_tui.core.profiles import Profile, load_profile, save_profile
from bcsync_tui.core.records import RunRecord
from bcsync_tui.core.secrets import SecretStore
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
        # the folder of that name under Contacts first (a deleted one of the same name may sit in Deleted Items)
        fid = ("deleteditems" if name == "Deleted Items"
               else self.mb.folder_by_name(name) or self.mb.folder_by_name(name, parent=None))
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
        self.mb.delete_folder(self.mb.folder_by_name(name, parent=None))

    def user_delete_folder_to_trash(self, name: str = FOLDER) -> None:
        """The Delete key in Outlook: the folder moves into Deleted Items and keeps its id."""
        self.mb.trash_folder(self.mb.folder_by_name(name, parent=None))

    def recreate_folder(self, name: str = FOLDER) -> None:
        """Delete the folder for good and make an empty one of the same name (a new identity)."""
        self.delete_folder(name)
        self.mb.create_folder(name)

    def move_folder(self, name: str = FOLDER, to: str = "inbox") -> None:
        self.mb.move_folder(self.mb.folder_by_name(name, parent=None), to)

    def folder_count(self, name: str = FOLDER) -> int:
        return sum(1 for fid, n in self.mb.folders.items() if n == name)

    def expire_sync_states(self) -> None:
        self.mb.expire_sync_states()

    def arm(self, operation: str, mode: str) -> None:
        self.mb.arm(operation, mode)

    def between_read_and_write(self, callback, count: int | None = 1) -> None:
        """Run ``callback`` (an Outlook user's edit) just before each of the next ``count`` UpdateItem calls."""
        self.mb.before_executing(callback, count, operation="UpdateItem")

    def clear_faults(self) -> None:
        self.mb.faults.clear()
        self.mb.callbacks.clear()

    def armed(self) -> bool:
        return any(self.mb.faults.values())

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

    def close(self) -> None:
        """Stop the backend's server (if any), then close the store."""
        self.backend.close()
        self.store.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def sync(self, profile: str = PROFILE, **kwargs: Any) -> RunRecord:
        return sync_blocking(self.store, profile, transport_factory=self.backend.factory, **kwargs)

    def add(self, **fields: Any) -> dict[str, Any]:
        return self.store.add_contact(fields)

    def person(self, first: str, last: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        email = email if email is not None else f"{first}.{last}@example.com".lower()
        return self.add(first_name=first, surname=last, email=email, **fields)

    def contact(self, uuid: str) -> dict[str, Any] | None:
        return self.store.get_contact(uuid)

    def links(self, profile: str = PROFILE) -> list[dict[str, Any]]:
        """The profile's links as dicts, with their bases (``LinkRow`` fields)."""
        return [asdict(row) for row in self.store.links_of(profile).values()]

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


# --- the loopback EWS server, driven through the real exchangelib client --------------------------

_TO_OUTLOOK = {"name": "display_name", "first_name": "given_name", "middle_name": "middle_name",
               "surname": "surname", "initials": "initials", "company_name": "company_name",
               "job_title": "job_title", "email": "email1", "email2": "email2", "phone": "business_phone",
               "mobile_phone": "mobile_phone", "fax": "business_fax", "home_page": "business_home_page",
               "city": "business_city", "county": "business_state", "post_code": "business_postal_code",
               "country_code": "business_country", "notes": "body"}
STAMP_NAME = "bcsync-contact-uuid"


def to_outlook(fields: dict[str, str], current: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _TO_OUTLOOK:
            out[_TO_OUTLOOK[key]] = value
            if key == "name":
                out["file_as"] = value
    if "address" in fields or "address2" in fields:
        line1, _, line2 = ((current or {}).get("business_street") or "").partition("\n")
        line1, line2 = fields.get("address", line1), fields.get("address2", line2)
        out["business_street"] = "\n".join(x for x in (line1, line2) if x)
    return out


def from_outlook(d: dict[str, Any]) -> FolderItem:
    fields = {k: (d.get(v) or "") for k, v in _TO_OUTLOOK.items() if k != "notes"}
    line1, _, line2 = (d.get("business_street") or "").replace("\r\n", "\n").partition("\n")
    fields.update(address=line1, address2=line2)
    extra = {"notes": d["body"]} if d.get("body") else {}
    return FolderItem(d["id"], (d.get("extended") or {}).get(STAMP_NAME), fields, extra)


class EwsBackend:
    """The mailbox lives in a LoopbackExchange; the engine reaches it over HTTP through exchangelib."""

    name = "ews"
    EMAIL, PASSWORD = "ann@example.com", "secret"

    def __init__(self, home: Path):
        from bcsync_tui.ewsserver import LoopbackExchange

        users = {f"{p}@example.com": self.PASSWORD for p in ("ann", "bob")}
        self.server = LoopbackExchange(users=users).start()
        self.outlook = {email: self.server.outlook(email) for email in users}

    def factory(self, profile: Profile):
        from bcsync_tui.core.sync.ews import EwsTransport

        profile.server_url = self.server.url
        return EwsTransport(profile, self.PASSWORD, timeout=10, max_retry_seconds=20)

    def _user(self, name: str):
        return self.outlook[self.EMAIL]

    def _folder_path(self, name: str) -> str:
        if name == "Deleted Items":
            return "deleteditems"
        # the folder of that name under Contacts first (a deleted one of the same name may sit in Deleted Items)
        paths = [p for p in self._user(name).folders() if p.rsplit("/", 1)[-1].lower() == name.lower()]
        under = [p for p in paths if p.lower() == f"contacts/{name.lower()}"]
        return under[0] if len(paths) > 1 and under else name

    def items(self, name: str = FOLDER) -> list[FolderItem]:
        from bcsync_tui.ewsserver import FolderNotFound

        for user in self.outlook.values():
            try:
                return [from_outlook(d) for d in user.contacts(self._folder_path(name))]
            except FolderNotFound:
                continue
        return []

    def _owner(self, item_id: str):
        from bcsync_tui.ewsserver import ItemNotFound

        for user in self.outlook.values():
            try:
                return user, user.get_contact(item_id)
            except ItemNotFound:
                continue
        raise KeyError(item_id)

    def user_create(self, fields: dict[str, str], name: str = FOLDER, **extra: str) -> str:
        user = self._user(name)
        user.ensure_folder(name)
        return user.create_contact(name, to_outlook({**fields, **extra}))

    def user_update(self, item_id: str, **changes: str) -> None:
        user, current = self._owner(item_id)
        user.edit_contact(item_id, to_outlook(changes, current))

    def user_delete(self, item_id: str) -> None:
        user, _ = self._owner(item_id)
        user.delete_contact(item_id, mode="HardDelete")

    def user_move_out(self, item_id: str) -> str:
        user, _ = self._owner(item_id)
        return user.move_contact(item_id, "contacts")

    def user_copy(self, item_id: str) -> str:
        user, current = self._owner(item_id)
        return user.copy_contact(item_id, current["folder"])

    def delete_folder(self, name: str = FOLDER) -> None:
        self._user(name).delete_folder(name)

    def user_delete_folder_to_trash(self, name: str = FOLDER) -> None:
        self._user(name).delete_folder(name, mode="MoveToDeletedItems")

    def recreate_folder(self, name: str = FOLDER) -> None:
        self._user(name).recreate_folder(name)

    def move_folder(self, name: str = FOLDER, to: str = "inbox") -> None:
        self._user(name).move_folder(name, to)

    def folder_count(self, name: str = FOLDER) -> int:
        return sum(1 for path in self._user(name).folders() if path.rsplit("/", 1)[-1].lower() == name.lower())

    def expire_sync_states(self) -> None:
        self.server.faults.expire_sync_states()

    def arm(self, operation: str, mode: str) -> None:
        """The memory transport's fault names, mapped onto what the server can do over HTTP."""
        faults = self.server.faults
        if mode == "invalid_state":
            faults.expire_sync_states()
        elif mode in ("unknown", "crash_after"):
            faults.ghost_write(count=1, operation=operation, mode="drop")
        elif operation != "SyncFolderItems":
            faults.throttle(count=1, backoff_ms=50, operation=operation)

    def between_read_and_write(self, callback, count: int | None = 1) -> None:
        """Run ``callback`` (an Outlook user's edit) just before the server executes each of the next
        ``count`` UpdateItem requests: after the engine read the items, before its write lands."""
        self.server.faults.before_executing(callback, count, operation="UpdateItem")

    def clear_faults(self) -> None:
        self.server.faults.clear()

    def armed(self) -> bool:
        return bool(self.server.faults.pending())

    @property
    def writes(self) -> int:
        return sum(self.server.stats.count(op) for op in ("CreateItem", "UpdateItem", "DeleteItem", "MoveItem"))

    def close(self) -> None:
        from exchangelib.protocol import close_connections

        close_connections()
        self.server.stop()


@contextmanager
def profile_against(tmp_path: Path, server: Any, secret: str, **profile: Any):
    """A started loopback ``server``, a store with profile "ann" pointed at it (``profile`` settings)
    and its secret saved: yields (server, store, secrets, profile); stops it all afterwards."""
    store = Store(tmp_path / "store.json")
    secrets = SecretStore(tmp_path / "secrets.json")
    p = Profile(name="ann", email="ann@example.com", server_url=server.url, **profile)
    save_profile(store, p)
    secrets.set("ann", secret)
    try:
        yield server, store, secrets, p
    finally:
        store.close()
        server.stop()


def first_sync(server: Any, store: Store, secrets: SecretStore, n: int, tag: str) -> RunRecord:
    """Add ``n`` persons, sync them, and check they all reached ann's "Business Central" folder."""
    store.add_contacts([{"first_name": f"{tag}{i}", "surname": "Auth", "email": f"{tag.lower()}{i}@example.com"}
                        for i in range(n)])
    run = sync_blocking(store, "ann", secrets=secrets)
    assert run.status.value == "ok" and run.counts.outlook_created == n
    assert len(server.outlook("ann@example.com").contacts("Business Central")) == n
    return run
