"""The bcsync terminal app: contact list, sync setup, filters, sync with progress, run history.

The app owns the store (read from memory, polled for other processes' writes), the profile, and
the one sync that may run at a time (manual or automatic); screens bind to those attributes.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterable
from datetime import datetime

from textual import on, work
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..core.history import list_runs
from ..core.paths import Paths
from ..core.profiles import Profile, get_or_new_profile
from ..core.records import RunRecord, RunStatus
from ..core.secrets import SecretStore
from ..core.store import Store
from ..core.sync.events import Progress, StoreLocked
from . import commands as cmd
from .errors import explain
from .messages import SyncFinished, SyncProgressed
from .settings import load_settings, save_settings
from .threads import in_daemon_thread

#: how often the app looks for other processes' writes to the store (two stat calls)
STORE_POLL_SECONDS = 1.0
#: how often it checks whether an automatic sync is due
AUTO_SYNC_CHECK_SECONDS = 15.0
#: after an automatic sync found the store locked (e.g. a CLI sync), try again this much later
AUTO_SYNC_RETRY_SECONDS = 60.0
#: progress reaches the screen at most this often
PROGRESS_INTERVAL = 0.1
#: quitting waits at most this long for a cancelled sync to reach a safe point
QUIT_GRACE_SECONDS = 2.0


def parse_time(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


class BcsyncApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "bcsync"
    BINDINGS = cmd.bindings(cmd.HELP, cmd.QUIT, cmd.PALETTE)

    #: bumped when the store's data changed (own writes, a sync, another process)
    generation: var[int] = var(0)
    profile: var[Profile] = var(lambda: Profile(name=""), always_update=True)
    #: the newest run of this profile, real runs only
    last_run: var[RunRecord | None] = var(None)
    sync_running: var[bool] = var(False)
    #: the mode of the running sync, and whether it is a dry run (for the progress panel)
    sync_kind: var[str] = var("")
    #: (progress, monotonic time it arrived) of the running sync
    sync_progress: var[tuple[Progress, float] | None] = var(None)
    next_auto_sync: var[float | None] = var(None)

    def __init__(self, paths: Paths, profile: str, store: Store | None = None):
        super().__init__()
        self.paths = paths
        self.profile_name = profile
        # Its records as read, not compacted: the first screen ~0.2 s sooner at 50,000 contacts, for
        # ~14 MiB (the TUI stays far under its memory budget; a sync runs in a child process).
        self.store = store if store is not None else Store.open(paths.ensure(), compact_records=False)
        # The data the first screen is built from: the first poll must not see a "change" and rebuild it.
        self.set_reactive(BcsyncApp.generation, self.store.storage.generation)
        self.secrets = SecretStore(paths.secrets_file)
        self.sync_cancel: threading.Event | None = None
        self._reloading = False
        self._auto_retry_at: float | None = None
        settings = load_settings(paths)
        if settings.get("theme") in self.available_themes:
            self.theme = settings["theme"]
        self.sort_setting = (str(settings.get("sort", "no")), bool(settings.get("sort_reverse", False)))

    # --- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sub_title = f"profile {self.profile_name}"
        self.reload_profile()
        self.refresh_runs()
        from .screens.contacts import ContactsScreen

        self.push_screen(ContactsScreen())
        self.set_interval(STORE_POLL_SECONDS, self.poll_store)
        self.set_interval(AUTO_SYNC_CHECK_SECONDS, self.check_auto_sync)

    def on_unmount(self) -> None:
        if self.sync_cancel is not None:
            self.sync_cancel.set()

    def watch_theme(self, theme: str) -> None:
        if self.is_mounted:
            save_settings(self.paths, theme=theme)

    def save_sort(self, key: str, reverse: bool) -> None:
        self.sort_setting = (key, reverse)
        save_settings(self.paths, sort=key, sort_reverse=reverse)

    # --- the store ------------------------------------------------------------------------------

    def poll_store(self) -> None:
        """Pick up writes by other processes (and this app's own); cheap when nothing changed.
        While a sync runs its writes are picked up once at the end, so the list does not rebuild
        every second under the user's hands. A whole reload (another process compacted the store)
        happens in a thread, so the keyboard stays live meanwhile."""
        if self.sync_running or self._reloading:
            return
        storage = self.store.storage
        if storage.reload_needed():
            self._reloading = True
            self._reload_store()
            return
        storage.refresh()
        self._store_changed()

    @work(group="store", exit_on_error=False)
    async def _reload_store(self) -> None:
        try:
            await self.catch_up_store()
        finally:  # a damaged file raises here and gets the usual error dialog
            self._reloading = False

    async def catch_up_store(self) -> None:
        """Bring the UI's store up to date with the files; a whole reload runs in a thread (one
        big store takes a few hundred ms to parse) and its result is swapped in at once."""
        storage = self.store.storage
        if storage.reload_needed():
            fresh = await in_daemon_thread(storage.loaded_copy, name="bcsync-reload")
            if storage.adopt(fresh):  # refused if our own write made it out of date meanwhile
                storage.refresh()
                self._store_changed()
                settle_memory()  # the old copy is gone, the new one here to stay
                return
        storage.refresh()
        self._store_changed()

    def _store_changed(self) -> None:
        if self.store.storage.generation != self.generation:
            self.generation = self.store.storage.generation
            self.reload_profile()
            self.refresh_runs()

    def reload_profile(self) -> None:
        self.profile = get_or_new_profile(self.store, self.profile_name)
        self.schedule_auto_sync()

    def refresh_runs(self) -> None:
        runs = list_runs(self.store, self.profile_name, limit=1)
        self.last_run = RunRecord.from_doc(runs[0]) if runs else None
        self.schedule_auto_sync()

    # --- automatic sync ---------------------------------------------------------------------------

    def schedule_auto_sync(self) -> None:
        p = self.profile
        if not (p.enabled and p.interval_minutes > 0 and p.configured):
            self.next_auto_sync = None
            return
        last = parse_time(self.last_run.ended_at if self.last_run else None) or time.time()
        due = last + p.interval_minutes * 60
        if self._auto_retry_at is not None:
            due = max(due, self._auto_retry_at)
        self.next_auto_sync = due

    def check_auto_sync(self) -> None:
        if self.next_auto_sync is not None and not self.sync_running and time.time() >= self.next_auto_sync:
            self.start_sync("incremental", manual=False)

    # --- sync -------------------------------------------------------------------------------------

    def start_sync(self, mode: str = "incremental", *, dry_run: bool = False, force: bool = False,
                   manual: bool = True) -> Worker[RunRecord | None] | None:
        """Start a sync (or a dry run) unless one is running; the worker's result is the run record."""
        if self.sync_running:
            if manual:
                self.notify("A sync is already running; press Esc on the contact list to cancel it.",
                            severity="warning")
            return None
        self.sync_cancel = threading.Event()
        # The kind first: the progress panel reads it when it sees the sync start.
        self.sync_kind = f"{'dry run' if dry_run else mode} sync"
        self.sync_progress = None
        self.sync_running = True
        return self._sync_worker(mode, dry_run, force, manual, self.sync_cancel)

    @work(exclusive=True, exit_on_error=False, group="sync")
    async def _sync_worker(self, mode: str, dry_run: bool, force: bool, manual: bool,
                           cancel: threading.Event) -> RunRecord | None:
        try:
            record = await in_daemon_thread(self._run_engine, mode, dry_run, force, cancel, name="bcsync-sync")
        except StoreLocked:
            if manual:
                raise
            self._auto_retry_at = time.time() + AUTO_SYNC_RETRY_SECONDS  # a CLI sync runs: quietly later
            return None
        finally:
            self.sync_running = False
            self.sync_cancel = None
            # The poll must not start a second whole reload beside this one (the sync has just
            # compacted the store: each would parse all of it again).
            self._reloading = True
            try:
                await self.catch_up_store()
            finally:
                self._reloading = False
        if not dry_run:
            self._auto_retry_at = None
            self.refresh_runs()
        self.post_message(SyncFinished(record, manual))
        return record

    def _run_engine(self, mode: str, dry_run: bool, force: bool, cancel: threading.Event) -> RunRecord:
        """In the sync thread, which only supervises: the engine runs in a child process, so its
        CPU work never competes with the keyboard for the GIL (see core/sync/child.py). The store's
        file lock orders its writes and the UI's like those of two processes."""
        from ..core.sync.child import sync_in_child
        from ..core.sync.events import Coalescer

        # The sync thread hands progress to the UI only as messages (coalesced: one per interval).
        def post(progress: Progress) -> None:
            self.post_message(SyncProgressed(progress, time.monotonic()))

        return sync_in_child(self.store.path, self.profile_name, backup_dir=self.store.backup_dir,
                             secrets_file=self.secrets.file, mode=mode, dry_run=dry_run, force=force,
                             on_progress=Coalescer(post, PROGRESS_INTERVAL), cancel=cancel)

    @on(SyncProgressed)
    def _show_progress(self, message: SyncProgressed) -> None:
        if self.sync_running:
            self.sync_progress = (message.progress, message.at)

    @on(SyncFinished)
    def _sync_finished(self, message: SyncFinished) -> None:
        record = message.record
        if record.dry_run:
            return  # the sync dialog shows the plan
        if message.manual:
            from .screens.sync import SyncSummaryScreen

            self.push_screen(SyncSummaryScreen(record))
        elif record.status not in (RunStatus.OK, RunStatus.CANCELLED) or record.unknown_status:
            self.notify(f"Automatic sync: {record.status_value} — {record.message}",
                        severity="warning", markup=False)

    def cancel_sync(self) -> None:
        if self.sync_cancel is not None and not self.sync_cancel.is_set():
            self.sync_cancel.set()
            self.notify("Cancelling: the sync stops at the next safe point.")

    # --- errors, help, quit -----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's failure ends here, in one dialog that says what to do."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            from .screens.dialogs import ErrorDialog

            title, message = explain(event.worker.error)
            self.push_screen(ErrorDialog(title, message))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        """Quit at once; a running sync is cancelled and given a moment to reach a safe point, but a
        network call blocked in its timeout is left to its daemon thread."""
        if self.sync_running and self.sync_cancel is not None:
            self.sync_cancel.set()
            self.notify("Stopping the sync…", timeout=QUIT_GRACE_SECONDS)
            deadline = time.monotonic() + QUIT_GRACE_SECONDS
            while self.sync_running and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for command in getattr(screen, "COMMAND_LIST", ()):
            namespace, name, params = parse_action(command.action)
            if not command.palette or namespace:
                continue  # app-wide commands (help, quit) are offered by Textual's own entries
            if screen.check_action(name, params) is not False:
                yield SystemCommand(command.title, command.help, self._runner(screen, command.action))

    @staticmethod
    def _runner(screen: Screen, action: str):
        async def run() -> None:
            await screen.run_action(action)

        return run


