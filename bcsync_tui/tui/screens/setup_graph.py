"""The Exchange setup's Microsoft 365 part: choosing the service, the Graph settings, and the device
code sign-in shown in the dialog (it continues on its own once the person has signed in).

MSAL is loaded only when a sign-in starts (in a daemon thread), never to draw the dialog."""

from __future__ import annotations

import threading
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Static

from ...core.profiles import DEFAULT_GRAPH_CLIENT_ID, Profile

TRANSPORT_LABELS = {"graph": "Exchange Online (Microsoft 365)", "ews": "Exchange Server (on-premises)"}
#: rows shown only for one service (the OAuth client and tenant rows serve both)
EWS_ROWS = ("server_url", "auth_type", "username", "password", "oauth_token_url")
GRAPH_ROWS = ("graph_authority", "graph_url", "ca_file", "sign-in")
#: mail domains that are Microsoft 365 / Outlook.com for sure
_ONLINE_DOMAINS = ("onmicrosoft.com", "outlook.com", "hotmail.com", "live.com", "msn.com")


def suggest_transport(email: str, server_url: str) -> tuple[str, str]:
    """(transport, why) suggested from the address: an EWS URL means a server of one's own; a
    Microsoft 365 domain, or any other address, Exchange Online (where most mailboxes live)."""
    domain = email.rpartition("@")[2].lower()
    if server_url.strip():
        return "ews", "an EWS server URL is set"
    if any(domain == d or domain.endswith("." + d) for d in _ONLINE_DOMAINS):
        return "graph", f"{domain} is a Microsoft 365 domain"
    return "graph", "most mailboxes are in Microsoft 365; choose Exchange Server if yours is on-premises"


def graph_rows(form: Any, p: Profile) -> ComposeResult:
    """The Graph-only rows of the Exchange setup (``form.row`` lays out one row)."""
    yield from form.row("graph_authority", "Sign-in authority",
                        Input(p.graph_authority, id="graph_authority", compact=True,
                              placeholder="blank = https://login.microsoftonline.com/TENANT"),
                        hint="for national clouds and test servers; the tenant and app id are the OAuth rows")
    yield from form.row("graph_url", "Graph URL", Input(p.graph_url, id="graph_url", compact=True,
                                                        placeholder="blank = https://graph.microsoft.com/v1.0"))
    yield from form.row("ca_file", "Extra CA file", Input(p.ca_file, id="ca_file", compact=True,
                                                          placeholder="blank = the system's CAs only"))
    yield Static("", id="sign-in", markup=False)


def graph_values(form: Any) -> dict[str, str]:
    return {k: form.query_one(f"#{k}", Input).value.strip() for k in ("graph_authority", "graph_url", "ca_file")}


def client_hint(p: Profile) -> str:
    return f"blank = {DEFAULT_GRAPH_CLIENT_ID} (Microsoft Graph Command Line Tools)" if p.transport == "graph" else ""


class DeviceSignIn:
    """One device code sign-in in a daemon thread. ``on_code(url, code)``, then ``on_done(user)``
    or ``on_error(message)`` are called on the UI thread through ``call``."""

    def __init__(self, profile: Profile, secrets: Any, call: Any, on_code: Any, on_done: Any, on_error: Any):
        self.profile, self.secrets, self.call = profile, secrets, call
        self.on_code, self.on_done, self.on_error = on_code, on_done, on_error
        self.cancel = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="bcsync-sign-in", daemon=True).start()

    def _run(self) -> None:
        from ...core.sync import events as ev
        from ...core.sync.graph_auth import device_sign_in

        try:
            user = device_sign_in(self.profile, self.secrets,
                                  lambda device: self.call(self.on_code, device.url, device.code), self.cancel)
        except ev.SyncError as exc:
            if not self.cancel.is_set():
                self.call(self.on_error, str(exc))
            return
        except Exception as exc:  # a sign-in problem not yet put in words: still shown, never a crash
            self.call(self.on_error, f"The sign-in failed: {type(exc).__name__}: {exc}")
            return
        if not self.cancel.is_set():
            self.call(self.on_done, user)
