"""TUI figures (SPEC §6), measured on the real app driven headless by Textual's Pilot:

- time to first screen with 50,000 contacts, in a store never synced and (in another process) in
  one holding the links of a first sync: from app start until the app has painted its last frame
  before going idle with the list holding every contact (the screen as it then stays), and until
  its first full frame (the list painted). Pilot's idle check (``pilot.pause``) only notices
  idleness after a quiet 20 ms slice, so the time it returns is reported too, but the screen was
  complete at the last frame. Also how much of it is opening the store; the same in CPU time
  (walls are noisy on a shared machine); the process's memory then (resident and peak: the home is
  built in another process, so the figures are the TUI's own);
- time for a search keystroke to update the list (median and max over a typed word);
- the longest input pause during a full sync of 10,000 contacts against the loopback Exchange
  server in a separate process: how late a 10 ms timer on the UI's event loop fires, and how long
  a key press ("j", cursor down) takes to be handled, while the sync runs.

    python bench/tui.py [--contacts 50000] [--sync-contacts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("BCSYNC_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).parent))


def cache_bytecode() -> None:
    """Run as an installed bcsync runs: with its modules' bytecode cached (in a temp dir, as
    bench/store.py does). The TUI imports some modules only when it starts; a machine that sets
    PYTHONDONTWRITEBYTECODE (this one) would otherwise compile them inside the first-screen time."""
    import compileall

    sys.dont_write_bytecode = False
    sys.pycache_prefix = os.path.join(tempfile.gettempdir(), "bcsync-bench-pycache")
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "bcsync_tui"), quiet=1)


cache_bytecode()

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402

from bcsync_tui.core.paths import Paths  # noqa: E402
from bcsync_tui.core.profiles import Profile, save_profile  # noqa: E402
from bcsync_tui.core.secrets import SecretStore  # noqa: E402
from bcsync_tui.core.store import Store  # noqa: E402
from bcsync_tui.tui.app import BcsyncApp, start_app  # noqa: E402
from bcsync_tui.tui.widgets.contact_list import ContactList  # noqa: E402


def make_home(home: str, n: int, url: str = "http://127.0.0.1:9/EWS/Exchange.asmx", linked: bool = False) -> Paths:
    """A home with n contacts; ``linked``: with the link a first sync leaves for each (an item id and
    change key as long as the loopback server's, both bases), as a user's synced store holds them."""
    # bench/sync.py loads exchangelib (~35 MiB), which the TUI never does: not in the measuring process
    from sync import PASSWORD, USER, contacts

    from bcsync_tui.core.records import LinkRow
    from bcsync_tui.core.sync.merge import project

    paths = Paths.resolve(home).ensure()
    store = Store.open(paths)
    save_profile(store, Profile(name="bench", email=USER, server_url=url, username=USER))
    added = store.add_contacts(contacts(n))
    if linked:
        with store.transaction():
            ids = [str(i) for i in store.storage.next_ids(store.links.name, len(added))]
            rows = [LinkRow("bench", c["uuid"],
                            f"AAMkADBjMzQ5YmFiLTRmMzAtNDZmNi04ZWY0LWI1ZmMxZWFkYjNhMQBGAAAHAAAAAAAA{i:08d}==",
                            f"EQAAABYAAAAMNJurTzBG9o70tfwerbOhAA{i:06d}", project(c), project(c), c["revision"])
                    for i, c in enumerate(added)]
            store.links.put({doc_id: row.to_doc() for doc_id, row in zip(ids, rows)})
            store.link_details.put({doc_id: row.details_doc() for doc_id, row in zip(ids, rows)})
        store.storage.compact()  # as a sync leaves the store: a snapshot, not a long journal
    store.close()
    SecretStore(paths.secrets_file).set("bench", PASSWORD)
    return paths


def make_home_elsewhere(home: str, n: int, url: str = "http://127.0.0.1:9/EWS/Exchange.asmx",
                        linked: bool = False) -> Paths:
    """``make_home`` in another process: this one then holds only what the TUI holds."""
    subprocess.run([sys.executable, __file__, "--make-home", home, str(n), url] + (["linked"] if linked else []),
                   check=True)
    return Paths.resolve(home)


def memory_mib() -> tuple[float, float]:
    """(resident now, peak resident) of this process, in MiB."""
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return tuple(int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


async def wait_rows(app: BcsyncApp, pilot, condition) -> ContactList:
    while True:
        try:
            lst = app.screen.query_one(ContactList)
            if condition(len(lst.rows)):
                return lst
        except Exception:  # the screen is still being built
            pass
        await asyncio.sleep(0.002)


async def key(app: BcsyncApp, char: str, changed, limit: float = 5.0) -> float:
    """Post one key press as the terminal driver would and return how long until ``changed()``.
    (Pilot's own press() waits for the whole process to go idle, which a running sync never does.)"""
    t = time.perf_counter()
    app.post_message(events.Key(char, char))
    while not changed() and time.perf_counter() - t < limit:
        await asyncio.sleep(0.0005)
    return time.perf_counter() - t


class Frames:
    """When the app hands frames to its driver (``App._display``: the one place every screen update
    goes out; Textual has no public hook for it), and whether each was a full one (a layout)."""

    def __init__(self) -> None:
        self.times: list[tuple[float, bool]] = []
        self._display = App._display

        def display(app: App, screen: Any, update: Any) -> None:
            self.times.append((time.perf_counter(), type(update).__name__ == "LayoutUpdate"))
            self._display(app, screen, update)

        App._display = display  # type: ignore[method-assign]

    def close(self) -> None:
        App._display = self._display  # type: ignore[method-assign]


async def list_figures(n: int, linked: bool = False) -> None:
    with tempfile.TemporaryDirectory() as home:
        paths = make_home_elsewhere(home, n, linked=linked)
        what = f"{n:,} contacts" + (" and their links (a synced store)" if linked else " (never synced)")
        frames = Frames()
        t0, c0 = time.perf_counter(), time.process_time()
        app = start_app(paths, "bench")  # opens the store, as `bcsync` does
        opened, opened_cpu = time.perf_counter() - t0, time.process_time() - c0
        async with app.run_test(size=(120, 40)) as pilot:
            lst = await wait_rows(app, pilot, lambda rows: rows == n)
            await pilot.pause()
            idle, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            painted = [t - t0 for t, _ in frames.times]
            first_full = min(t - t0 for t, full in frames.times if full)
            first = painted[-1]  # the last frame before idle: the screen as it stays
            frames.close()
            rss, peak = memory_mib()
            await pilot.press("slash")
            times = []
            for ch in "Surname4242":
                before = lst.rows
                times.append(await key(app, ch, lambda before=before: lst.rows is not before))
            print("per key ms:", [round(t * 1000, 1) for t in times])
            shown = len(lst.rows)
            print(f"{what}:")
            print(f"first screen with {n:,} contacts      {first * 1000:8.0f} ms   (target <= 500 ms: its last frame "
                  f"before idle, of {len(painted)}; opening the store {opened * 1000:.0f} ms of it, "
                  f"the TUI {(first - opened) * 1000:.0f} ms)")
            print(f"  its first full frame (list painted) {first_full * 1000:8.0f} ms   (Pilot's idle check "
                  f"returned at {idle * 1000:.0f} ms)")
            print(f"  CPU time until idle (all threads)  {first_cpu * 1000:8.0f} ms   (opening the store "
                  f"{opened_cpu * 1000:.0f} ms, the TUI {(first_cpu - opened_cpu) * 1000:.0f} ms: comparable on a busy machine)")
            print(f"memory with {n:,} contacts            {rss:8.0f} MiB  resident, {peak:.0f} MiB peak (target <= 200 MiB)")
            print(f"search keystroke, list updated      {statistics.median(times) * 1000:8.1f} ms median, "
                  f"{max(times) * 1000:.1f} ms max over {len(times)} keys (target <= 50 ms); "
                  f"'Surname4242' leaves {shown} row(s)")


async def sync_figures(n: int) -> None:
    from sync import start_server

    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as home:
            paths = make_home_elsewhere(home, n, url)
            app = start_app(paths, "bench")
            async with app.run_test(size=(120, 40)) as pilot:
                lst = await wait_rows(app, pilot, lambda rows: rows == n)
                lst.focus()
                await pilot.pause()
                t0 = time.perf_counter()
                worker = app.start_sync("full")
                late, keys = [], []
                # Until the worker is done: that includes catching the UI's store up with the
                # sync's writes afterwards (a whole reload when the sync compacted the store).
                while worker is not None and not worker.is_finished:
                    t = time.perf_counter()
                    await asyncio.sleep(0.01)
                    late.append(time.perf_counter() - t - 0.01)
                    cursor = lst.cursor
                    if cursor + 1 < len(lst.rows) and app.screen is lst.screen:
                        took = await key(app, "j", lambda cursor=cursor: lst.cursor != cursor)
                        if app.screen is lst.screen:  # not the press the end-of-sync summary took
                            keys.append(took)
                await app.workers.wait_for_complete()
                wall = time.perf_counter() - t0
                record = worker.result if worker is not None else None
            status = record.status.value if record else "?"
            created = record.counts.outlook_created if record else 0
            print(f"full sync of {n:,} in the TUI            {wall:8.1f} s    ({status}, {created} created)")
            print(f"longest event-loop delay during it  {max(late) * 1000:8.1f} ms   "
                  f"(median {statistics.median(late) * 1000:.1f} ms, {len(late)} samples)")
            print(f"longest key press handling          {max(keys) * 1000:8.1f} ms   "
                  f"(median {statistics.median(keys) * 1000:.1f} ms, {len(keys)} presses of j); target <= 50 ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    if sys.argv[1:2] == ["--make-home"]:
        make_home(sys.argv[2], int(sys.argv[3]), sys.argv[4], linked=sys.argv[5:6] == ["linked"])
        return
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--sync-contacts", type=int, default=10_000)
    ap.add_argument("--linked-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.linked_only:
        asyncio.run(list_figures(args.contacts, linked=True))
        return
    asyncio.run(list_figures(args.contacts))
    # in a fresh process: this one's memory figures are the first store's
    subprocess.run([sys.executable, __file__, "--linked-only", "--contacts", str(args.contacts)], check=True)
    asyncio.run(sync_figures(args.sync_contacts))


if __name__ == "__main__":
    main()
