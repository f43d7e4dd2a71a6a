"""The EWS transport: the only module that imports exchangelib.

What it guards against (see EXCHANGELIB.md): exchangelib's default retry policy turns a wrong
password into 85 minutes of back-off, so we run fail-fast and retry ourselves with a cap, honouring
BackOffMilliseconds; ``save()`` without field names wipes unloaded fields, so every update names
its fields; indexed fields (e-mail, phone, address) are replaced as a whole, so unmapped entries
(EmailAddress3, home phone, home address) are read first and sent back unchanged; a stale change
key never overwrites (NeverOverwrite); a write whose answer is lost is reported as "unknown", never
retried blindly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from exchangelib import (BASIC, DELEGATE, NTLM, OAUTH2, UTC, Account, Build, Configuration, Contact, Credentials,
                         ExtendedProperty, FailFast, Identity, OAuth2Credentials, Version)
from exchangelib import errors as ex
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from exchangelib.folders import Contacts, DeletedItems, Folder, Root
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.fields import FieldPath
from exchangelib.items import ID_ONLY, NEVER_OVERWRITE, SAVE_ONLY
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter, close_connections
from exchangelib.properties import Fields, ItemId
from exchangelib.services import CreateFolder, GetFolder, SyncFolderItems

from ..net import DeadlineAdapter, WatchedResponse, default_deadline, last_request_overran
from ..profiles import Profile
from . import events as ev
from .ews_payload import LEAN_ENTRIES, Entries, ItemRef, create_contacts, new_values_class
from .transport import (FolderInfo, FolderMissing, FoundBy, ItemUpdate, NewItem, Outcome, RemoteChanges,
                        RemoteItem, ServerInfo, SyncStateInvalid, ThrottleCallback, TransportStats, WriteResult)


T = TypeVar("T")
R = TypeVar("R")

#: EWS response codes and what they mean to the engine (anything else is FAILED)
_OUTCOMES: dict[type[Exception], Outcome] = {
    ex.ErrorIrresolvableConflict: Outcome.CONFLICT, ex.ErrorInvalidChangeKey: Outcome.CONFLICT,
    ex.ErrorChangeKeyRequiredForWriteOperations: Outcome.CONFLICT, ex.ErrorStaleObject: Outcome.CONFLICT,
    ex.ErrorItemNotFound: Outcome.NOT_FOUND,
}


def _failure(exc: Exception) -> WriteResult:
    """A per-item EWS error as a neutral result; the message keeps the EWS name for people."""
    outcome = next((o for cls, o in _OUTCOMES.items() if isinstance(exc, cls)), Outcome.FAILED)
    return WriteResult(outcome, message=f"{type(exc).__name__}: {exc}")


class BcsyncStamp(ExtendedProperty):
    """The contact's UUID, written into every Outlook item the sync creates or links."""

    property_set_id = "6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21"
    property_name = "bcsync-contact-uuid"
    property_type = "String"


STAMP = "bcsync_stamp"
if STAMP not in {f.name for f in Contact.FIELDS}:
    Contact.register(STAMP, BcsyncStamp)

#: the fields a new contact is built with: ours, and the defaults exchangelib always sends
_NEW_CONTACT_FIELDS = {"_id", "attachments", "sensitivity", "importance", "reminder_is_set",
                       "reminder_minutes_before_start", "postal_address_index", "file_as", "display_name",
                       "given_name", "middle_name", "surname", "initials", "company_name", "job_title",
                       "business_homepage", "email_addresses", "phone_numbers", "physical_addresses", STAMP}


class NewContact(Contact):
    """A Contact for CreateItem that carries only the fields above. exchangelib validates and
    serialises all ~80 Contact fields of every item it creates, ~0.2 ms of CPU each even when
    empty; this class gives the same XML (tests/engine/test_ews_payload.py compares) for less.
    Uses exchangelib's documented way to define a model's FIELDS."""

    FIELDS = Fields(*(f for f in Contact.FIELDS if f.name in _NEW_CONTACT_FIELDS))


#: what a create fills instead of a NewContact: the same attributes, none of exchangelib's per-object
#: machinery (ews_payload renders it exactly as it renders a NewContact)
NewValues = new_values_class(NewContact)
EXCHANGELIB_ENTRIES: Entries = (EmailAddress, PhoneNumber, PhysicalAddress)


SCALAR = {"name": "display_name", "first_name": "given_name", "middle_name": "middle_name", "surname": "surname",
          "initials": "initials", "company_name": "company_name", "job_title": "job_title",
          "home_page": "business_homepage"}
