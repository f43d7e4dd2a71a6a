"""A lock file removed (or replaced) under the store's feet must not let two writers in."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from bcsync_tui.core.lock import FileLock
from bcsync_tui.core.store import Store

WRITER = """
import sys
from bcsync_tui.core.store import Store
store = Store(sys.argv[1], lock_timeout=60)
for i in range(int(sys.argv[3])):
    store.add_contact({"name": f"{sys.argv[2]} {i}", "type": "Person"})
store.close()
"""


def _remove_in_a_loop(path: Path, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def test_two_writers_with_the_lock_file_removed_in_a_loop_lose_nothing(tmp_path):
    store_file = tmp_path / "store.json"
    Store(store_file).close()
    stop = threading.Event()
    remover = threading.Thread(target=_remove_in_a_loop, args=(store_file.with_name("store.json.lock"), stop))
    remover.start()
    try:
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(store_file), name, "400"])
                   for name in ("alpha", "beta")]
        codes = [w.wait(timeout=600) for w in writers]
    finally:
        stop.set()
        remover.join()
    assert codes == [0, 0]
    store = Store(store_file)
    names = sorted(c["name"] for c in store.all_contacts())
    assert len(names) == 800 and len(set(names)) == 800
    assert len({c["no"] for c in store.all_contacts()}) == 800


def test_a_lock_taken_on_a_file_no_longer_at_the_path_is_taken_again(tmp_path):
    path = tmp_path / "x.lock"
    first = FileLock(path)
    first.acquire()
    os.unlink(path)  # removed while held: a newcomer gets the new file, and the old holder is not fooled
    second = FileLock(path)
    second.acquire(timeout=0)
    assert second.held and os.stat(path).st_ino == os.fstat(second._fd).st_ino
    second.release()
    first.release()