def settle_memory() -> None:
    """Leave what is alive now (the store's data above all) out of the garbage collector's sweeps.

    The store's data is tens of thousands of long-lived objects; a full collection walks them all
    (~65 ms at 50,000 contacts; 355 ms seen during a sync on a busy machine), at whatever moment
    the collector chose, a key press waiting meanwhile. Called where the TUI has just taken in a
    whole new copy of the store. Frozen objects are still freed by reference counting when dropped
    (the store's data has no cycles); the young generations are collected first, so little cyclic
    garbage is frozen with them (a whole collection here would be the pause this avoids)."""
    gc.collect(1)
    gc.freeze()


def start_app(paths: Paths, profile: str) -> BcsyncApp:
    """The app as ``bcsync`` starts it: the store opened, and its data (everything alive in a
    fresh process) left out of the garbage collector's sweeps (see ``settle_memory``). The collector
    rests until the first screen is painted (ContactsScreen enables it): the store's records and the
    first screen's widgets all live on, so collecting while they are made only walks them (~20 ms of
    the first screen at 50,000 contacts on a busy machine, within the noise on a quiet one: bench/tui.py)."""
    gc.disable()  # until the first screen is up (ContactsScreen): what is made until then lives on
    try:
        app = BcsyncApp(paths, profile)
    except BaseException:
        gc.enable()
        raise
    gc.freeze()
    return app


def close_app(app: BcsyncApp) -> None:
    """After the TUI: ``status.json`` brought up to date (edits and syncs made here: the next
    ``bcsync status`` over SSH need not load the store), then the store closed."""
    from ..cli.status_facts import refresh_facts

    try:
        refresh_facts(app.store)
    finally:
        app.store.close()


def run_tui(paths: Paths, profile: str) -> int:
    """Open the TUI on the store under ``paths`` for ``profile``; returns the process exit code."""
    app = start_app(paths, profile)
    try:
        result = app.run()
    finally:
        close_app(app)
    return result if isinstance(result, int) else app.return_code or 0
