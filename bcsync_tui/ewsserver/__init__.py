"""A loopback Exchange Web Services server, faithful enough that exchangelib 5.6 cannot tell the difference.

It powers ``bcsync demo`` and ``bcsync exchange-server``, and every sync test runs a real exchangelib
client against it over HTTP::

    from bcsync_tui.ewsserver import LoopbackExchange

    with LoopbackExchange(users={"ann@example.com": "secret"}) as server:   # starts on a free port
        server.url                      # http://127.0.0.1:PORT/EWS/Exchange.asmx
        ann = server.outlook("ann@example.com")     # act as the user in Outlook
        ann.ensure_folder("Business Central")
        ann.create_contact("Business Central", display_name="Zoë Müller", email1="zoe@example.com")
        server.faults.throttle(count=2, backoff_ms=500)   # misbehave on demand
        server.stats.count("CreateItem")                  # request counters

See ``faults.Faults`` for fault injection, ``stats.RequestStats`` for the counters, ``outlook.OutlookUser``
for the Outlook-user API and ``contact_dict`` for the contact dict keys.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from .contact_dict import master_to_outlook
from .faults import Faults
from .mailbox import Store
from .outlook import FolderNotFound, ItemNotFound, OutlookUser
from .persist import load, save
from .server import DEFAULT_MAX_REQUEST_BYTES, ENDPOINT_PATH, EwsApp, HttpServer
from .soap import DEFAULT_BUILD, DEFAULT_SCHEMA_VERSION
from .stats import RequestStats

__all__ = ["LoopbackExchange", "OutlookUser", "Faults", "RequestStats", "FolderNotFound", "ItemNotFound",
           "EXCHANGE_2016_BUILD", "EXCHANGE_2019_BUILD", "master_to_outlook"]

log = logging.getLogger("bcsync_tui.ewsserver")

EXCHANGE_2019_BUILD = DEFAULT_BUILD  # 15.2.1118.7, Exchange Server 2019 CU12
EXCHANGE_2016_BUILD = (15, 1, 2507, 6)  # Exchange Server 2016 CU23


class LoopbackExchange:
    """The server. Thread-safe; ``start()`` serves on a background thread until ``stop()``.

    :param users: e-mail -> password; each user gets a mailbox (created on first use) with the standard
        folders (Contacts, Deleted Items, Inbox, ...). Users log in with HTTP Basic as their e-mail address
        (``DOMAIN\\\\local`` and the bare local part work too).
    :param data_path: a JSON file to load at start and save to (atomically, mode 0600) after changes --
        at most every ``save_interval`` seconds and at ``stop()``; None keeps everything in memory.
    :param host: interface to bind (loopback only by default).
    :param build: the Exchange build reported in ServerVersionInfo (default Exchange 2019 CU12).
    :param impersonators: users allowed to use ExchangeImpersonation (others get ErrorImpersonateUserDenied,
        as ordinary users do on a real server).
    :param max_request_bytes: larger request bodies are refused with HTTP 413.
    :param auth: the HTTP authentication offered, any of ``basic``, ``ntlm`` (connection-based, as
        on-premises Exchange does it) and ``oauth2`` (bearer tokens from ``token_url``; see auth.py).
    :param oauth_clients: OAuth2 applications (client id -> secret) for the client-credentials grant.
    :param clock: time source (seconds since the epoch) for DateTimeCreated / LastModifiedTime.
    """

    def __init__(self, users: dict[str, str] | None = None, data_path: str | Path | None = None, *,
                 host: str = "127.0.0.1", build: tuple[int, int, int, int] = DEFAULT_BUILD,
                 schema_version: str = DEFAULT_SCHEMA_VERSION, impersonators: tuple[str, ...] = (),
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, save_interval: float = 0.5,
                 clock=time.time, auth: tuple[str, ...] = ("basic",), oauth_clients: dict[str, str] | None = None):
        self.host = host
        self.data_path = Path(data_path) if data_path else None
        self.save_interval = save_interval
        self.store = Store(clock=clock)
        if self.data_path is not None and self.data_path.exists():
            load(self.data_path, self.store)
        self.users: dict[str, str] = {}
        self.stats = RequestStats()
        self.faults = Faults(expire_sync_states=self._expire_sync_states)
        self._app = EwsApp(self.store, self.users, self.faults, self.stats, build=build,
                           schema_version=schema_version, max_request_bytes=max_request_bytes,
                           impersonators=set(impersonators), auth_schemes=auth, oauth_clients=oauth_clients)
        for email, password in (users or {}).items():
            self.add_user(email, password)
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self._saved_generation = self.store.generation

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self, port: int = 0) -> LoopbackExchange:
        """Bind ``host:port`` (0: a free port) and serve in the background. Returns self."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._httpd = HttpServer((self.host, port), self._app)
        self._stopping.clear()
        self._thread = self._httpd.serve_in_background("loopback-ews")
        if self.data_path is not None:
            self._saver = threading.Thread(target=self._save_loop, name="loopback-ews-saver", daemon=True)
            self._saver.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open client connections and save (with ``data_path``)."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shut_down(self._thread)
        self._thread = None
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(timeout=10)
            self._saver = None
        self._app.auth.close()
        if self.data_path is not None:
            self.save()

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint (with ``auth`` including ``oauth2``)."""
        return self.url.rsplit("/EWS/", 1)[0] + "/oauth2/token"

    def __enter__(self) -> LoopbackExchange:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The EWS endpoint, e.g. ``http://127.0.0.1:50123/EWS/Exchange.asmx``."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}{ENDPOINT_PATH}"

    # --- users and mailboxes -----------------------------------------------------------------------
    def add_user(self, email: str, password: str, display_name: str | None = None) -> None:
        """Add (or re-password) a user and make sure their mailbox exists."""
        self.users[email] = password
        with self.store.lock:
            mbx = self.store.ensure_mailbox(email)
            if display_name:
                mbx.display_name = display_name
                self.store.changed()

    def set_password(self, email: str, password: str) -> None:
        key = next((u for u in self.users if u.lower() == email.lower()), None)
        if key is None:
            raise KeyError(email)
        self.users[key] = password

    def grant_delegate(self, owner: str, delegate: str) -> None:
        """Let ``delegate`` open ``owner``'s mailbox (DistinguishedFolderId with Mailbox, ids of that mailbox)."""
        with self.store.lock:
            self.store.ensure_mailbox(owner).delegates.add(delegate.lower())
            self.store.changed()

    def outlook(self, email: str | None = None) -> OutlookUser:
        """The "Outlook user" API of a mailbox (default: the first user)."""
        if email is None:
            if not self.users:
                raise KeyError("the server has no users")
            email = next(iter(self.users))
        with self.store.lock:
            mbx = self.store.mailbox(email)
            if mbx is None:
                raise KeyError(f"no mailbox {email!r}")
            return OutlookUser(self.store, mbx)

    mailbox = outlook

    # --- persistence -------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the data file now (no-op without ``data_path``)."""
        if self.data_path is None:
            return
        generation = self.store.generation
        save(self.store, self.data_path)
        self._saved_generation = generation

    def _save_loop(self) -> None:
        while not self._stopping.wait(self.save_interval):
            if self.store.generation != self._saved_generation:
                try:
                    self.save()
                except OSError:
                    log.exception("loopback EWS server: saving %s failed", self.data_path)

    def _expire_sync_states(self) -> None:
        with self.store.lock:
            for mbx in self.store.mailboxes.values():
                mbx.sync_epoch += 1
            self.store.changed()
