"""A loopback Microsoft Graph server: Exchange Online's contacts API (v1.0) and the sign-in MSAL needs.

It serves the same mailboxes as the loopback EWS server (``bcsync_tui.ewsserver``; its Store, Mailbox and
items), so a mailbox filled over EWS reads back identically over Graph, stamps included::

    from bcsync_tui.graphserver import LoopbackGraph

    with LoopbackGraph(users=["ann@example.com"], clients={"app-id": "app-secret"}, tls=True) as g:
        g.root                          # https://127.0.0.1:PORT
        g.graph_url                     # g.root + "/v1.0"
        g.authority("organizations")    # g.root + "/organizations"; any tenant GUID, common, a domain
        g.ca_file                       # the CA certificate to trust (tls=True)
        g.public_client_id              # a public client: device code allowed
        g.approve_device_code(user="ann@example.com")   # approve pending device codes (waits for one)
        g.auto_approve = True           # demo mode: device codes are approved at once
                                        # (people enter the code at g.root + "/devicelogin")
        g.expire_tokens(); g.expire_delta_tokens(); g.replay_delta(1)
        g.add_client("cert-app", certificate_pem=PEM)  # certificate credentials (client assertion verified)
        g.expire_client_secret("app-id")    # AADSTS7000222
        g.require_consent("app-id")         # people: AADSTS65001 consent_required; apps: tokens without roles
        g.deny_mailbox("bob@example.com")   # app tokens: 403 ErrorAccessDenied (outside the RBAC scope)
        g.faults.throttle(count=2, backoff_ms=2000)     # see faults.GraphFaults
        g.ignore_if_match = True
        g.stats.count("createContact")  # request counters (ewsserver.stats.RequestStats)
        g.outlook("ann@example.com")    # the Outlook-user API (ewsserver.outlook.OutlookUser)

    # one mailbox over both protocols
    with LoopbackExchange(users={"ann@example.com": "pw"}) as ews, LoopbackGraph(share=ews, tls=True) as g: ...

MSAL: ``msal.PublicClientApplication(g.public_client_id, authority=g.authority("organizations"),
instance_discovery=False, verify=g.ca_file)``; ``ConfidentialClientApplication(id, client_credential=secret,
...)`` with scope ``https://graph.microsoft.com/.default``.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from ..ewsserver.mailbox import Store
from ..ewsserver.outlook import OutlookUser
from ..ewsserver.persist import load, save
from ..ewsserver.stats import RequestStats
from .app import DEFAULT_MAX_REQUEST_BYTES, GraphApp
from .auth import Clients, TokenService
from .delta import DeltaRounds
from .faults import GraphFaults
from .httpd import GraphHttpServer

__all__ = ["LoopbackGraph", "GraphFaults", "PUBLIC_CLIENT_ID"]

#: the public client registered on every server (device code sign-in)
PUBLIC_CLIENT_ID = "9c1e0f4a-6b2d-4c3e-8f7a-b5c5d0e1a2f3"


class LoopbackGraph:
    """The server. ``start()`` serves on a background thread until ``stop()`` (or use it as a context manager).

    :param users: e-mail addresses of the users (their mailboxes are created on first use); with ``share``
        the shared server's users are added.
    :param clients: confidential applications (client id -> secret) for client credentials.
    :param public_clients: more public client ids (``public_client_id`` is always one).
    :param share: a ``LoopbackExchange`` whose mailboxes to serve (its store, persistence and stats stay its own).
    :param tls: serve https with a certificate made at start (``ca_file`` to trust).
    :param data_path: a JSON data file as the EWS server keeps one (loaded at start, saved at stop).
    :param latency_ms: wait this long before answering each Graph request (benchmarks).
    :param concurrency_limit: concurrent requests per mailbox before 429 MailboxConcurrency (None: no limit).
    """

    def __init__(self, users: list[str] | tuple[str, ...] = (), clients: dict[str, str] | None = None, *,
                 public_clients: tuple[str, ...] = (), share: Any = None, tls: bool = False,
                 host: str = "127.0.0.1", data_path: str | Path | None = None, latency_ms: float = 0.0,
                 concurrency_limit: int | None = 4, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 token_lifetime: int = 3600, device_interval: int = 1, tenant_id: str | None = None):
        self.host = host
        self.data_path = Path(data_path) if data_path else None
        self.store: Store = share.store if share is not None else Store()
        if share is None and self.data_path is not None and self.data_path.exists():
            load(self.data_path, self.store)
        emails = list(users) + (list(share.users) if share is not None else [])
        self.users: dict[str, str] = {}
        self.tenant_id = tenant_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "bcsync-loopback-tenant"))
        self.public_client_id = PUBLIC_CLIENT_ID
        self.clients = Clients(dict(clients or {}), {PUBLIC_CLIENT_ID, *public_clients})
        self.tokens = TokenService(self.users, self.clients, self.tenant_id, token_lifetime=token_lifetime,
                                   device_interval=device_interval)
        self.stats = RequestStats()
        self.rounds = DeltaRounds(self.store.secret)
        self.faults = GraphFaults(expire_sync_states=self.expire_delta_tokens)
        if latency_ms:
            self.faults.slow(latency_ms / 1000.0, count=None)
        self._app = GraphApp(self.store, self.tokens, self.faults, self.stats, self.rounds,
                             max_request_bytes=max_request_bytes, concurrency_limit=concurrency_limit)
        for email in emails:
            self.add_user(email)
        self._tls = None
        if tls:
            from .tls import Certificates
            self._tls = Certificates(host)
        self._httpd: GraphHttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self, port: int = 0) -> LoopbackGraph:
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._httpd = GraphHttpServer((self.host, port), self._app,
                                      self._tls.server_context() if self._tls is not None else None)
        self._app.root = self.root
        self._thread = self._httpd.serve_in_background("loopback-graph")
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        self.faults.resume()
        if httpd is not None:
            httpd.shut_down(self._thread)
        self._thread = None
        if self.data_path is not None:
            save(self.store, self.data_path)

    def close(self) -> None:
        """Stop and remove the TLS files."""
        self.stop()
        if self._tls is not None:
            self._tls.close()

    def __enter__(self) -> LoopbackGraph:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- where it is -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def root(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{'https' if self._tls is not None else 'http'}://{host}:{self.port}"

    @property
    def graph_url(self) -> str:
        return self.root + "/v1.0"

    def authority(self, tenant: str = "organizations") -> str:
        return f"{self.root}/{tenant}"

    @property
    def ca_file(self) -> str | None:
        return self._tls.ca_file if self._tls is not None else None

    # --- users, sign-in ----------------------------------------------------------------------------
    def add_user(self, email: str) -> None:
        self.users[email.lower()] = email
        with self.store.lock:
            self.store.ensure_mailbox(email)

    def add_client(self, client_id: str, secret: str | None = None, *, public: bool = False,
                   certificate_pem: str | None = None) -> None:
        """Register an application: with a secret and/or a certificate (PEM; its client assertions are
        verified) for client credentials, ``public`` for device code."""
        if secret is not None:
            self.clients.secrets[client_id] = secret
        if certificate_pem is not None:
            self.clients.certificates[client_id] = certificate_pem
        if public:
            self.clients.public.add(client_id)

    def expire_client_secret(self, client_id: str) -> None:
        """The application's secret has expired (AADSTS7000222)."""
        self.clients.expired_secrets.add(client_id)

    def require_consent(self, client_id: str, required: bool = True) -> None:
        """Nobody consented to the application's permissions: a person's sign-in fails with AADSTS65001
        (consent_required); an application token has no roles, so Graph answers 403 ErrorAccessDenied."""
        (self.clients.unconsented.add if required else self.clients.unconsented.discard)(client_id)

    def deny_mailbox(self, email: str, denied: bool = True) -> None:
        """Application tokens may not open ``email``'s mailbox (outside the app's Exchange RBAC scope):
        403 ErrorAccessDenied on /users/{email}/... A person's own token still may."""
        (self.clients.denied_mailboxes.add if denied else self.clients.denied_mailboxes.discard)(email.lower())

    def approve_device_code(self, user_code: str | None = None, user: str | None = None,
                            timeout: float = 10.0) -> int:
        """Approve pending device code(s) as ``user`` (default: the first user), waiting up to ``timeout``
        seconds for one. Returns how many were approved."""
        return self.tokens.approve(user_code, user or next(iter(self.users.values())), timeout)

    def decline_device_code(self, user_code: str | None = None) -> int:
        return self.tokens.decline(user_code)

    @property
    def auto_approve(self) -> bool | str:
        return self.tokens.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool | str) -> None:
        """True: approve device codes at once as the first user; an e-mail: as that user."""
        self.tokens.auto_approve = value

    def expire_tokens(self, refresh: bool = False) -> None:
        """Access tokens issued so far expire now (401); ``refresh=True`` revokes refresh tokens too."""
        self.tokens.expire_tokens(refresh)

    # --- delta, concurrency, data ------------------------------------------------------------------
    def expire_delta_tokens(self) -> None:
        """Every delta/skip token issued so far gets 410 Gone (syncStateNotFound)."""
        self.rounds.expire()

    def replay_delta(self, count: int = 1) -> None:
        """The next delta rounds send ``count`` items the client already has once more."""
        self.rounds.replay(count)

    @property
    def ignore_if_match(self) -> bool:
        return self._app.ignore_if_match

    @ignore_if_match.setter
    def ignore_if_match(self, value: bool) -> None:
        self._app.ignore_if_match = bool(value)

    @property
    def concurrency_limit(self) -> int | None:
        return self._app.concurrency_limit

    @concurrency_limit.setter
    def concurrency_limit(self, value: int | None) -> None:
        self._app.concurrency_limit = value

    def in_flight(self, email: str) -> int:
        """Requests for this mailbox being served right now."""
        return self._app.in_flight(email)

    def outlook(self, email: str | None = None) -> OutlookUser:
        """The Outlook-user API of a mailbox (default: the first user)."""
        email = email or next(iter(self.users.values()))
        with self.store.lock:
            mbx = self.store.mailbox(email)
            if mbx is None:
                raise KeyError(f"no mailbox {email!r}")
            return OutlookUser(self.store, mbx)

    mailbox = outlook
