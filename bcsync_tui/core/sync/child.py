"""Run one sync in a child process, for the TUI.

A sync is CPU-bound Python (exchangelib builds and parses every contact's XML). In a thread of the
TUI's process it competes with the event loop for the GIL, and a key press then waits up to half a
second while the list redraws in 5 ms slices. In a child process it runs on its own core; the
store's file lock orders it against the UI's writes exactly as it orders two processes.

The conversation is JSON lines. The parent writes one request line on the child's stdin, then
``cancel`` when the user cancels; closing stdin (the parent quit or died) also cancels, so the child
always stops at a safe point. The child writes ``{"progress": ...}`` lines and ends with exactly one
``{"result": run_record.to_doc()}`` or ``{"error": {"kind", "message"}}`` line. Secrets are never on the
command line or in the pipe: the child reads them from the keyring or the secrets file itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from ..records import RunRecord
from . import events as ev
from .engine import ProgressCallback

#: errors the child reports by name and the parent raises again as the same class
_KINDS: dict[str, type[ev.SyncError]] = {
    cls.__name__: cls for cls in (ev.SyncError, ev.ConnectionProblem, ev.ConfigurationProblem,
                                  ev.StoreLocked, ev.RunCutShort, ev.GuardTripped)
}


class ChildFailed(ev.SyncError):
    """The child process ended without a result (it crashed or could not start)."""


def sync_in_child(store_path: Path, profile_name: str, *, backup_dir: Path | None = None,
                  secrets_file: Path | None = None, mode: str = "incremental", dry_run: bool = False,
                  force: bool = False, on_progress: ProgressCallback | None = None,
                  cancel: threading.Event | None = None) -> RunRecord:
    """Blocking, like ``runner.sync_blocking``: the run record, or the engine's exception."""
    request = {"store": str(store_path), "backup_dir": str(backup_dir) if backup_dir else None,
               "secrets_file": str(secrets_file) if secrets_file else None, "profile": profile_name,
               "mode": mode, "dry_run": dry_run, "force": force}
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=stderr, close_fds=True)
        assert proc.stdin is not None and proc.stdout is not None
        stop_watch = threading.Event()
        watcher = threading.Thread(target=_forward_cancel, args=(proc.stdin, cancel, stop_watch),
                                   name="bcsync-sync-cancel", daemon=True)
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            watcher.start()
            outcome = _read_outcome(proc.stdout, on_progress)
        except BrokenPipeError:
            outcome = None
        finally:
            stop_watch.set()
            _close_quietly(proc.stdin)  # if we stop listening early, the child cancels at a safe point
            proc.stdout.close()
        code = _wait_briefly(proc)  # it has answered, or we stopped listening: never hang the caller
        if outcome is None:
            stderr.seek(0)
            detail = stderr.read().decode(errors="replace").strip().splitlines()
            raise ChildFailed(f"the sync process ended unexpectedly (exit code {code})"
                              + (f": {detail[-1]}" if detail else ""))
    if "result" in outcome:
        return RunRecord.from_doc(outcome["result"])
    error = outcome["error"]
    raise _KINDS.get(error.get("kind"), ev.SyncError)(error.get("message", "the sync failed"))


def _forward_cancel(stdin: IO[bytes], cancel: threading.Event | None, stop: threading.Event) -> None:
    if cancel is None:
        return
    while not stop.is_set():
        if cancel.wait(0.1):
            try:
                stdin.write(b"cancel\n")
                stdin.flush()
            except (OSError, ValueError):
                pass  # the child has ended (or we closed the pipe)
            return


def _read_outcome(stdout: IO[bytes], on_progress: ProgressCallback | None) -> dict[str, Any] | None:
    for line in stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not ours (a library printing): ignore
        if not isinstance(message, dict):
            continue
        if "progress" in message:
            if on_progress is not None:
                on_progress(ev.Progress(**message["progress"]))
        elif "result" in message or "error" in message:
            return message
    return None


def _wait_briefly(proc: subprocess.Popen[bytes]) -> int | None:
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None  # still finishing its safe point; it exits on its own


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except OSError:
        pass


# --- the child side ----------------------------------------------------------------------------

#: how far the child lowers its CPU priority: on a busy machine (the child, the server, other work)
#: the UI's event loop then gets a core as soon as it wakes for a key press, and the sync takes
#: what is left; on an idle machine nothing changes
CHILD_NICENESS = 5


def lower_priority() -> None:
    try:
        os.nice(CHILD_NICENESS)
    except (AttributeError, OSError):  # no os.nice on Windows; a refusal leaves the priority as it was
        pass


def _child_main() -> int:
    lower_priority()
    from ..secrets import SecretStore
    from ..store import Store
    from .runner import sync_blocking

    out = sys.stdout.buffer
    write_lock = threading.Lock()
    cancel = threading.Event()

    def send(message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, default=str).encode() + b"\n"
        with write_lock:
            try:
                out.write(line)
                out.flush()
            except (BrokenPipeError, ValueError):
                cancel.set()  # nobody is listening any more: stop at the next safe point

    request = json.loads(sys.stdin.buffer.readline() or b"{}")

    def listen() -> None:
        for line in sys.stdin.buffer:
            if line.strip() == b"cancel":
                break
        cancel.set()  # "cancel", or the parent closed the pipe

    threading.Thread(target=listen, name="bcsync-child-stdin", daemon=True).start()
    # SIGTERM (a logout, systemd, the parent's group being stopped): stop at the next safe point too.
    signal.signal(signal.SIGTERM, lambda signum, frame: cancel.set())
    try:
        store = Store(Path(request["store"]),
                      backup_dir=Path(request["backup_dir"]) if request.get("backup_dir") else None)
        try:
            secrets = SecretStore(Path(request["secrets_file"])) if request.get("secrets_file") else None
            record = sync_blocking(store, request["profile"], mode=request.get("mode", "incremental"),
                                   dry_run=bool(request.get("dry_run")), force=bool(request.get("force")),
                                   on_progress=lambda p: send({"progress": dataclasses.asdict(p)}),
                                   cancel=cancel, secrets=secrets)
        finally:
            store.close()
    except ev.SyncError as exc:
        send({"error": {"kind": type(exc).__name__, "message": str(exc)}})
        return 0
    except Exception as exc:  # reported to the parent, which shows it in a dialog
        send({"error": {"kind": "SyncError", "message": f"{type(exc).__name__}: {exc}"}})
        return 0
    send({"result": record.to_doc()})
    return 0


if __name__ == "__main__":
    # A Ctrl+C in the terminal reaches the whole process group; the parent decides (it cancels
    # through the pipe), so the child never dies between an Exchange write and its link.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(_child_main())
