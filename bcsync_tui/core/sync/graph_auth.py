"""Sign-in for the Microsoft Graph transport: MSAL, its token cache, and what its errors mean.

Only the Graph adapter modules (``graph*.py``) import msal, and only when a sync, a validation or
a sign-in runs. A person signs in with the device code flow (``start_device_flow`` then
``finish_device_flow``); an administrator's app with client credentials (a secret, or a
certificate). Access tokens are refreshed silently from the cache, which lives where passwords
live (``SecretStore``: the OS keyring, else a 0600 file), never in the store or a log.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import msal
import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from ..net import DeadlineAdapter
from ..profiles import Profile
from . import events as ev

TOKEN_CACHE = "graph_token_cache"  # the SecretStore kind of a profile's MSAL token cache
SIGN_IN_AGAIN = "Run `bcsync setup --transport graph --email {email}` (or the setup in the TUI) to sign in again."


class Secrets(Protocol):
    def get(self, profile: str, kind: str = "password") -> str | None: ...

    def set(self, profile: str, value: str, kind: str = "password") -> None: ...


def _load_system_cas(context: ssl.SSLContext, loaded: str) -> None:
    """``context.load_default_certs()`` without reading again the file ``loaded`` already put in
    (where REQUESTS_CA_BUNDLE names the system's own bundle, as it often does, ~50 ms of CPU)."""
    if sys.platform == "win32":  # the Windows certificate stores, besides OpenSSL's paths
        context.load_default_certs()
        return
    paths = ssl.get_default_verify_paths()  # OpenSSL's defaults, or SSL_CERT_FILE / SSL_CERT_DIR
    if paths.cafile and os.path.realpath(paths.cafile) != os.path.realpath(loaded):
        context.load_verify_locations(cafile=paths.cafile)
    if paths.capath:
        context.load_verify_locations(capath=paths.capath)


class _GraphAdapter(DeadlineAdapter):
    """Every request under a whole-request deadline (core.net). TLS: the CAs requests trusts (its
    bundle, or the REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE the environment names) and, with ``ca_file``,
    the system's CAs and one more (a test server's, a company's TLS-inspecting proxy), loaded once
    into one SSL context per bundle that every connection shares. (Left to itself urllib3 loads the
    bundle again into each connection it opens: ~50 ms of CPU apiece.)"""

    def __init__(self, deadline: float, ca_file: str = ""):
        self._ca_file = ca_file
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._contexts_lock = threading.Lock()
        if ca_file:  # one that cannot be read fails here, at once
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(ca_file)
        super().__init__()
        self.deadline = deadline

    def _context_for(self, bundle: str) -> ssl.SSLContext:
        with self._contexts_lock:
            context = self._contexts.get(bundle)
            if context is None:
                try:
                    context = (ssl.create_default_context(capath=bundle) if os.path.isdir(bundle)
                               else ssl.create_default_context(cafile=bundle))
                    if self._ca_file:
                        _load_system_cas(context, bundle)
                        context.load_verify_locations(self._ca_file)
                except (OSError, ssl.SSLError) as exc:
                    raise ev.ConfigurationProblem(
                        f"cannot read the CA certificates {bundle} ({exc}). If REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE "
                        "names it, fix or unset that variable; for the profile's own CA use `bcsync setup "
                        "--ca-file FILE`.") from exc
                self._contexts[bundle] = context
            return context

    @staticmethod
    def _bundle(url: str, verify: Any) -> str | None:
        """The CA bundle a verified https request trusts (None: not verified, or not https)."""
        if not url.lower().startswith("https:"):
            return None
        if verify is True:
            return DEFAULT_CA_BUNDLE_PATH
        return verify if isinstance(verify, str) and verify else None

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        # requests' documented way to use a custom SSL context: set it and drop the CA keys
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        bundle = self._bundle(request.url or "", verify)
        if bundle is not None:
            pool.pop("ca_certs", None)
            pool.pop("ca_cert_dir", None)
            pool["ssl_context"] = self._context_for(bundle)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._bundle(url, verify) is None or cert:
            super().cert_verify(conn, url, verify, cert)
        if self._bundle(url, verify) is not None:
            # the CAs are in the pool's SSL context (read when it was made): not loaded again
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = conn.ca_cert_dir = None


class _NoSessionAuth(requests.auth.AuthBase):
    """The session's auth, which adds nothing: each Graph request carries its own Bearer token and
    MSAL sends its own credentials. Without one, requests looks the host up in ~/.netrc (or $NETRC)
    at every request and, on a match, replaces our Authorization header with the file's Basic
    credentials (the sign-in service and Graph then refuse the sign-in)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Session(requests.Session):
    """A requests session that reads the environment's proxy and CA settings once per host and
    run, not on every request (requests scans the whole environment each time: ~0.6 ms a request,
    a tenth of a Graph first sync's CPU). Same settings, same precedence."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        parts = urlparse(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = merged
        return dict(merged)


def http_session(profile: Profile, deadline: float = 60.0) -> requests.Session:
    session = _Session()
    try:
        adapter = _GraphAdapter(deadline, profile.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ev.ConfigurationProblem(f"cannot read the CA file {profile.ca_file}: {exc}. Fix it with "
                                      "`bcsync setup --ca-file FILE`.") from exc
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "bcsync-tui"
    session.auth = _NoSessionAuth()
    return session


def graph_scopes(profile: Profile) -> list[str]:
    """Delegated: Contacts.ReadWrite of the profile's Graph (MSAL adds offline_access, openid,
    profile itself). Application: ``{graph}/.default`` (the permissions an admin granted)."""
    parsed = urlparse(profile.graph_root)
    resource = f"{parsed.scheme}://{parsed.netloc}"
    if profile.graph_auth == "client_credentials":
        return [f"{resource}/.default"]
    return [f"{resource}/Contacts.ReadWrite"]


@dataclass(frozen=True)
class DeviceCode:
    """What a person needs to sign in: open ``url`` and enter ``code``."""

    url: str
    code: str
    message: str
    expires_at: float
    flow: dict[str, Any]


#: AADSTS codes and OAuth2 error names → what the user should do (consent, app registration, tenant)
_AADSTS = {
    "AADSTS7000218": "the app registration does not allow public client flows. In the Microsoft Entra admin "
                     "center open the app → Authentication → 'Allow public client flows' → Yes, or name another "
                     "app with --client-id.",
    "AADSTS65001": "consent is missing: the user or an administrator has not granted the app permission "
                   "Contacts.ReadWrite. Ask your Microsoft 365 administrator to grant admin consent.",
    "AADSTS90094": "an administrator's consent is needed for Contacts.ReadWrite. Ask your Microsoft 365 "
                   "administrator to grant admin consent for the app.",
    "AADSTS700016": "the application (client) id is not known in this tenant. Check --client-id and --tenant.",
    "AADSTS90002": "the tenant was not found. Check --tenant (a tenant id or a domain such as contoso.com).",
    "AADSTS900023": "the tenant is not valid. Check --tenant (a tenant id or a domain such as contoso.com).",
    "AADSTS7000215": "the client secret is wrong. Enter the secret's value (not its id) with "
                     "--client-secret-stdin.",
    "AADSTS7000222": "the client secret has expired. Create a new one in the app registration and enter it with "
                     "--client-secret-stdin.",
    "AADSTS700027": "the certificate is not one registered for the app (or its assertion is invalid). Upload the "
                     "public certificate under the app registration → Certificates & secrets, or give the registered "
                     "one with --certificate.",
    "AADSTS700024": "the certificate's sign-in assertion is outside its valid time range. Check this computer's "
                    "clock and time zone.",
    "AADSTS50034": "the user account does not exist in this tenant. Check the e-mail address and --tenant.",
    "AADSTS70008": "the sign-in has expired (unused for too long).",
    "AADSTS70043": "the sign-in has expired (refresh token too old).",
    "AADSTS700082": "the sign-in has expired (refresh token too old).",
    "AADSTS50173": "the sign-in was revoked (password changed or sessions revoked).",
}
_EXPIRED = ("AADSTS70008", "AADSTS70043", "AADSTS700082", "AADSTS50173", "AADSTS50076", "AADSTS50079")


def _explain(result: dict[str, Any], profile: Profile, who: str) -> ev.ConnectionProblem:
    """An MSAL error answer as a message that names the cause and the fix."""
    error = str(result.get("error") or "error")
    description = str(result.get("error_description") or "")
    codes = [f"AADSTS{c}" for c in result.get("error_codes") or []]
    codes += [c for c in _AADSTS if c in description and c not in codes]
    for code in codes:
        if code in _AADSTS:
            again = " " + SIGN_IN_AGAIN.format(email=profile.email) if code in _EXPIRED else ""
            return ev.ConnectionProblem(f"Microsoft sign-in for {who} failed: {_AADSTS[code]}{again}")
    if error == "invalid_grant":
        return ev.ConnectionProblem(f"The sign-in for {who} has expired or was revoked. "
                                    + SIGN_IN_AGAIN.format(email=profile.email))
    if error in ("invalid_client", "unauthorized_client"):
        return ev.ConnectionProblem(f"Microsoft sign-in refused the application {profile.graph_client_id!r} "
                                    f"({error}). Check --client-id, the client secret or certificate, and --tenant.")
    if error in ("authorization_declined", "access_denied"):
        return ev.ConnectionProblem(f"The sign-in for {who} was declined. Run the setup again to retry.")
    if error == "expired_token":
        return ev.ConnectionProblem("The sign-in code expired before it was entered. Run the setup again "
                                    "for a new code.")
    first_line = description.splitlines()[0] if description else ""
    return ev.ConnectionProblem(f"Microsoft sign-in for {who} failed ({error}): {first_line}".rstrip(": "))


def _certificate_credential(path: str) -> dict[str, str]:
    """MSAL's certificate credential from a PEM file holding the private key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        pem = Path(path).read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ev.ConfigurationProblem(f"cannot use the certificate {path}: {exc}. It must be a PEM file with the "
                                      "private key (unencrypted) and the certificate.") from exc
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return {"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),
            "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode()}


class GraphAuth:
    """Tokens for one profile. ``client_secret`` is the application secret (client credentials)."""

    def __init__(self, profile: Profile, secrets: Secrets | None, session: requests.Session, *,
                 client_secret: str | None = None, timeout: float = 30.0):
        self.profile, self.secrets, self.session = profile, secrets, session
        self.client_secret, self.timeout = client_secret, timeout
        self.cache = msal.SerializableTokenCache()
        cached = secrets.get(profile.name, TOKEN_CACHE) if secrets is not None else None
        if cached:
            try:
                self.cache.deserialize(cached)
            except ValueError:
                pass  # a damaged cache: sign in again
        self._app: msal.ClientApplication | None = None
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # (access token, expires at, monotonic)
        self.requests = 0  # sign-in requests (not counted as Graph requests)

    @property
    def who(self) -> str:
        return self.profile.email or self.profile.name

    def _build_app(self) -> msal.ClientApplication:
        p = self.profile
        common: dict[str, Any] = {"authority": p.authority, "token_cache": self.cache, "http_client": self.session,
                                  "timeout": self.timeout}
        if not p.authority.startswith("https://login.microsoftonline."):
            common.update(instance_discovery=False, validate_authority=False)
        try:
            if p.graph_auth == "client_credentials":
                credential: Any = (_certificate_credential(p.graph_certificate) if p.graph_certificate
                                   else self.client_secret)
                if not credential:
                    raise ev.ConfigurationProblem(
                        "the application's client secret is not set. Enter it with `bcsync setup --transport graph "
                        "--client-secret-stdin`.")
                return msal.ConfidentialClientApplication(p.graph_client_id, client_credential=credential, **common)
            return msal.PublicClientApplication(p.graph_client_id, **common)
        except ev.SyncError:
            raise
        except ValueError as exc:  # MSAL could not read the authority's OpenID configuration
            raise ev.ConnectionProblem(
                f"The tenant of {p.authority} was not found: the sign-in service has no configuration for it. Check "
                "--tenant (a tenant id, or a domain such as contoso.com) and --authority.") from exc
        except requests.exceptions.SSLError as exc:
            raise ev.ConnectionProblem(f"The TLS certificate of {urlparse(p.authority).hostname} could not be "
                                       "verified. Give the CA to trust with --ca-file.") from exc
        except requests.exceptions.RequestException as exc:
            raise ev.ConnectionProblem(f"Cannot reach the sign-in service {p.authority} ({type(exc).__name__}). "
                                       "Check the address and your network.") from exc

    @property
    def app(self) -> msal.ClientApplication:
        if self._app is None:
            self._app = self._build_app()
        return self._app

    def _save_cache(self) -> None:
        if self.secrets is not None and self.cache.has_state_changed:
            self.secrets.set(self.profile.name, self.cache.serialize(), TOKEN_CACHE)
            self.cache.has_state_changed = False

    def _call(self, fn: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        self.requests += 1
        try:
            return fn()
        except requests.exceptions.SSLError as exc:
            raise ev.ConnectionProblem(f"The TLS certificate of {urlparse(self.profile.authority).hostname} could "
                                       "not be verified. Give the CA to trust with --ca-file.") from exc
        except requests.exceptions.RequestException as exc:
            raise ev.ConnectionProblem(f"Cannot reach the sign-in service {self.profile.authority} "
                                       f"({type(exc).__name__}). Try again later.") from exc
        except ValueError as exc:
            raise ev.ConnectionProblem(f"The sign-in service {self.profile.authority} gave an answer MSAL could "
                                       f"not use ({exc}).") from exc

    def token(self, force_refresh: bool = False) -> str:
        """A valid access token: from memory (until a minute before it expires), the cache (refreshed
        silently), or client credentials."""
        with self._lock:
            return self._acquire(force_refresh)

    def renew(self, refused: str) -> str:
        """A new token after the server refused ``refused`` (401): one refresh, however many requests
        in flight were refused it; a thread that comes later gets the token already renewed."""
        with self._lock:
            if self._token is not None and self._token[0] != refused:
                return self._acquire(False)
            return self._acquire(True)

    def _acquire(self, force_refresh: bool) -> str:
        """Under the lock: the token in memory unless ``force_refresh``, else a new one."""
        now = time.monotonic()
        if self._token and not force_refresh and self._token[1] > now + 60:
            return self._token[0]
        app = self.app
        scopes = graph_scopes(self.profile)
        if self.profile.graph_auth == "client_credentials":
            if force_refresh:  # MSAL would hand out the refused token again from its cache
                for entry in list(self.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN,
                                                    query={"client_id": self.profile.graph_client_id})):
                    self.cache.remove_at(entry)
            result = self._call(lambda: app.acquire_token_for_client(scopes))
        else:
            accounts = app.get_accounts(username=self.profile.email) or app.get_accounts()
            if not accounts:
                raise ev.ConnectionProblem(f"Not signed in to Microsoft 365 as {self.who}. "
                                           + SIGN_IN_AGAIN.format(email=self.profile.email))
            result = self._call(lambda: app.acquire_token_silent_with_error(
                scopes, account=accounts[0], force_refresh=force_refresh))
            if result is None:
                raise ev.ConnectionProblem(f"The sign-in for {self.who} has expired. "
                                           + SIGN_IN_AGAIN.format(email=self.profile.email))
        if "access_token" not in (result or {}):
            raise _explain(result or {}, self.profile, self.who)
        self._save_cache()
        assert result is not None
        self._token = (result["access_token"], now + float(result.get("expires_in", 300)))
        return self._token[0]

    def forget_token(self) -> None:
        with self._lock:
            self._token = None

    # --- the device code flow (a person) ---------------------------------------------------------

    def start_device_flow(self) -> DeviceCode:
        app = self.app
        flow = self._call(lambda: app.initiate_device_flow(scopes=graph_scopes(self.profile)))
        if not flow or "user_code" not in flow:
            raise _explain(flow or {}, self.profile, self.who)
        url = flow.get("verification_uri") or flow.get("verification_url") or ""
        return DeviceCode(url, flow["user_code"], flow.get("message") or f"Open {url} and enter {flow['user_code']}.",
                          float(flow.get("expires_at") or time.time() + float(flow.get("expires_in", 900))), flow)

    def finish_device_flow(self, device: DeviceCode, cancel: threading.Event | None = None) -> str:
        """Wait until the person signed in (or ``cancel`` is set: ConnectionProblem "cancelled").
        Returns the signed-in user name; the tokens are saved in the cache."""
        flow = device.flow
        if cancel is not None:
            # MSAL polls until flow["expires_at"]; setting it to 0 is its documented way to stop.
            def stop_on_cancel() -> None:
                if cancel.wait(max(0.0, device.expires_at - time.time())):
                    flow["expires_at"] = 0

            threading.Thread(target=stop_on_cancel, name="bcsync-device-code-cancel", daemon=True).start()
        result = self._call(lambda: self.app.acquire_token_by_device_flow(flow))
        if cancel is not None and cancel.is_set():
            raise ev.ConnectionProblem("The sign-in was cancelled; nothing was saved.")
        if "access_token" not in (result or {}):
            raise _explain(result or {}, self.profile, self.who)
        assert result is not None
        self._save_cache()
        self._token = (result["access_token"], time.monotonic() + float(result.get("expires_in", 300)))
        claims = result.get("id_token_claims") or {}
        return str(claims.get("preferred_username") or self.profile.email)


def device_sign_in(profile: Profile, secrets: Secrets, on_code: Any, cancel: threading.Event | None = None,
                   timeout: float = 30.0) -> str:
    """A person's sign-in: ``on_code(DeviceCode)`` shows the URL and code, then this waits until the
    sign-in completes (tokens saved where passwords go) or ``cancel`` is set. Returns the user name."""
    session = http_session(profile, deadline=timeout)
    try:
        auth = GraphAuth(profile, secrets, session, timeout=timeout)
        device = auth.start_device_flow()
        on_code(device)
        return auth.finish_device_flow(device, cancel)
    finally:
        session.close()


def signed_in(profile: Profile, secrets: Secrets) -> bool:
    """Whether the profile's token cache holds an account (a refresh token may still have expired)."""
    cached = secrets.get(profile.name, TOKEN_CACHE)
    if not cached:
        return False
    cache = msal.SerializableTokenCache()
    try:
        cache.deserialize(cached)
    except ValueError:
        return False
    return any(True for _ in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
