"""The entry points the TUI and the CLI use: a blocking sync, its asyncio twin, connection checks.

The EWS adapter (and so exchangelib, ~0.7 s to import) is loaded only when a sync or a check
really needs it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..paths import Paths
from ..profiles import Profile
from ..records import RunRecord
from ..secrets import SecretStore
from ..store import Store
from . import events as ev
from .engine import ProgressCallback, SyncRun, TransportFactory
from .events import Coalescer
from .transport import Transport


def _secrets_for(store: Store, secrets: SecretStore | None) -> SecretStore:
    """Where `bcsync setup` put the profile's secret: beside the store with --home, else the config dir."""
    if secrets is not None:
        return secrets
    default = Paths.resolve()
    if store.path.parent == default.data_dir:
        return SecretStore(default.secrets_file)
    return SecretStore(Paths.resolve(store.path.parent).secrets_file)


def ews_factory(secrets: SecretStore, timeout: float = 30.0) -> TransportFactory:
    def make(profile: Profile) -> Transport:
        if profile.transport == "graph":
            from .graph import GraphTransport

            return GraphTransport(profile, secrets, client_secret=secrets.get(profile.name), timeout=timeout)
        from .ews import EwsTransport

        return EwsTransport(profile, secrets.get(profile.name), timeout=timeout)

    return make


#: glibc's mallopt parameters: the most malloc arenas a process keeps; the size from which a block
#: gets pages of its own (mmap) instead of a place in the heap
_M_ARENA_MAX, _M_MMAP_THRESHOLD = -8, -3


def tune_malloc(arenas: int = 1, mmap_from: int = 128 * 1024) -> bool:
    """Keep a long sync's memory from fragmenting (glibc only; False elsewhere, nothing done).

    glibc gives each thread that allocates an arena of its own (up to eight per core): a sync's
    request threads allocate their XML there (lxml uses malloc), and what they free stays in arenas
    no other thread reuses. With the GIL serialising most allocation, one is enough (bench/sync.py:
    the same client CPU with one arena as with two). And glibc raises its mmap threshold each time
    a big block is freed, so the next requests' and answers' buffers (a few hundred KB each) land in
    the heap between records that live on, and leave holes there; a fixed threshold keeps them in
    pages of their own, returned when freed.
    Together ~15 MiB of a first sync of 50,000 (bench/sync.py measures the peak)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):  # no such C function, or no C library to ask
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_from))


def sync_blocking(store: Store, profile_name: str, *, mode: str = "incremental", dry_run: bool = False,
                  force: bool = False, on_progress: ProgressCallback | None = None,
                  cancel: threading.Event | None = None, secrets: SecretStore | None = None,
                  transport_factory: TransportFactory | None = None, batch: int | None = None) -> RunRecord:
    """Run one sync and return its run record. Raises events.StoreLocked if another sync runs.
    ``batch``: items per write batch (one store transaction, one cancel point); None: the transport's own."""
    factory = transport_factory or ews_factory(_secrets_for(store, secrets))
    tune_malloc()  # before the run starts its request threads
    progress = Coalescer(on_progress) if on_progress else None
    return SyncRun(store, profile_name, factory, mode=mode, dry_run=dry_run, force=force,
                   on_progress=progress, cancel=cancel, batch=batch).execute()


async def run_sync(store: Store, profile_name: str, **kwargs: Any) -> RunRecord:
    """``sync_blocking`` in a worker thread; set the ``cancel`` event to stop at the next safe point.
    (The TUI runs the same engine through ``child.sync_in_child`` instead, so that the engine's
    CPU work cannot hold the GIL against the keyboard.)"""
    return await asyncio.to_thread(sync_blocking, store, profile_name, **kwargs)


def validate_connection(profile: Profile, secret: str | None, timeout: float = 10.0,
                        secrets: SecretStore | None = None) -> tuple[bool, str]:
    """BC's "Validate Exchange Connection": (True, "Connected successfully to Exchange.") or a
    specific failure that says what to do. A Graph profile also needs ``secrets`` (its token cache)."""
    errors = profile.validate()
    if errors:
        field, message = next(iter(errors.items()))
        return False, f"The setup is incomplete: {field} {message}."
    if not profile.email:
        return False, "Enter the mailbox e-mail address first."
    if profile.transport == "graph":
        from .graph import validate_graph

        return validate_graph(profile, secrets, secret, timeout)
    try:
        from .ews import EwsTransport

        transport = EwsTransport(profile, secret, timeout=timeout, max_retry_seconds=0, request_deadline=timeout)
        try:
            transport.connect()
            # Looked up by name, never taken from the stored id: with a known server version, connect()
            # sends nothing, and a check must ask the server (a wrong password, a dead or frozen server).
            folder = transport.ensure_folder(profile.folder_name, None, create=False)
        finally:
            transport.close()
    except ev.SyncError as exc:
        return False, str(exc)
    where = "exists" if folder.folder_id else "will be created at the first sync"
    return True, f"Connected successfully to Exchange. The folder '{profile.folder_name}' {where}."
