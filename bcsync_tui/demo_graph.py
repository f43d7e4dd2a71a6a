"""`bcsync demo --graph`: the demo over the loopback Microsoft Graph server, as Exchange Online users
will have it — including the device code sign-in, which the demo shows and then approves by itself.

The Graph server serves the demo's own mailbox (shared with the demo's EWS server, which keeps the
mailbox file and serves `bcsync demo outlook ...`), so nothing else about the demo changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .core.profiles import Profile, needs_sign_in, save_profile
from .core.store import Store

#: seconds the demo shows the code before it "enters" it itself
APPROVE_AFTER = 1.5


def start_graph(ews_server: Any) -> Any:
    """A loopback Graph server (https, its own CA) on the demo EWS server's mailboxes."""
    from .graphserver import LoopbackGraph

    return LoopbackGraph(share=ews_server, tls=True).start()


def point_profile(store: Store, profile: Profile, graph: Any | None) -> Profile:
    """The demo profile over Graph (``graph``) or back over EWS (None); returns it as it was before."""
    before = Profile.from_doc(profile.to_doc())
    if graph is None:
        wanted = {"transport": "ews"}
    else:
        wanted = {"transport": "graph", "graph_auth": "device_code", "graph_url": graph.graph_url,
                  "graph_authority": graph.authority("organizations"), "ca_file": graph.ca_file or "",
                  "oauth_client_id": graph.public_client_id, "oauth_tenant_id": ""}
    if any(getattr(profile, k) != v for k, v in wanted.items()):
        for key, value in wanted.items():
            setattr(profile, key, value)
        profile.state.pop("folder_id", None)  # ids and delta links of one protocol mean nothing to the other
        profile.state.pop("sync_state", None)
        save_profile(store, profile)
    return before


def sign_in(profile: Profile, before: Profile, secrets: Any, graph: Any, user: str,
            say: Callable[[str], None] = print) -> None:
    """The device code sign-in a new user sees with Microsoft 365; the demo approves it itself."""
    from .core.sync.graph_auth import device_sign_in

    if not needs_sign_in(profile, before, secrets):
        return

    def show(device: Any) -> None:
        say(f"Signing in to the demo's Microsoft 365 as {user}: open {device.url} and enter the code {device.code}")
        say("(the demo enters the code by itself in a moment, as you would in your browser)")
        timer = threading.Timer(APPROVE_AFTER, graph.approve_device_code, args=(device.code, user))
        timer.daemon = True
        timer.start()

    say(f"Signed in as {device_sign_in(profile, secrets, show)}; the demo syncs over Microsoft Graph.")
