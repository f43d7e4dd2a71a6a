"""The sync's malloc tuning (runner.tune_malloc): applied on glibc, a no-op elsewhere, and harmless
to call again (every sync calls it)."""

from __future__ import annotations

import platform
import subprocess
import sys

from bcsync_tui.core.sync.runner import tune_malloc


def test_tune_malloc_takes_on_glibc_and_says_so_elsewhere():
    glibc = platform.libc_ver()[0] == "glibc"
    assert tune_malloc() is glibc
    assert tune_malloc() is glibc  # again: the same answer


def test_a_process_with_tuned_malloc_still_allocates_and_frees_big_and_small_blocks():
    code = ("from bcsync_tui.core.sync.runner import tune_malloc; tune_malloc()\n"
            "import threading\n"
            "def work():\n"
            "    for _ in range(50): b = bytearray(512 * 1024); s = [str(i) * 3 for i in range(2000)]\n"
            "ts = [threading.Thread(target=work) for _ in range(4)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
