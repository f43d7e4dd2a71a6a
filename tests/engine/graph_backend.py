"""The third backend of the engine scenarios: the mailbox lives in a LoopbackGraph; the engine reaches it
over HTTPS through MSAL (a real device-code sign-in, approved by the test) and plain HTTP (requests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bcsync_tui.core.profiles import Profile
from bcsync_tui.core.secrets import SecretStore

from .backends import FOLDER, EwsBackend, FolderItem

#: the memory transport's operation names → the loopback Graph server's
GRAPH_OPERATIONS = {"CreateItem": "createContact", "UpdateItem": "updateContact", "DeleteItem": "deleteContact",
                    "GetItem": "getContact", "SyncFolderItems": "contactsDelta", "GetFolder": "listContactFolders"}


def graph_profile(profile: Profile, g: Any) -> Profile:
    """Point ``profile`` at the loopback Graph server ``g`` (a person signing in with a device code)."""
    profile.transport = "graph"
    profile.graph_auth = "device_code"
    profile.graph_url = g.graph_url
    profile.graph_authority = g.authority("organizations")
    profile.ca_file = g.ca_file
    profile.oauth_client_id = g.public_client_id
    return profile


def sign_in(profile: Profile, g: Any, secrets: SecretStore) -> str:
    """The device code flow through MSAL, approved as the profile's user once the code is shown."""
    from bcsync_tui.core.sync.graph_auth import device_sign_in

    return device_sign_in(profile, secrets, lambda device: g.approve_device_code(device.code, user=profile.email))


class GraphBackend(EwsBackend):
    """The Outlook-user side is the same mailbox API as the EWS server's (shared model)."""

    name = "graph"

    def __init__(self, home: Path):
        from bcsync_tui.graphserver import LoopbackGraph

        users = [f"{p}@example.com" for p in ("ann", "bob")]
        self.server = LoopbackGraph(users=users, tls=True).start()
        self.outlook = {email: self.server.outlook(email) for email in users}
        self.secrets = SecretStore(home / "graph-secrets.json")
        self._signed_in: set[str] = set()

    def factory(self, profile: Profile):
        from bcsync_tui.core.sync.graph import GraphTransport

        graph_profile(profile, self.server)
        if profile.name not in self._signed_in:
            sign_in(profile, self.server, self.secrets)
            self._signed_in.add(profile.name)
        return GraphTransport(profile, self.secrets, timeout=10, max_retry_seconds=20)

    # Graph ids are immutable ids; the Outlook-user API speaks EWS ids: the test sees Graph ids only.

    def graph_id(self, ews_id: str) -> str:
        from bcsync_tui.ewsserver.mailbox import KIND_ITEM
        from bcsync_tui.graphserver import ids

        store = self.server.store
        with store.lock:
            mbx, serial = store.decode_id(ews_id, KIND_ITEM)
            return ids.item_id(mbx, mbx.items[serial], immutable=True)

    def ews_id(self, graph_id: str) -> str:
        from bcsync_tui.graphserver import ids
        from bcsync_tui.graphserver.errors import GraphError

        store = self.server.store
        with store.lock:
            for email in self.outlook:
                mbx = store.mailbox(email)
                try:
                    return mbx.item_id(ids.find_item(store, mbx, graph_id))
                except GraphError:
                    continue
        raise KeyError(graph_id)

    def items(self, name: str = FOLDER) -> list[FolderItem]:
        return [FolderItem(self.graph_id(i.item_id), i.stamp, i.fields, i.extra) for i in super().items(name)]

    def user_create(self, fields: dict[str, str], name: str = FOLDER, **extra: str) -> str:
        return self.graph_id(super().user_create(fields, name, **extra))

    def user_update(self, item_id: str, **changes: str) -> None:
        super().user_update(self.ews_id(item_id), **changes)

    def user_delete(self, item_id: str) -> None:
        super().user_delete(self.ews_id(item_id))

    def user_move_out(self, item_id: str) -> str:
        return self.graph_id(super().user_move_out(self.ews_id(item_id)))

    def user_copy(self, item_id: str) -> str:
        return self.graph_id(super().user_copy(self.ews_id(item_id)))

    def expire_sync_states(self) -> None:
        self.server.expire_delta_tokens()

    def arm(self, operation: str, mode: str) -> None:
        faults = self.server.faults
        op = GRAPH_OPERATIONS.get(operation, operation)
        if mode == "invalid_state":
            self.server.expire_delta_tokens()
        elif mode in ("unknown", "crash_after"):
            # Writes travel in $batch: the whole batch is carried out, then its answer is lost.
            faults.ghost_write(count=1, operation="batch", mode="drop")
        elif operation != "SyncFolderItems":
            faults.throttle(count=1, backoff_ms=50, operation=op)

    def between_read_and_write(self, callback, count: int | None = 1) -> None:
        self.server.faults.before_executing(callback, count, operation="updateContact")

    @property
    def writes(self) -> int:
        ops = ("createContact", "updateContact", "deleteContact", "permanentDeleteContact")
        return sum(self.server.stats.count(op) for op in ops)

    def close(self) -> None:
        self.server.stop()