EMAILS = {"email": "EmailAddress1", "email2": "EmailAddress2"}
PHONES = {"phone": "BusinessPhone", "mobile_phone": "MobilePhone", "fax": "BusinessFax"}
ADDRESS = {"city": "city", "county": "state", "post_code": "zipcode", "country_code": "country"}
#: the indexed fields we map: attribute, our keys -> labels, the entry's value attribute, its kind in Entries
_INDEXED = (("email_addresses", EMAILS, "email", 0), ("phone_numbers", PHONES, "phone_number", 1))
_ADDRESS_KEYS = frozenset(("address", "address2", *ADDRESS))
ONLY = ["display_name", "file_as", "given_name", "middle_name", "surname", "initials", "company_name", "job_title",
        "business_homepage", "email_addresses", "phone_numbers", "physical_addresses", STAMP]
SYNC_PAGE = 512  # EWS's maximum MaxChangesReturned
# Items per CreateItem/UpdateItem/GetItem request. EWS sets no item count per request for these (only
# the request size, and Exchange Online's throttling budget); 250 keeps requests near 200 KB.
WRITE_CHUNK = 250
#: bytes per step when exchangelib reads a response (see EwsHTTPAdapter)
READ_CHUNK = 1 << 16
BACKOFF_CAP = 60.0  # exponential back-off when the server names no wait
MAX_SERVER_BACKOFF = 300.0  # a BackOffMilliseconds beyond this is capped
RUN_DEADLINE = 4 * 3600.0  # a run starts no request after this (docs/cli.md, Limits)


def _address_fields(street: str) -> tuple[str, str]:
    first, _, rest = (street or "").replace("\r\n", "\n").partition("\n")
    return first, rest


