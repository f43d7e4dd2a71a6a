"""Sign-in as the Microsoft identity platform does it, enough for MSAL to use this server as its authority.

Served under ``ROOT/{tenant}`` (a tenant GUID, ``common``, ``organizations`` or a user's domain):

* ``GET  /{tenant}/v2.0/.well-known/openid-configuration`` -- what MSAL reads first (with
  ``instance_discovery=False`` it asks nothing else);
* ``POST /{tenant}/oauth2/v2.0/devicecode`` -- starts a device-code sign-in (public clients);
* ``POST /{tenant}/oauth2/v2.0/token`` -- grants ``client_credentials`` (registered applications with a
  secret; an application token), ``urn:ietf:params:oauth:grant-type:device_code`` (``authorization_pending``
  until approved, then a delegated token with a refresh token, ``id_token`` and ``client_info`` so MSAL
  keeps an account) and ``refresh_token`` (the refresh token rotates).

Access tokens are opaque random strings checked by :meth:`TokenService.principal`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from .assertion import verify_assertion
from .errors import OAuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ASSERTED = "<a verified client assertion>"  # the credential of a request that signed in with a certificate


@dataclass
class Principal:
    """Who a bearer token speaks for: a user (delegated) or an application."""

    client_id: str
    user: str | None  # the user's e-mail for delegated tokens, None for application tokens
    expires: float
    scopes: tuple[str, ...] = ()
    #: application tokens: whether an admin consented to the app's permissions (no: a token without roles)
    consented: bool = True
    #: application tokens: mailboxes outside the app's Exchange RBAC scope (the tenant's live set)
    denied: set[str] = field(default_factory=set)

    def may_open(self, email: str) -> bool:
        """Whether an application token may open ``email``'s mailbox (delegated: checked by the caller)."""
        return self.delegated or (self.consented and email.lower() not in self.denied)

    @property
    def delegated(self) -> bool:
        return self.user is not None


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    expires: float
    user: str | None = None  # set when approved
    declined: bool = False
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user: str
    scopes: tuple[str, ...]


