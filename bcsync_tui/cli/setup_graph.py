"""``bcsync setup --transport graph``: the device code sign-in in a terminal, and what ``--show``
says about a Graph profile. MSAL is imported only when a sign-in really runs."""

from __future__ import annotations

import sys
import threading
from typing import Any

from ..core.profiles import DEFAULT_GRAPH_CLIENT_ID, Profile
from .main import EXIT_INTERRUPTED, CliError, Context
from .output import say

def sign_in(ctx: Context, profile: Profile, secrets: Any) -> None:
    """Show the device code and wait for the person to sign in; Ctrl-C cancels (nothing saved)."""
    from ..core.sync import events as ev
    from ..core.sync.graph_auth import DeviceCode, device_sign_in

    out = sys.stderr if ctx.json else sys.stdout

    def show(device: DeviceCode) -> None:
        print(f"To sign in to Microsoft 365 as {profile.email}, open {device.url} in a browser and enter the "
              f"code {device.code}", file=out)
        print("Waiting for the sign-in to complete (Ctrl-C cancels)...", file=out, flush=True)

    cancel = threading.Event()
    try:
        user = device_sign_in(profile, secrets, show, cancel, timeout=ctx.args.timeout)
    except KeyboardInterrupt:
        cancel.set()
        raise CliError("sign-in cancelled; nothing was saved", code=EXIT_INTERRUPTED) from None
    except ev.SyncError as exc:
        raise CliError(f"{exc} Nothing was saved.") from exc
    if not ctx.json:
        say(f"Signed in as {user}; the sign-in is kept in {secrets.where} and renewed silently.")


def graph_rows(profile: Profile, secrets: Any, secret_set: bool) -> list[tuple[str, str]]:
    """The connection lines of ``setup --show`` for a Graph profile."""
    if profile.graph_auth == "client_credentials":
        credential = (f"certificate {profile.graph_certificate}" if profile.graph_certificate else
                      f"client secret stored in {secrets.where}" if secret_set else
                      "client secret not set (use --client-secret-stdin)")
        auth = f"application (client credentials), {credential}"
    else:
        from ..core.sync.graph_auth import signed_in

        state = f"signed in (kept in {secrets.where})" if signed_in(profile, secrets) else \
            "not signed in (run `bcsync setup --sign-in`)"
        auth = f"a person (device code), {state}"
    client = profile.oauth_client_id or f"{DEFAULT_GRAPH_CLIENT_ID} (Microsoft Graph Command Line Tools)"
    rows = [("Sign-in", auth), ("Application", client), ("Authority", profile.authority), ("Graph", profile.graph_root)]
    if profile.ca_file:
        rows.append(("Extra CA", profile.ca_file))
    return rows
