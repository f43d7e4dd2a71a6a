"""Who is asking: HTTP Basic and, when enabled, NTLM (what on-premises Exchange mostly offers) and
OAuth2 bearer tokens from the server's own client-credentials token endpoint (``TOKEN_PATH``; an
application token acts on a mailbox only through ExchangeImpersonation, as in Exchange Online).

NTLM authenticates a *connection* in three legs, as IIS does it:

1. a request without credentials gets 401 with ``WWW-Authenticate: NTLM`` (and Basic, if on);
2. ``Authorization: NTLM <negotiate>`` gets 401 with ``WWW-Authenticate: NTLM <challenge>``;
3. ``Authorization: NTLM <authenticate>`` is checked, and the request is served.

Later requests on that connection need no credentials. The cryptography is pyspnego's acceptor
(which exchangelib's NTLM client, requests_ntlm, also rests on); it reads the accounts from the
file named by ``NTLM_USER_FILE``, which is written privately and set only around each check.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

BASIC, NTLM, OAUTH2 = "basic", "ntlm", "oauth2"
#: where the token endpoint answers (client-credentials grant), beside /EWS/Exchange.asmx
TOKEN_PATH = "/oauth2/token"
#: the principal of an application token starts with this; it acts only by impersonation
APP_PREFIX = "app:"
_ENV_LOCK = threading.Lock()


def find_user(users: dict[str, str], name: str) -> str | None:
    """The e-mail of ``name`` given as an e-mail, ``DOMAIN\\local`` or the bare local part."""
    name = name.strip().lower()
    if "\\" in name:
        name = name.split("\\", 1)[1]
    candidates = [e for e in users if e.lower() == name]
    if not candidates and "@" not in name:
        candidates = [e for e in users if e.lower().split("@", 1)[0] == name]
    return candidates[0] if len(candidates) == 1 else None


def _basic_pair(token: str) -> tuple[str, str] | None:
    """(name, password) of an HTTP Basic credential, or None if it does not decode."""
    try:
        name, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return name, password


class Authenticator:
    def __init__(self, users: dict[str, str], realm: str, schemes: tuple[str, ...] = (BASIC,),
                 oauth_clients: dict[str, str] | None = None):
        unknown = set(schemes) - {BASIC, NTLM, OAUTH2}
        if unknown or not schemes:
            raise ValueError(f"authentication schemes are {BASIC!r}, {NTLM!r} and {OAUTH2!r}, not {sorted(unknown)}")
        self.users, self.realm, self.schemes = users, realm, tuple(schemes)
        #: OAuth2 applications: client id -> client secret
        self.oauth_clients: dict[str, str] = dict(oauth_clients or {})
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (client id, expiry)
        self._ntlm_dir: tempfile.TemporaryDirectory[str] | None = None
        self._ntlm_file: Path | None = None
        self._ntlm_written: dict[str, str] = {}

    def challenges(self) -> list[str]:
        """The WWW-Authenticate values of a 401, strongest first as IIS lists them."""
        offers = {OAUTH2: "Bearer", NTLM: "NTLM", BASIC: f'Basic realm="{self.realm}"'}
        return [offers[s] for s in (OAUTH2, NTLM, BASIC) if s in self.schemes]

    def check(self, h: BaseHTTPRequestHandler) -> tuple[str | None, str | None]:
        """(the user, None) when authenticated; (None, an NTLM challenge to send) in the middle of a
        handshake; (None, None) when refused."""
        header = h.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if scheme == BASIC and BASIC in self.schemes:
            return self._basic(token), None
        if scheme in (NTLM, "negotiate") and NTLM in self.schemes:
            return self._ntlm_step(h, token.strip())
        if scheme == "bearer" and OAUTH2 in self.schemes:
            client, expiry = self._tokens.get(token.strip(), ("", 0.0))
            return (APP_PREFIX + client if client and expiry > time.time() else None), None
        return getattr(h, "bcsync_user", None), None  # a connection NTLM authenticated earlier

    def issue_token(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        """The client-credentials grant (RFC 6749 §4.4): the client authenticates with HTTP Basic
        or with client_id/client_secret in the form; the answer is a JSON token or an error."""
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        client, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = h.headers.get("Authorization") or ""
        if header[:6].lower() == "basic ":
            client, secret = (urllib.parse.unquote(x) for x in _basic_pair(header[6:]) or ("", ""))
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "only client_credentials"}
        if OAUTH2 not in self.schemes or not client or self.oauth_clients.get(client) != secret:
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (client, time.time() + 3600)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                     "scope": form.get("scope", "")}

    def _basic(self, token: str) -> str | None:
        name, password = _basic_pair(token) or ("", "")
        user = find_user(self.users, name)
        return user if user is not None and self.users[user] == password else None

    def _ntlm_step(self, h: BaseHTTPRequestHandler, token: str) -> tuple[str | None, str | None]:
        import spnego
        import spnego.exceptions

        try:
            data = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return None, None
        context = getattr(h, "bcsync_ntlm", None)
        try:
            with _ENV_LOCK:  # pyspnego's acceptor reads its accounts from this variable
                saved = os.environ.get("NTLM_USER_FILE")
                os.environ["NTLM_USER_FILE"] = str(self._accounts_file())
                try:
                    if context is None or data[8:12] == b"\x01\x00\x00\x00":  # NEGOTIATE starts afresh
                        context = h.bcsync_ntlm = spnego.server(protocol="ntlm")  # type: ignore[attr-defined]
                    answer = context.step(data)
                finally:
                    if saved is None:
                        os.environ.pop("NTLM_USER_FILE", None)
                    else:
                        os.environ["NTLM_USER_FILE"] = saved
        except (spnego.exceptions.SpnegoError, ValueError):
            h.bcsync_ntlm = None  # type: ignore[attr-defined]
            return None, None
        if not context.complete:
            return None, base64.b64encode(answer or b"").decode()
        h.bcsync_ntlm = None  # type: ignore[attr-defined]
        user = find_user(self.users, context.client_principal or "")
        h.bcsync_user = user  # type: ignore[attr-defined]
        return user, None

    def _accounts_file(self) -> Path:
        """pyspnego's account file in its smbpasswd form (the NT hash: a password may hold a colon),
        one line as ``user@domain`` and one as ``DOMAIN\\local``, in a private temporary
        directory, rewritten when the users change."""
        from spnego._ntlm_raw.crypto import ntowfv1  # the hash pyspnego's own acceptor computes

        if self._ntlm_dir is None:
            self._ntlm_dir = tempfile.TemporaryDirectory(prefix="bcsync-ntlm-")
            self._ntlm_file = Path(self._ntlm_dir.name) / "users"
        assert self._ntlm_file is not None
        if self._ntlm_written != self.users:
            lines = []
            for email, password in self.users.items():
                local, _, domain = email.partition("@")
                nt_hash = ntowfv1(password).hex().upper()
                for account in (email, f"{domain.split('.')[0].upper()}\\{local}"):
                    lines.append(f"{account}:1000:{'0' * 32}:{nt_hash}:[U]:LCT-00000000")
            fd = os.open(self._ntlm_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            self._ntlm_written = dict(self.users)
        return self._ntlm_file

    def close(self) -> None:
        if self._ntlm_dir is not None:
            self._ntlm_dir.cleanup()
            self._ntlm_dir = None
