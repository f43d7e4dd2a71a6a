"""``bcsync backups`` and ``bcsync restore BACKUP``: the store's automatic copies (before imports,
syncs that write, restores) and putting one back — also when the store itself no longer loads."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.lock import FileLock
from ..core.paths import ensure_private_dir, write_private_file
from ..core.store_errors import StoreCorruptError
from .common import confirm, plural
from .main import EXIT_OK, CliError, Context
from .output import emit_json, human_size, local_time, say, table

_NAME = re.compile(r"^store-(\d{8}T\d{6})(\d*)Z-?(.*)\.json$")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("backups", parents=[common], help="list the store's backups (newest first)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backups, recovery=True)  # never opens the store (main.py)
    r = sub.add_parser("restore", parents=[common], help="replace the store with a backup (the current one is kept)")
    r.add_argument("backup", metavar="BACKUP", help="a name from `bcsync backups` (or its start), or a file path")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_restore, recovery=True)


def list_backup_files(backup_dir: Path) -> list[Path]:
    """Newest first; read from the folder, so it works when the store itself is damaged."""
    if not backup_dir.is_dir():
        return []
    return sorted(backup_dir.glob("store-*.json"), reverse=True)


def describe(path: Path) -> dict[str, Any]:
    m = _NAME.match(path.name)
    created = None
    if m:
        created = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
    else:
        created = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
    return {"name": path.name, "path": str(path), "created_at": created,
            "reason": m.group(3) if m else "", "size": path.stat().st_size}


def cmd_backups(ctx: Context) -> int:
    rows = [describe(p) for p in list_backup_files(ctx.paths.backup_dir)]
    if ctx.json:
        emit_json({"backup_dir": str(ctx.paths.backup_dir), "backups": rows})
        return EXIT_OK
    if not rows:
        say(f"No backups yet in {ctx.paths.backup_dir}. bcsync makes one before every import, "
            "every sync that writes and every restore.")
        return EXIT_OK
    table(["Name", "Date", "Reason", "Size"],
          [[r["name"], local_time(r["created_at"]), r["reason"], human_size(r["size"])] for r in rows])
    say(f"{plural(len(rows), 'backup')} in {ctx.paths.backup_dir}")
    return EXIT_OK


def find_backup(backup_dir: Path, wanted: str) -> Path:
    candidate = Path(wanted).expanduser()
    if candidate.is_file() and (candidate.parent != Path(".") or not (backup_dir / wanted).is_file()):
        return candidate.absolute()
    files = list_backup_files(backup_dir)
    exact = [p for p in files if p.name in (wanted, wanted + ".json")]
    if exact:
        return exact[0]
    matches = [p for p in files if p.name.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CliError(f"{wanted!r} matches {len(matches)} backups; give more of the name",
                       details=[f"  {p.name}" for p in matches[:10]])
    raise CliError(f"no backup named {wanted!r}; `bcsync backups` lists them")


def cmd_restore(ctx: Context) -> int:
    paths = ctx.paths
    backup = find_backup(paths.backup_dir, ctx.args.backup)
    from ..core.storage import JournaledStorage  # (not for the commands that read no store: `bcsync status`)

    try:
        JournaledStorage(backup).read()
    except StoreCorruptError as exc:
        raise CliError(f"the backup {backup} cannot be read ({exc.detail}); choose another one") from exc
    confirm(f"Replace the contact store with {backup.name}? The current store is backed up first.", ctx.args.yes)
    paths.ensure()
    # A sync in progress would write its links into the store we are replacing.
    lock = FileLock(paths.store_file.with_name("sync.lock"), what="sync of this contact store")
    lock.acquire(timeout=0)  # LockedError → exit 4
    try:
        try:
            store = ctx.store()
        except StoreCorruptError:
            saved = _restore_over_damaged(paths.store_file, paths.backup_dir, backup)
        else:
            saved = store.restore(backup)
    finally:
        lock.release()
    if ctx.json:
        emit_json({"restored": str(backup), "previous_store_saved_as": str(saved)})
    else:
        say(f"Restored the contact store from {backup.name}.")
        say(f"The store as it was before is saved as {saved}.")
        say("Check what the next sync would do with `bcsync sync --dry-run`.")
    return EXIT_OK


def _restore_over_damaged(store_file: Path, backup_dir: Path, backup: Path) -> Path:
    """The store does not load, so it cannot back itself up: keep its bytes aside (under a name
    `bcsync backups` does not offer), then put the backup in its place."""
    ensure_private_dir(backup_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = backup_dir / f"damaged-{stamp}-{store_file.name}"
    wal = store_file.with_name(store_file.name + ".wal")
    with FileLock(store_file.with_name(store_file.name + ".lock"), guard_dir=True):
        if store_file.exists():
            write_private_file(aside, store_file.read_bytes())
        if wal.exists():
            write_private_file(aside.with_name(aside.name + ".wal"), wal.read_bytes())
        write_private_file(store_file, backup.read_bytes())
        wal.unlink(missing_ok=True)
    return aside
