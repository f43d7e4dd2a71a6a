"""Sync profiles: one per user, like Business Central's Exchange Sync Setup + Contact Sync Setup.

A profile's settings live in the store's ``profiles`` table; its password or token does not (see
``secrets``). What the engine learns while syncing (folder id, sync state, last run) sits under
``state`` so settings and state can be edited independently.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the store module is imported when a store is used, not by `bcsync status`
    from .store import Store

AUTH_TYPES = ("basic", "ntlm", "oauth2")
#: ews: Exchange Server (on-premises) over EWS; graph: Exchange Online (Microsoft 365) over Microsoft Graph
TRANSPORTS = ("ews", "graph")
#: how a Graph profile signs in: a person with the device code flow, or an application (an admin's
#: app registration) with client credentials (a secret, or a certificate)
GRAPH_AUTH_KINDS = ("device_code", "client_credentials")
#: Microsoft's public client "Microsoft Graph Command Line Tools", used when a person names no app
#: registration of their own (see docs/graph.md: tenants may require an admin's consent for it)
DEFAULT_GRAPH_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
#: what happens to the Outlook copy of a contact deleted in the master
MASTER_DELETE_POLICIES = ("move_to_deleted_items", "delete", "unlink")
#: what happens to the Outlook copy of a contact that leaves the filter or stops qualifying
LEAVE_FILTER_POLICIES = ("remove", "unlink")
DEFAULT_FOLDER = "Business Central"


@dataclass
class Profile:
    name: str
    email: str = ""
    server_url: str = ""  # blank = autodiscover
    auth_type: str = "basic"
    username: str = ""
    folder_name: str = DEFAULT_FOLDER
    filter: dict[str, str] = field(default_factory=dict)
    master_delete_policy: str = "move_to_deleted_items"
    leave_filter_policy: str = "remove"
    #: link Outlook items already in the folder (matched by e-mail) to master contacts outside the
    #: filter, which then stay there as "kept"; off: such items are left alone, unlinked
    link_outside_filter: bool = True
    interval_minutes: int = 0  # automatic sync while the TUI is open / schedule; 0 = off
    enabled: bool = True
    verify_tls: bool = True
    #: guard: abort when a run plans more deletes than this many, and more than this fraction
    max_deletes: int = 50
    max_delete_fraction: float = 0.2
    #: write requests a sync keeps in flight at once against the mailbox (EWS; Graph allows at most 4)
    in_flight: int = 4
    oauth_client_id: str = ""
    oauth_tenant_id: str = ""
    #: blank: the Microsoft identity platform of the tenant; else e.g. an AD FS token endpoint
    oauth_token_url: str = ""
    transport: str = "ews"
    #: Graph only (tenant and client id are ``oauth_tenant_id`` / ``oauth_client_id``); blank = Microsoft's
    graph_auth: str = "device_code"
    graph_authority: str = ""  # blank: https://login.microsoftonline.com/{tenant}
    graph_url: str = ""  # blank: https://graph.microsoft.com/v1.0
    ca_file: str = ""  # a CA certificate to trust besides the system's (Graph)
    #: client credentials with a certificate: a PEM file holding the private key and the certificate
    graph_certificate: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.email and "@" not in self.email:
            errors["email"] = "must be an e-mail address such as ann@example.com"
        if self.server_url and not self.server_url.startswith(("http://", "https://")):
            errors["server_url"] = "must start with https:// (or http:// for a local test server), or be blank for autodiscover"
        if self.auth_type not in AUTH_TYPES:
            errors["auth_type"] = f"must be one of {', '.join(AUTH_TYPES)}"
        if self.transport not in TRANSPORTS:
            errors["transport"] = f"must be one of {', '.join(TRANSPORTS)}"
        if self.transport == "graph":
            errors.update(self._validate_graph())
        elif self.auth_type == "oauth2" and not self.oauth_client_id:
            errors["oauth_client_id"] = "OAuth2 needs a client (application) id"
        if self.oauth_token_url and not self.oauth_token_url.startswith(("https://", "http://")):
            errors["oauth_token_url"] = "must start with https:// (or be blank for Microsoft's)"
        if not self.folder_name.strip():
            errors["folder_name"] = "needs a name"
        elif "/" in self.folder_name or "\\" in self.folder_name:
            errors["folder_name"] = "must not contain / or \\"
        if self.master_delete_policy not in MASTER_DELETE_POLICIES:
            errors["master_delete_policy"] = f"must be one of {', '.join(MASTER_DELETE_POLICIES)}"
        if self.leave_filter_policy not in LEAVE_FILTER_POLICIES:
            errors["leave_filter_policy"] = f"must be one of {', '.join(LEAVE_FILTER_POLICIES)}"
        if self.interval_minutes < 0:
            errors["interval_minutes"] = "must be 0 (off) or a number of minutes"
        if not isinstance(self.in_flight, int) or not 1 <= self.in_flight <= MAX_IN_FLIGHT:
            errors["in_flight"] = f"must be a number from 1 to {MAX_IN_FLIGHT}"
        return errors

    def _validate_graph(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.graph_auth not in GRAPH_AUTH_KINDS:
            errors["graph_auth"] = f"must be one of {', '.join(GRAPH_AUTH_KINDS)}"
        if self.graph_auth == "client_credentials":
            if not self.oauth_client_id:
                errors["oauth_client_id"] = "client credentials need the application (client) id: give --client-id"
            if not self.oauth_tenant_id and not self.graph_authority:
                errors["oauth_tenant_id"] = "client credentials need the tenant (id or domain): give --tenant"
        for key in ("graph_authority", "graph_url"):
            value = getattr(self, key)
            if value and not value.startswith("https://"):
                errors[key] = "must start with https://"
        return errors

    @property
    def authority(self) -> str:
        """The sign-in authority URL of a Graph profile."""
        tenant = self.oauth_tenant_id or "organizations"
        return (self.graph_authority or f"{DEFAULT_AUTHORITY_HOST}/{tenant}").rstrip("/")

    @property
    def graph_client_id(self) -> str:
        return self.oauth_client_id or DEFAULT_GRAPH_CLIENT_ID

    @property
    def graph_root(self) -> str:
        return (self.graph_url or DEFAULT_GRAPH_URL).rstrip("/")

    @property
    def transport_label(self) -> str:
        """The transport for people (status, setup --show, the status line)."""
        if self.transport == "graph":
            return "Microsoft Graph (Exchange Online)"
        return "EWS (Exchange Server)"

    @property
    def where(self) -> str:
        return mailbox_where(self.transport, self.server_url)

    def forget_server_state(self) -> None:
        """The profile now reaches its mailbox over another protocol: the old one's folder id, sync
        state and remembered items mean nothing to the new one. The links stay: the next sync lists
        the folder and relinks every item by its stamp (the same extended property over EWS and
        Graph), creating and deleting nothing."""
        for key in ("folder_id", "sync_state", "recheck_ids", "orphans", "server_version"):
            self.state.pop(key, None)

    @property
    def configured(self) -> bool:
        return bool(self.email)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        profile = cls(**{k: v for k, v in doc.items() if k in known})
        profile._loaded_state = copy.deepcopy(profile.state)  # see save_profile
        return profile


#: the most write requests in flight a profile may ask for (Exchange's default EWS policy allows
#: 27 concurrent connections per user; a sync should leave most of them to Outlook)
MAX_IN_FLIGHT = 8


def mailbox_where(transport: str, server_url: str) -> str:
    """Where a mailbox is reached, for people: Exchange Online over Graph, the EWS URL, or autodiscover."""
    if transport == "graph":
        return "Exchange Online (Microsoft Graph)"
    return server_url or "autodiscover"


#: settings that need a new sign-in when they change
SIGN_IN_IDENTITY = ("transport", "email", "oauth_tenant_id", "oauth_client_id", "graph_authority", "graph_auth")


def needs_sign_in(profile: Profile, before: Profile | None, secrets: Any, *, force: bool = False) -> bool:
    """Whether a person's Graph profile must sign in (device code) before it is saved: it is new to
    Graph, names another account, tenant or app, holds no sign-in yet, or ``force``. MSAL is loaded
    only for that last check."""
    if profile.transport != "graph" or profile.graph_auth != "device_code":
        return False
    if force or before is None or any(getattr(before, k) != getattr(profile, k) for k in SIGN_IN_IDENTITY):
        return True
    from .sync.graph_auth import signed_in

    return not signed_in(profile, secrets)


def load_profile(store: Store, name: str) -> Profile:
    for doc in store.profiles.raw().values():
        if doc.get("name") == name:
            return Profile.from_doc(doc)
    from .store import NotFoundError

    raise NotFoundError(f"no profile named {name!r}; create it with `bcsync setup`")


def get_or_new_profile(store: Store, name: str) -> Profile:
    from .store import NotFoundError

    try:
        return load_profile(store, name)
    except NotFoundError:
        return Profile(name=name)


def only_profile(store: Store | list[str], default: str) -> str:
    """The profile to use when none was named: ``default`` (the OS user), or, when the store (or the
    list of its profile names) has no profile of that name but exactly one other, that one (a store
    set up for one user)."""
    names = store if isinstance(store, list) else [d.get("name") for d in store.profiles.raw().values()]
    return names[0] if default not in names and len(names) == 1 else default


def list_profiles(store: Store) -> list[Profile]:
    return sorted((Profile.from_doc(d) for d in store.profiles.raw().values()), key=lambda p: p.name)


def save_profile(store: Store, profile: Profile) -> None:
    """Save settings; the engine's ``state`` is preserved unless the caller changed it."""
    doc = profile.to_doc()
    with store.transaction():
        loaded = getattr(profile, "_loaded_state", None)
        if loaded is not None and profile.state == loaded:
            # Unchanged since load_profile: keep what a sync may have written in the meantime.
            current = next((d for d in store.profiles.raw().values() if d.get("name") == profile.name), None)
            if current is not None:
                doc["state"] = current.get("state", {})
        from tinydb import Query

        store.profiles.upsert(doc, Query().name == profile.name)


def update_state(store: Store, name: str, **state: Any) -> None:
    """Merge keys into a profile's engine state (inside the caller's transaction if any)."""
    with store.transaction():
        doc = next((d for d in store.profiles.raw().values() if d.get("name") == name), None)
        if doc is None:
            from .store import NotFoundError

            raise NotFoundError(f"no profile named {name!r}")
        merged = {**doc.get("state", {}), **state}
        from tinydb import Query

        store.profiles.update({"state": merged}, Query().name == name)