class TokenUrlOAuth2Credentials(OAuth2Credentials):
    """exchangelib's client-credentials OAuth2, with the token endpoint the profile names (an AD FS
    in front of on-premises Exchange, say) instead of always Microsoft's."""

    def __init__(self, *args: Any, token_url: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.custom_token_url = token_url

    @property
    def token_url(self) -> str:
        return self.custom_token_url or super().token_url


class _ChunkedResponse(WatchedResponse):
    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[Any]:
        chunks: Iterator[Any] = super().iter_content(READ_CHUNK if chunk_size == 1 else chunk_size, decode_unicode)
        return chunks


_SENT_LOCK = threading.Lock()


class EwsHTTPAdapter(DeadlineAdapter):
    """exchangelib parses every response from ``response.iter_content()``, whose default chunk is
    one byte: a generator step per byte, ~0.1 ms of CPU per synced contact. This adapter (installed
    through exchangelib's ``BaseProtocol.HTTP_ADAPTER_CLS``) hands it 64 KiB chunks, and gives every
    request a whole-request deadline (core/net.py; exchangelib's timeout bounds each read only).
    It also counts the HTTP requests that go on the wire (NTLM's handshake legs included)."""

    #: HTTP requests sent through these adapters by this process; a transport counts its own share
    sent = 0

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with _SENT_LOCK:
            EwsHTTPAdapter.sent += 1
        return super().send(request, *args, **kwargs)

    def build_response(self, req: Any, resp: Any) -> Any:
        response = super().build_response(req, resp)
        response.__class__ = _ChunkedResponse
        return response


class EwsNoVerifyHTTPAdapter(EwsHTTPAdapter, NoVerifyHTTPAdapter):
    """The same, for a profile whose user turned TLS verification off."""


_CONTACT_TAG, _ITEM_ID_TAG = Contact.response_tag(), ItemId.response_tag()


class _IdOnlySyncFolderItems(SyncFolderItems):
    """SyncFolderItems for confirming our own writes: only each change's ItemId is read. The stock
    service builds a full Contact object per change even for an IdOnly shape (~0.1 ms each, a tenth
    of a first sync's CPU). Non-contact items (a distribution list in the folder) give None."""

    def _elem_to_obj(self, elem: Any) -> Any:
        change_type = self.change_types_map[elem.tag]
        if change_type in (self.CREATE, self.UPDATE):
            item_elem = elem[0]
            if item_elem.tag != _CONTACT_TAG:
                return change_type, None
            return change_type, ItemRef.of(item_elem.find(_ITEM_ID_TAG))
        return super()._elem_to_obj(elem)


def _keep_pool_size(protocol: Any) -> None:
    """exchangelib answers a busy server by shrinking its session pool, and its ``decrease_poolsize``
    holds the pool's lock while it takes a session; with every session out (several batches in
    flight) and the pool below its size limit, taking one grows the pool under that same lock: the
    thread waits on itself, and the sync hangs for ever. bcsync paces its own requests (FailFast and
    its own back-off), so the pool keeps its size: shrinking it says, as exchangelib does for a pool
    of one, that it cannot go lower (``ErrorServerBusy`` and ``ErrorExceededConnectionCount`` then
    reach our back-off, instead of an immediate resend)."""
    def decrease_poolsize() -> None:
        raise ex.SessionPoolMinSizeReached("bcsync keeps the session pool's size and backs off itself")

    protocol.decrease_poolsize = decrease_poolsize


class EwsTransport:
    #: SyncFolderItems pages hold 512 changes: a long first sync reads its creates back meanwhile
    confirms_while_writing = True

    def __init__(self, profile: Profile, secret: str | None, *, timeout: float = 30.0,
                 max_retry_seconds: float = 600.0, write_chunk: int = WRITE_CHUNK,
                 request_deadline: float | None = None, run_deadline: float = RUN_DEADLINE):
        self.profile, self.secret = profile, secret
        self.timeout, self.max_retry_seconds, self.write_chunk = timeout, max_retry_seconds, write_chunk
        #: requests sent at once (the chunks of one batch); the executor's batch holds that many chunks,
        #: so a batch is journaled before and its links saved after all its requests, as with one
        self.in_flight = max(1, int(profile.in_flight or 1))
        self.write_batch = write_chunk * self.in_flight
        self._lock = threading.Lock()  # the counters the request threads share
        #: seconds one whole HTTP request may take (the timeout bounds each socket read only)
        self.request_deadline = request_deadline or default_deadline()
        #: no request is started after this many seconds of the run: it stops at a safe point
        self.run_deadline = run_deadline
        self._run_ends = time.monotonic() + run_deadline
        self.stats = TransportStats()
        self._sent_before = EwsHTTPAdapter.sent
        self.on_throttle: ThrottleCallback | None = None
        self.account: Any = None  # an exchangelib Account once connected
        self._folders: dict[str, Any] = {}
        self._root: Any = None  # the Contacts folder, once looked up
        self._missing: set[str] = set()  # folder names found missing in this run
        self._lists: dict[str, tuple[str, dict[str, list[Any]]]] = {}  # item id → (change key, indexed lists)
        self._info = ServerInfo(protocol="Exchange Web Services")

    # --- connection and errors -----------------------------------------------------------------

    @property
    def _where(self) -> str:
        return self.profile.server_url or f"autodiscover for {self.profile.email}"

    def _problem(self, exc: BaseException) -> ev.ConnectionProblem:
        where = self._where
        if isinstance(exc, InsecureTransportError):
            return ev.ConnectionProblem("The OAuth2 token endpoint must be an https:// address (the client secret "
                                        "would travel in clear text). Fix it in the Exchange sync setup.")
        if isinstance(exc, OAuth2Error):
            token_url = self.profile.oauth_token_url or "Microsoft's token endpoint"
            return ev.ConnectionProblem(
                f"{token_url} refused OAuth2 client {self.profile.oauth_client_id!r} ({exc.error}). Check the client "
                "id, the client secret (the password field) and the tenant in the Exchange sync setup.")
        if isinstance(exc, ex.UnauthorizedError):
            return ev.ConnectionProblem(
                f"Exchange rejected the user name or password for {self.profile.username or self.profile.email} "
                f"at {where}. Check them in the Exchange sync setup.")
        if isinstance(exc, (ex.ErrorAccessDenied, ex.ErrorFolderNotFound, ex.ErrorNonExistentMailbox)):
            return ev.ConnectionProblem(f"The mailbox or folder is not accessible: {exc}.")
        if isinstance(exc, ex.ErrorTimeoutExpired):  # exchangelib's wrapper for refused and timed-out requests
            if "refused" in str(exc).lower() or "NewConnectionError" in str(exc):
                return ev.ConnectionProblem(f"Cannot reach {where} (connection refused). Check the server address "
                                            "and that the server is running.")
            if last_request_overran():
                return ev.ConnectionProblem(
                    f"{where} did not finish answering within {self.request_deadline:.0f} s (the whole request's "
                    "deadline): the server is far too slow or stuck. Try again later, or check the server.")
            return ev.ConnectionProblem(f"{where} did not answer within {self.timeout:.0f} s. Try again later.")
        if isinstance(exc, ex.ResponseMessageError):
            return ev.ConnectionProblem(f"Exchange refused the request at {where}: {type(exc).__name__}: {exc}")
        if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            host = urlparse(self.profile.server_url).hostname
            return ev.ConnectionProblem(
                f"The TLS certificate of {host} could not be verified. Install the server's CA certificate, or, "
                "for a test server you trust, turn TLS verification off for this profile.")
        if isinstance(exc, (requests.exceptions.Timeout, ex.TransportError)) and "timed out" in str(exc).lower():
            return ev.ConnectionProblem(f"{where} did not answer within {self.timeout:.0f} s. Try again later.")
        if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError, ex.TransportError)):
            return ev.ConnectionProblem(
                f"Cannot reach {where} ({type(exc).__name__}). Check the server address and your network.")
        if isinstance(exc, ex.AutoDiscoverFailed):
            return ev.ConnectionProblem(
                f"Autodiscover could not find the Exchange server for {self.profile.email}. Enter the EWS URL "
                "(https://server/EWS/Exchange.asmx) in the setup.")
        if isinstance(exc, (ex.MalformedResponseError, ex.ErrorInvalidSchemaVersionForMailboxVersion, ex.CASError)):
            return ev.ConnectionProblem(
                f"{where} did not answer like an Exchange EWS endpoint. The URL usually ends in /EWS/Exchange.asmx.")
        return ev.ConnectionProblem(f"Exchange error at {where}: {type(exc).__name__}: {exc}")

    def _credentials(self) -> Any:
        p = self.profile
        if p.auth_type == "oauth2":
            return TokenUrlOAuth2Credentials(client_id=p.oauth_client_id, client_secret=self.secret or "",
                                             tenant_id=p.oauth_tenant_id or None,
                                             identity=Identity(primary_smtp_address=p.email),
                                             token_url=p.oauth_token_url or None)
        return Credentials(p.username or p.email, self.secret or "")

    def connect(self) -> None:
        """Build the account; no request is sent when the server version is known from a previous run."""
        BaseProtocol.TIMEOUT = self.timeout
        EwsHTTPAdapter.deadline = self.request_deadline  # process-wide too, like TIMEOUT
        BaseProtocol.RETRY_WAIT = 1  # our own back-off starts at 1 s when the server names no wait
        # Per profile: TLS verification is off only when the user chose that for this profile.
        # exchangelib keeps this process-wide; syncs run one at a time, so it is set per run
        # (a subclass someone installed, e.g. to count requests, is kept when it fits).
        wanted = EwsHTTPAdapter if self.profile.verify_tls else EwsNoVerifyHTTPAdapter
        current = BaseProtocol.HTTP_ADAPTER_CLS
        if not issubclass(current, wanted) or (self.profile.verify_tls and issubclass(current, NoVerifyHTTPAdapter)):
            BaseProtocol.HTTP_ADAPTER_CLS = wanted
        p = self.profile
        auth = {"basic": BASIC, "ntlm": NTLM, "oauth2": OAUTH2}[p.auth_type]
        known = p.state.get("server_version")
        version = Version(build=Build(*known[0]), api_version=known[1]) if known else None
        try:
            if p.server_url:
                config = Configuration(service_endpoint=p.server_url, credentials=self._credentials(), auth_type=auth,
                                       version=version, retry_policy=FailFast())
                self.account = self._call("connect", lambda: Account(
                    p.email, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=UTC))
            else:
                self.account = self._call("autodiscover", lambda: Account(
                    p.email, credentials=self._credentials(), autodiscover=True, access_type=DELEGATE,
                    default_timezone=UTC))
            self.account.protocol.max_connections = self.in_flight  # exchangelib's session pool: 1 by default
            _keep_pool_size(self.account.protocol)
            v = self._call("version", lambda: self.account.version)  # a request when not known yet
        except ev.SyncError:
            raise
        except Exception as exc:
            raise self._problem(exc) from exc
        build = [v.build.major_version, v.build.minor_version, v.build.major_build, v.build.minor_build]
        self._info = ServerInfo(protocol="Exchange Web Services",
                                version=f"{v.api_version}, build {'.'.join(map(str, build))}",
                                remember=[build, v.api_version])

    def server_info(self) -> ServerInfo:
        return self._info

    def close(self) -> None:
        self.account = None
        self._folders.clear()
        close_connections()

    def _call(self, op: str, fn: Callable[[], Any], *, write: bool = False, resend: bool = True) -> Any:
        try:
            return self._attempts(op, fn, write=write, resend=resend)
        finally:  # what went on the wire, not how often we asked exchangelib (it may send nothing)
            self.stats.requests = EwsHTTPAdapter.sent - self._sent_before

    def _attempts(self, op: str, fn: Callable[[], Any], *, write: bool = False, resend: bool = True) -> Any:
        """Run one EWS request with capped retries; throttling waits are reported to the engine.

        ``resend=False`` is for batch writes that must not be sent twice: a busy answer may refer to
        one item of the batch while the others were written, so after the wait it raises ``Busy``
        and the caller finds out what was written (by stamp) before sending the rest again."""
        deadline = time.monotonic() + self.max_retry_seconds
        attempt = 0
        while True:
            if time.monotonic() > self._run_ends:  # before sending: nothing is left half done
                raise ev.RunCutShort(f"the run reached its time limit ({self.run_deadline / 60:.0f} min) and stopped "
                                     "at a safe point; the next sync continues from there.")
            with self._lock:
                self.stats.by_operation[op] = self.stats.by_operation.get(op, 0) + 1
            busy = False
            try:
                return fn()
            except ex.ErrorServerBusy as exc:
                # exchangelib fills in RETRY_WAIT when the server sent no BackOffMilliseconds.
                told = exc.back_off and exc.back_off != BaseProtocol.RETRY_WAIT
                wait = min(MAX_SERVER_BACKOFF, float(exc.back_off)) if told else min(BACKOFF_CAP, 2.0 ** attempt)
                busy = True
            except (ex.ErrorInternalServerTransientError, ex.ErrorExceededConnectionCount):
                # (too many connections: exchangelib resent at once with a smaller pool; see _keep_pool_size)
                wait, busy = min(BACKOFF_CAP, 2.0 ** attempt), True
            except ex.MalformedResponseError as exc:
                if "Code: 429" not in str(exc):
                    raise
                wait, busy = min(BACKOFF_CAP, 2.0 ** attempt), True
            except ex.ResponseMessageError as exc:
                if not isinstance(exc, ex.ErrorTimeoutExpired):
                    raise  # an answer from the server (not found, access denied...): not a transport fault
                if write:  # it may have reached the server: never sent twice blindly
                    raise UnknownOutcome(str(exc)) from exc
                if attempt >= 2 or time.monotonic() + 2.0 ** attempt > deadline or last_request_overran():
                    raise  # (a server that overran a whole request's deadline would only overrun it again)
                wait = 2.0 ** attempt
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError,
                    ex.TransportError) as exc:
                if write:
                    raise UnknownOutcome(str(exc)) from exc
                if attempt >= 2 or time.monotonic() + 2.0 ** attempt > deadline:
                    raise
                wait = 2.0 ** attempt
            attempt += 1
            if not busy:  # a failed connection: try again shortly, without calling it throttling
                time.sleep(wait)
                continue
            self._wait(wait, deadline)
            if not resend:
                raise Busy(op)

    def _wait(self, seconds: float, deadline: float) -> None:
        """Wait as the server asked, unless that goes past the run's cap on throttling."""
        if time.monotonic() + seconds > deadline:
            raise ev.RunCutShort(
                f"Exchange kept asking us to slow down for more than {self.max_retry_seconds:.0f} s; the run "
                "stopped at a safe point and the next sync continues from there.")
        with self._lock:
            if self.on_throttle is not None:
                self.on_throttle(seconds)
            self.stats.throttle_waits += 1
            self.stats.throttle_seconds += seconds
        time.sleep(seconds)

    # --- folders -------------------------------------------------------------------------------

    def _folder(self, folder_id: str) -> Any:
        folder = self._folders.get(folder_id)
        if folder is None:
            # A bare Root carries the account without the GetFolder request ``account.root`` makes.
            folder = Contacts(root=Root(account=self.account), id=folder_id)
            self._folders[folder_id] = folder
        return folder

    def ensure_folder(self, name: str, known_id: str | None, create: bool = True) -> FolderInfo:
        try:
            if known_id and self._folder_place(known_id) == "here":
                return FolderInfo(known_id, FoundBy.ID)
            if self._root is None:
                self._root = self._call("GetFolder", lambda: self.account.contacts)
            parent = self._root
            try:
                if name in self._missing:  # looked for a moment ago in this run (before the guards)
                    raise ex.ErrorFolderNotFound(name)
                folder = self._call("FindFolder", lambda: parent // name)
                found_by = FoundBy.NAME
            except ex.ErrorFolderNotFound:
                if not create:
                    self._missing.add(name)
                    return FolderInfo("", FoundBy.MISSING)
                try:
                    folder = self._create_folder(parent, name)
                    found_by = FoundBy.CREATED
                except ex.ErrorFolderExists:  # the user made it meanwhile
                    folder = self._call("FindFolder", lambda: parent // name)
                    found_by = FoundBy.NAME
                finally:
                    self._missing.discard(name)
        except ev.SyncError:
            raise
        except Exception as exc:
            raise self._problem(exc) from exc
        self._folders[folder.id] = folder
        return FolderInfo(folder.id, found_by)

    def _folder_place(self, folder_id: str) -> str:
        """Where the folder with this id is: "here" (wherever the user moved it), "trash" (Outlook's Delete
        key moved it into Deleted Items, keeping its id: it counts as deleted) or "gone". One GetFolder
        asks for the folder's ParentFolderId and the Deleted Items folder's id together."""
        folder = self._folder(folder_id)
        trash = DeletedItems(root=folder.root)
        parent_field = FieldPath(field=Folder.get_field_by_fieldname("parent_folder_id"))
        found = list(self._call("GetFolder", lambda: GetFolder(account=self.account).call(
            folders=[folder, trash], additional_fields=[parent_field], shape=ID_ONLY)))
        if isinstance(found[0], ex.ErrorFolderNotFound | ex.ErrorItemNotFound | ex.ErrorAccessDenied):
            return "gone"
        for answer in found:
            if isinstance(answer, Exception):
                raise answer
        parent = found[0].parent_folder_id
        return "trash" if parent is not None and parent.id == found[1].id else "here"

    def _create_folder(self, parent: Any, name: str) -> Any:
        """CreateFolder, and nothing else: ``Folder.save()`` would then load the mailbox's whole
        folder tree into exchangelib's cache (four more requests)."""
        created = self._call("CreateFolder", lambda: CreateFolder(account=self.account).get(
            parent_folder=parent, folders=[Contacts(parent=parent, name=name)]), write=True)
        return self._folder(created.id)

    # --- reading -------------------------------------------------------------------------------

    def _to_remote(self, item: Any) -> RemoteItem:
        fields = {k: getattr(item, attr) or "" for k, attr in SCALAR.items()}
        lists: dict[str, list[Any]] = {"email_addresses": list(item.email_addresses or []),
                                       "phone_numbers": list(item.phone_numbers or []),
                                       "physical_addresses": list(item.physical_addresses or [])}
        emails = {e.label: e.email for e in lists["email_addresses"]}
        phones = {ph.label: ph.phone_number for ph in lists["phone_numbers"]}
        business = next((a for a in lists["physical_addresses"] if a.label == "Business"), None)
        for key, label in EMAILS.items():
            fields[key] = emails.get(label) or ""
        for key, label in PHONES.items():
            fields[key] = phones.get(label) or ""
        fields["address"], fields["address2"] = _address_fields(business.street if business else "")
        for key, attr in ADDRESS.items():
            fields[key] = (getattr(business, attr) if business else "") or ""
        self._lists[item.id] = (item.changekey, lists)
        return RemoteItem(item.id, item.changekey, getattr(item, STAMP, None) or None,
                          {k: str(v).replace("\r\n", "\n") for k, v in fields.items()})

    def changes(self, folder_id: str, state: str | None, ids_only: bool = False) -> RemoteChanges:
        folder = self._folder(folder_id)
        items: dict[str, RemoteItem] = {}
        deleted: list[str] = []
        current = state
        # ids_only: item ids and change keys are enough (confirming our own writes), and much cheaper.
        fields = set() if ids_only else {f for f in folder.normalize_fields(fields=ONLY) if not f.field.is_attribute}
        while True:
            svc = (_IdOnlySyncFolderItems if ids_only else SyncFolderItems)(account=self.account)

            def page(svc: Any = svc, current: str | None = current) -> list[Any]:
                return list(svc.call(folder=folder, shape="IdOnly",
                                     additional_fields=fields, sync_state=current, ignore=None,
                                     max_changes_returned=SYNC_PAGE, sync_scope=None))
            try:
                result = self._call("SyncFolderItems", page)
            except ex.ErrorInvalidSyncStateData as exc:
                raise SyncStateInvalid(str(exc)) from exc
            except AttributeError as exc:  # a corrupt state can surface like this in exchangelib
                raise SyncStateInvalid(str(exc)) from exc
            except (ex.ErrorSyncFolderNotFound, ex.ErrorFolderNotFound, ex.ErrorItemNotFound) as exc:
                raise FolderMissing(str(exc)) from exc
            except ev.SyncError:
                raise
            except ex.EWSError as exc:
                raise self._problem(exc) from exc
            for change_type, item in result:
                if change_type == "delete":
                    items.pop(item.id, None)
                    deleted.append(item.id)
                elif ids_only and change_type in ("create", "update") and item is not None:
                    items[item.id] = RemoteItem(item.id, item.changekey, None, {})
                elif change_type in ("create", "update") and isinstance(item, Contact):
                    items[item.id] = self._to_remote(item)
            if svc.sync_state == current or svc.includes_last_item_in_range:
                current = svc.sync_state
                break
            current = svc.sync_state
        return RemoteChanges(list(items.values()), deleted, current or "", state is None)

    def get(self, folder_id: str, item_ids: list[str]) -> list[RemoteItem | None]:
        def chunk_of(chunk: list[str]) -> list[RemoteItem | None]:
            got = self._call("GetItem", lambda: list(self.account.fetch(
                ids=[(i, None) for i in chunk], only_fields=ONLY + ["parent_folder_id"], chunk_size=len(chunk))))
            return [self._to_remote(item) if isinstance(item, Contact) and item.parent_folder_id
                    and item.parent_folder_id.id == folder_id else None for item in got]
        return self._each_in_flight(chunk_of, item_ids)

    # --- requests in flight ----------------------------------------------------------------------

    def _chunks(self, items: list[T]) -> list[list[T]]:
        return [items[i:i + self.write_chunk] for i in range(0, len(items), self.write_chunk)]

    def _each_in_flight(self, fn: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        """``fn`` on each chunk of ``items``, up to ``in_flight`` chunks at once; the results in order.
        A chunk that raises (a run cut short, a lost connection) is raised again once every chunk has
        ended, so no request is left running behind the caller's back."""
        chunks = self._chunks(items)
        if len(chunks) <= 1 or self.in_flight <= 1:
            return [r for chunk in chunks for r in fn(chunk)]
        with ThreadPoolExecutor(min(self.in_flight, len(chunks)), thread_name_prefix="bcsync-ews") as pool:
            futures = [pool.submit(fn, chunk) for chunk in chunks]
        return [r for f in futures for r in f.result()]

    # --- writing -------------------------------------------------------------------------------

    def _apply(self, item: Any, fields: dict[str, str], lists: dict[str, list[Any]],
               entry_types: Entries = EXCHANGELIB_ENTRIES) -> list[str]:
        """Set ``fields`` on an exchangelib contact (or, for a create, on ews_payload's lean ``NewValues``
        with its lean ``entry_types``); returns the exchangelib field names touched."""
        touched: list[str] = []
        for key, attr in SCALAR.items():
            if key in fields:
                setattr(item, attr, fields[key] or None)
                touched.append(attr)
        if "name" in fields:
            item.file_as = fields["name"] or None
            touched.append("file_as")
        # Indexed fields are replaced whole: keep the entries we do not map (EmailAddress3, home phone).
        for attr, mapping, value_attr, kind in _INDEXED:
            if not mapping.keys().isdisjoint(fields):
                entries = {e.label: getattr(e, value_attr) for e in lists[attr]}
                entries.update({label: fields[key] for key, label in mapping.items() if key in fields})
                make = entry_types[kind]
                setattr(item, attr, [make(label=k, **{value_attr: v}) for k, v in entries.items() if v] or None)
                touched.append(attr)
        if not _ADDRESS_KEYS.isdisjoint(fields):
            make_address = entry_types[2]
            others = [a for a in lists["physical_addresses"] if a.label != "Business"]
            old = next((a for a in lists["physical_addresses"] if a.label == "Business"), None)
            line1, line2 = _address_fields(old.street if old else "")
            line1, line2 = fields.get("address", line1), fields.get("address2", line2)
            values = {attr: fields.get(key, getattr(old, attr, None) if old else None) or None
                      for key, attr in ADDRESS.items()}
            street = "\n".join(x for x in (line1, line2) if x) or None
            business = [make_address(label="Business", street=street, **values)] if street or any(values.values()) else []
            item.physical_addresses = (others + business) or None
            touched.append("physical_addresses")
        return touched

    def create(self, folder_id: str, items: list[NewItem]) -> list[WriteResult]:
        folder = self._folder(folder_id)
        return self._each_in_flight(lambda chunk: self._create_chunk(folder, chunk), items)

    def _create_chunk(self, folder: Any, chunk: list[NewItem]) -> list[WriteResult]:
        """Create, and after a busy answer create only what the folder does not hold yet (by stamp)."""
        empty: dict[str, list[Any]] = {"email_addresses": [], "phone_numbers": [], "physical_addresses": []}
        done: dict[int, WriteResult] = {}
        pending = list(enumerate(chunk))
        for _ in range(4):
            contacts = []
            for _n, new in pending:
                values = NewValues()
                self._apply(values, {**new.fields, "name": new.fields.get("name") or new.fields.get("email", "")},
                            empty, LEAN_ENTRIES)
                if new.stamp:
                    setattr(values, STAMP, new.stamp)
                contacts.append(values)
            try:
                results = self._write("CreateItem", len(pending),
                                      lambda: create_contacts(self.account, folder, contacts, NewContact),
                                      resend=False)
            except Busy:
                found = self._find_stamped(folder, [new.stamp for _n, new in pending if new.stamp])
                for n, new in pending:
                    if new.stamp in found:
                        done[n] = WriteResult.written(*found[new.stamp])
                pending = [(n, new) for n, new in pending if n not in done]
                if not pending:
                    break
                continue
            done.update({n: res for (n, _new), res in zip(pending, results, strict=True)})
            pending = []
            break
        for n, _new in pending:
            done[n] = WriteResult(Outcome.FAILED, message="ErrorServerBusy: the server stayed busy")
        return [done[n] for n in range(len(chunk))]

    def _find_stamped(self, folder: Any, stamps: list[str]) -> dict[str, tuple[str, str]]:
        """Items of the folder carrying one of these stamps (FindItem with a restriction)."""
        query = folder.filter(**{f"{STAMP}__in": stamps}).only(STAMP)
        found = self._call("FindItem", lambda: list(query))
        return {getattr(i, STAMP): (i.id, i.changekey) for i in found if isinstance(i, Contact)}

    def _write(self, op: str, n: int, fn: Callable[[], Any], resend: bool = True) -> list[WriteResult]:
        """One batch write as per-item results; ``Busy`` propagates when ``resend`` is False."""
        try:
            results = self._call(op, fn, write=True, resend=resend)
        except UnknownOutcome as exc:
            return [WriteResult(Outcome.UNKNOWN, message=f"no answer: {exc}") for _ in range(n)]
        except ex.ErrorIrresolvableConflict as exc:
            # Raised for the whole call: which items were written is unknown; they are re-read.
            return [WriteResult(Outcome.UNKNOWN, message=f"ErrorIrresolvableConflict: {exc}") for _ in range(n)]
        except ev.SyncError:
            raise
        except ex.EWSError as exc:
            return [_failure(exc) for _ in range(n)]
        if len(results) != n:
            return [WriteResult(Outcome.UNKNOWN, message="the server answered for a different number of items")
                    for _ in range(n)]
        out = []
        for res in results:
            if isinstance(res, Exception):
                out.append(_failure(res))
            elif res is True:  # DeleteItem answers success without ids
                out.append(WriteResult.written())
            elif isinstance(res, tuple):
                out.append(WriteResult.written(res[0], res[1]))
            else:
                out.append(WriteResult.written(res.id, res.changekey))
        return out

    def update(self, items: list[ItemUpdate]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        needs_lists = [u.item_id for u in items if u.item_id not in self._lists or
                       self._lists[u.item_id][0] != u.change_key]
        if needs_lists:
            self.get_lists(needs_lists)
        batch: list[tuple[int, Any, list[str]]] = []
        for n, upd in enumerate(items):
            known = self._lists.get(upd.item_id)
            if known is None:
                results[n] = WriteResult(Outcome.NOT_FOUND, message="the item no longer exists")
                continue
            if known[0] != upd.change_key:
                results[n] = WriteResult(Outcome.CONFLICT, message="the item was changed in Outlook after it was read")
                continue
            c = Contact(account=self.account, id=upd.item_id, changekey=upd.change_key)
            touched = self._apply(c, upd.fields, known[1])
            if upd.stamp:
                setattr(c, STAMP, upd.stamp)
                touched.append(STAMP)
            batch.append((n, c, touched))
        def chunk_of(chunk: list[tuple[int, Any, list[str]]]) -> list[WriteResult]:
            try:
                return self._write("UpdateItem", len(chunk), lambda: self.account.bulk_update(
                    items=[(c, touched) for _, c, touched in chunk], conflict_resolution=NEVER_OVERWRITE,
                    message_disposition=SAVE_ONLY, chunk_size=len(chunk)), resend=len(chunk) == 1)
            except Busy:  # some may be written: the engine re-reads and retries each one
                return [WriteResult(Outcome.UNKNOWN, message="ErrorServerBusy: busy") for _ in chunk]
        for (n, _, _), res in zip(batch, self._each_in_flight(chunk_of, batch), strict=True):
            results[n] = res
        return [results[n] for n in range(len(items))]

    def get_lists(self, item_ids: list[str]) -> None:
        """Read current indexed lists (and change keys) so an update can send them back whole."""
        def chunk_of(chunk: list[str]) -> list[None]:
            got = self._call("GetItem", lambda: list(self.account.fetch(
                ids=[(i, None) for i in chunk], only_fields=ONLY, chunk_size=len(chunk))))
            for item_id, item in zip(chunk, got, strict=True):
                if isinstance(item, Contact):
                    self._to_remote(item)
                else:
                    self._lists.pop(item_id, None)
            return []
        self._each_in_flight(chunk_of, item_ids)

    def delete(self, item_ids: list[str], move_to_deleted_items: bool) -> list[WriteResult]:
        def chunk_of(chunk: list[str]) -> list[WriteResult]:
            res = self._write("DeleteItem", len(chunk), lambda: self.account.bulk_delete(
                ids=[(i, None) for i in chunk],
                delete_type="MoveToDeletedItems" if move_to_deleted_items else "HardDelete", chunk_size=len(chunk)))
            for item_id, r in zip(chunk, res, strict=True):
                r.item_id = r.item_id or item_id
            return res
        return self._each_in_flight(chunk_of, item_ids)


class UnknownOutcome(Exception):
    """A write request failed after it may have reached the server."""


class Busy(Exception):
    """A batch write was answered "busy" and must not simply be sent again."""
