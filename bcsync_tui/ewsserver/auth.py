"""Who is asking: HTTP Basic and, when enabled, NTLM (what on-premises Exchange mostly offers).

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
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

BASIC, NTLM = "basic", "ntlm"
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


class Authenticator:
    def __init__(self, users: dict[str, str], realm: str, schemes: tuple[str, ...] = (BASIC,)):
        unknown = set(schemes) - {BASIC, NTLM}
        if unknown or not schemes:
            raise ValueError(f"authentication schemes are {BASIC!r} and {NTLM!r}, not {sorted(unknown)}")
        self.users, self.realm, self.schemes = users, realm, tuple(schemes)
        self._ntlm_dir: tempfile.TemporaryDirectory[str] | None = None
        self._ntlm_file: Path | None = None
        self._ntlm_written: dict[str, str] = {}

    def challenges(self) -> list[str]:
        """The WWW-Authenticate values of a 401, strongest first as IIS lists them."""
        return [{NTLM: "NTLM", BASIC: f'Basic realm="{self.realm}"'}[s] for s in (NTLM, BASIC) if s in self.schemes]

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
        return getattr(h, "bcsync_user", None), None  # a connection NTLM authenticated earlier

    def _basic(self, token: str) -> str | None:
        try:
            name, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
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