@dataclass
class Clients:
    """Registered applications: confidential ones (id -> secret, id -> certificate PEM) and public ones
    (device code allowed); and what the tenant's admin did to them."""

    secrets: dict[str, str] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    certificates: dict[str, str] = field(default_factory=dict)
    expired_secrets: set[str] = field(default_factory=set)
    #: applications without consent to their permissions
    unconsented: set[str] = field(default_factory=set)
    #: mailboxes (lower case) application tokens may not open (outside their RBAC scope)
    denied_mailboxes: set[str] = field(default_factory=set)

    def known(self, client_id: str) -> bool:
        return client_id in self.secrets or client_id in self.public or client_id in self.certificates


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def user_object_id(email: str) -> str:
    """A user's stable object id (the ``oid`` claim and Graph's user id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bcsync-loopback-user:" + email.lower()))


class TokenService:
    def __init__(self, users: dict[str, str], clients: Clients, tenant_id: str, *,
                 token_lifetime: int = 3600, device_interval: int = 1, device_lifetime: int = 900):
        #: user e-mail (lower case) -> e-mail as registered
        self.users = users
        self.clients = clients
        self.tenant_id = tenant_id
        self.token_lifetime = token_lifetime
        self.device_interval, self.device_lifetime = device_interval, device_lifetime
        self.auto_approve: bool | str = False
        self._lock = threading.Condition()
        self._tokens: dict[str, Principal] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._devices: dict[str, DeviceCode] = {}

    # --- the API tests use ------------------------------------------------------------------------
    def approve(self, user_code: str | None, user: str, timeout: float = 10.0) -> int:
        """Approve the pending device code ``user_code`` (None: every pending one) for ``user``; waits up to
        ``timeout`` seconds for a code to be pending. Returns how many were approved."""
        email = self._user(user)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                pending = [d for d in self._devices.values() if d.user is None and not d.declined
                           and d.expires > time.time() and (user_code is None or d.user_code == user_code.upper())]
                if pending or time.monotonic() >= deadline:
                    break
                self._lock.wait(max(0.0, deadline - time.monotonic()))
            for d in pending:
                d.user = email
            return len(pending)

    def decline(self, user_code: str | None = None) -> int:
        with self._lock:
            pending = [d for d in self._devices.values() if d.user is None and
                       (user_code is None or d.user_code == user_code.upper())]
            for d in pending:
                d.declined = True
            return len(pending)

    def expire_tokens(self, refresh: bool = False) -> None:
        """Every access token issued so far expires now; with ``refresh`` the refresh tokens are revoked too."""
        with self._lock:
            for p in self._tokens.values():
                p.expires = 0.0
            if refresh:
                self._refresh.clear()

    def principal(self, token: str) -> Principal | None:
        """The principal of a valid access token; None for an unknown one. An expired one is returned
        with ``expires`` in the past (the caller says "expired")."""
        with self._lock:
            return self._tokens.get(token)

    # --- endpoints --------------------------------------------------------------------------------
    def tenant_known(self, tenant: str) -> bool:
        t = tenant.lower()
        if t in ("common", "organizations", "consumers", self.tenant_id) or _GUID.match(t):
            return True
        domains = {e.split("@", 1)[1] for e in self.users}
        return t in domains or t.removesuffix(".onmicrosoft.com") in {d.split(".")[0] for d in domains}

    def openid_configuration(self, root: str, tenant: str) -> dict:
        base = f"{root}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{root}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/{self.tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{root}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "tid", "ver",
                                 "oid", "preferred_username"],
            "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
        }

    def device_code(self, root: str, form: dict[str, str]) -> dict:
        client = form.get("client_id", "")
        if not self.clients.known(client):
            raise self._unknown_client(client)
        code = DeviceCode(secrets.token_urlsafe(48), "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
                          client, tuple(form.get("scope", "").split()), time.time() + self.device_lifetime)
        with self._lock:
            self._devices[code.device_code] = code
            if self.auto_approve:
                code.user = self._user(self.auto_approve) if isinstance(self.auto_approve, str) else \
                    next(iter(self.users.values()))
            self._lock.notify_all()
        uri = f"{root}/devicelogin"
        return {"user_code": code.user_code, "device_code": code.device_code, "verification_uri": uri,
                "expires_in": self.device_lifetime, "interval": self.device_interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
                           f"{code.user_code} to authenticate."}

    def token(self, root: str, form: dict[str, str], basic: tuple[str, str] | None, endpoint: str = "") -> dict:
        """Answer a token request; ``endpoint`` is the token endpoint asked (a client assertion's audience)."""
        grant = form.get("grant_type", "")
        client, secret = form.get("client_id", ""), form.get("client_secret")
        if basic is not None:
            client, secret = basic
        if "client_assertion" in form:
            if not self.clients.known(client):
                raise self._unknown_client(client)
            verify_assertion(client, self.clients.certificates.get(client), form["client_assertion"],
                             form.get("client_assertion_type", ""),
                             [endpoint, f"{root}/{self.tenant_id}/oauth2/v2.0/token"])
            secret = ASSERTED
        if grant == "client_credentials":
            return self._client_credentials(client, secret, form.get("scope", ""))
        if grant == DEVICE_GRANT:
            return self._device_grant(root, client, secret, form.get("device_code", ""))
        if grant == "refresh_token":
            return self._refresh_grant(root, client, secret, form.get("refresh_token", ""), form.get("scope", ""))
        if not grant:
            raise OAuthError(400, "invalid_request", 900144, "The request body must contain the following "
                             "parameter: 'grant_type'.")
        raise OAuthError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type "
                         f"'{grant}'.")

    # --- grants -----------------------------------------------------------------------------------
    def _client_credentials(self, client: str, secret: str | None, scope: str) -> dict:
        if not self.clients.known(client):
            raise self._unknown_client(client)
        if secret is ASSERTED:
            pass
        elif client not in self.clients.secrets or not secret or not secrets.compare_digest(
                self.clients.secrets[client].encode(), secret.encode()):
            raise OAuthError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                             "being sent in the request is the client secret value, not the client secret ID, "
                             f"for a secret added to app '{client}'.")
        elif client in self.clients.expired_secrets:
            raise OAuthError(401, "invalid_client", 7000222, f"The provided client secret keys for app '{client}' "
                             "are expired. Visit the Azure portal to create new keys for your app: "
                             "https://aka.ms/NewClientSecret, or consider using certificate credentials for added "
                             "security: https://aka.ms/certCreds.")
        scopes = tuple(scope.split())
        if not scopes or any(not s.endswith("/.default") for s in scopes):
            raise OAuthError(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                             "Client credential flows must have a scope value with /.default suffixed to the "
                             "resource identifier (application ID URI).")
        # without admin consent Entra still issues the token, without roles: Graph then answers 403
        token = self._issue(Principal(client, None, time.time() + self.token_lifetime, scopes,
                                      client not in self.clients.unconsented, self.clients.denied_mailboxes))
        return {"token_type": "Bearer", "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
                "access_token": token}

    def _device_grant(self, root: str, client: str, secret: str | None, device_code: str) -> dict:
        with self._lock:
            code = self._devices.get(device_code)
            if code is None or code.client_id != client or code.redeemed:
                raise OAuthError(400, "invalid_grant", 70000, "The provided value for the input parameter "
                                 "'device_code' is not valid.")
            if code.expires <= time.time():
                raise OAuthError(400, "expired_token", 70020, "The provided value for the input parameter "
                                 "'device_code' is not valid. This device code has expired.")
            if code.declined:
                raise OAuthError(400, "authorization_declined", 70000, "The user declined the sign-in.")
            if code.user is None:
                raise OAuthError(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. "
                                 "Authorization is pending. Continue polling.")
            if client not in self.clients.public and not secret:
                raise OAuthError(401, "invalid_client", 7000218, "The request body must contain the following "
                                 "parameter: 'client_assertion' or 'client_secret'.")
            if client in self.clients.unconsented:
                raise _consent_required(client)
            code.redeemed = True
            return self._delegated(root, client, code.user, code.scopes)

    def _refresh_grant(self, root: str, client: str, secret: str | None, refresh: str, scope: str) -> dict:
        with self._lock:
            grant = self._refresh.pop(refresh, None)
        if grant is None or grant.client_id != client:
            raise OAuthError(400, "invalid_grant", 70008, "The provided authorization code or refresh token has "
                             "expired due to inactivity. Send a new interactive authorization request for this "
                             "user and resource.")
        if client not in self.clients.public and not secret:
            raise OAuthError(401, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        if client in self.clients.unconsented:  # consent withdrawn since the sign-in
            raise _consent_required(client)
        return self._delegated(root, client, grant.user, tuple(scope.split()) or grant.scopes)

    def _delegated(self, root: str, client: str, user: str, scopes: tuple[str, ...]) -> dict:
        now = int(time.time())
        resource = tuple(s for s in scopes if s.lower() not in RESERVED_SCOPES)
        token = self._issue(Principal(client, user, now + self.token_lifetime, resource))
        refresh = secrets.token_urlsafe(64)
        with self._lock:
            self._refresh[refresh] = RefreshGrant(client, user, scopes)
        oid = user_object_id(user)
        claims = {"aud": client, "iss": f"{root}/{self.tenant_id}/v2.0", "iat": now, "nbf": now,
                  "exp": now + self.token_lifetime, "name": user.split("@", 1)[0].replace(".", " ").title(),
                  "oid": oid, "preferred_username": user, "sub": _b64url(uuid.uuid5(uuid.UUID(oid), client).bytes),
                  "tid": self.tenant_id, "ver": "2.0"}
        id_token = ".".join((_b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "loopback"}).encode()),
                             _b64url(json.dumps(claims).encode()), _b64url(secrets.token_bytes(32))))
        return {"token_type": "Bearer", "scope": " ".join(scopes), "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime, "access_token": token, "refresh_token": refresh,
                "id_token": id_token,
                "client_info": _b64url(json.dumps({"uid": oid, "utid": self.tenant_id}).encode())}

    # --- helpers ----------------------------------------------------------------------------------
    def _issue(self, principal: Principal) -> str:
        token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(40)
        with self._lock:
            self._tokens[token] = principal
        return token

    def _user(self, user: str) -> str:
        email = self.users.get(user.lower())
        if email is None:
            raise KeyError(f"no user {user!r}")
        return email

    def _unknown_client(self, client: str) -> OAuthError:
        return OAuthError(400, "unauthorized_client", 700016, f"Application with identifier '{client}' was not "
                          f"found in the directory '{self.tenant_id}'. This can happen if the application has not "
                          "been installed by the administrator of the tenant or consented to by any user in the "
                          "tenant.")


def _consent_required(client: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", 65001, f"The user or administrator has not consented to use the "
                      f"application with ID '{client}' named 'bcsync'. Send an interactive authorization request "
                      "for this user and resource.", suberror="consent_required")


def parse_form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
