"""``bcsync contacts import|export``: files in and out of the contact master (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import plural
from .main import EXIT_CONFIG, EXIT_ITEMS, EXIT_OK, CliError, Context
from .output import emit_json, say, warn


def register(cs: Any, common: argparse.ArgumentParser, filter_options: Any) -> None:
    ip = cs.add_parser("import", parents=[common], help="import contacts from a CSV or vCard file (all or nothing)")
    ip.add_argument("file", metavar="FILE", help="the file, or - for standard input")
    ip.add_argument("--format", choices=("csv", "vcard"), help="default: from the file name or its content")
    ip.add_argument("--encoding", help="the file's text encoding if not UTF-8 (e.g. cp1252)")
    ip.add_argument("--skip-invalid", action="store_true", help="import the good rows and report the bad ones")
    ip.add_argument("--allow-duplicates", action="store_true",
                    help="import rows whose e-mail address is already in the store or earlier in the file")
    ip.add_argument("--update", action="store_true",
                    help="update the contacts whose No. (or else e-mail) a row has, with the file's fields")
    ip.add_argument("--ignore-column", action="append", default=[], metavar="NAME",
                    help="leave out a CSV column bcsync has no field for (repeatable)")
    ip.add_argument("--ignore-unmapped", action="store_true",
                    help="leave out every CSV column bcsync has no field for (they are still listed)")
    ip.add_argument("--no-formula-guard", action="store_true",
                    help="keep a leading ' before = + - @ as it is (our export adds one; see docs/cli.md)")
    ip.add_argument("--dry-run", action="store_true", help="check the file and report, import nothing")
    ip.add_argument("--json", action="store_true")
    ip.set_defaults(func=cmd_import)

    xp = cs.add_parser("export", parents=[common], help="export contacts to a CSV or vCard file")
    xp.add_argument("file", metavar="FILE", help="the file to write, or - for standard output")
    xp.add_argument("--format", choices=("csv", "vcard"), help="default: vcard for .vcf/.vcard, else csv")
    filter_options(xp)
    xp.add_argument("--delimiter", choices=(",", ";", "tab"), default=",", help="CSV delimiter (default ,)")
    xp.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 byte order mark (for Excel)")
    xp.add_argument("--no-formula-guard", action="store_true",
                    help="write cells starting with = + - @ as they are (default: a leading ' so a "
                         "spreadsheet shows them as text)")
    xp.add_argument("--vcard-version", choices=("3.0", "4.0"), default="3.0", help="vCard version (default 3.0)")
    xp.add_argument("--json", action="store_true", help="report what was written as JSON")
    xp.set_defaults(func=cmd_export)


def _list(title: str, items: list[Any], indent: str = "  ") -> None:
    """``title`` (if any), then the first 20 items and how many more there are."""
    from ..core.contacts_types import capped

    shown, more = capped(items)
    if title:
        warn(title)
    for item in shown:
        warn(f"{indent}{item}")
    if more:
        warn(f"{indent}... and {more} more (--json lists them all)")


def cmd_import(ctx: Context) -> int:
    from ..core.contacts_io import paused_gc, plan_import, read_contacts

    args = ctx.args
    with paused_gc():
        read = read_contacts(args.file, args.format, args.encoding, unguard=not args.no_formula_guard)
        store = ctx.store()
        plan = plan_import(read, store.all_contacts(include_deleted=True), allow_duplicates=args.allow_duplicates,
                           update=args.update, ignore_columns=tuple(args.ignore_column),
                           ignore_unmapped=args.ignore_unmapped)
        unmapped, not_kept = plan.unmapped, plan.not_kept
        blocked = bool(unmapped) or (bool(plan.invalid) and not args.skip_invalid)
        imported: list[dict[str, Any]] = []
        backup = None
        if not blocked and not args.dry_run and (plan.accepted or plan.updates):
            backup = store.backup("import")
            with store.transaction():
                imported = store.add_prepared_contacts(plan.contacts())
                for change in plan.updates:
                    store.update_contact(change.uuid, change.changes)
    code = EXIT_CONFIG if blocked else EXIT_ITEMS if plan.invalid else EXIT_OK
    if ctx.json:
        emit_json({"file": args.file, "format": read.fmt, "source": read.source, "dry_run": bool(args.dry_run),
                   "rows": plan.rows_read, "accepted": len(plan.accepted), "imported": len(imported),
                   "numbers": [c["no"] for c in imported],
                   "updated": [{"line": u.line, "no": u.no, "fields": sorted(u.changes)} for u in plan.updates],
                   "unchanged": plan.unchanged, "unmapped": [u.to_dict() for u in unmapped],
                   "not_kept": [u.to_dict() for u in not_kept],
                   "invalid": [p.to_dict() for p in plan.invalid],
                   "duplicates": [p.to_dict() for p in plan.duplicates], "warnings": plan.warnings,
                   "backup": str(backup) if backup else None, "exit_code": code})
        return code
    named = "standard input" if args.file == "-" else args.file
    say(f"Read {named} as {read.source}: {plural(plan.rows_read, 'contact')}.")
    _list("", plan.warnings, indent="")
    if not_kept:
        _list("Not kept (bcsync has no field for these; counts of values):", not_kept)
    if plan.duplicates:
        _list(f"{plural(len(plan.duplicates), 'duplicate')} skipped:", plan.duplicates)
    if unmapped:
        _list(f"{plural(len(unmapped), 'column')} {'holds' if len(unmapped) == 1 else 'hold'} values bcsync has no "
              "field for:", unmapped)
        warn("Nothing was imported. Leave them out with --ignore-column NAME (repeatable) "
             "or --ignore-unmapped, or remove them from the file.")
        return code
    if plan.invalid:
        _list(f"{plural(len(plan.invalid), 'invalid row')} in {named}:", plan.invalid)
    if blocked:
        warn("Nothing was imported. Fix those rows, or pass --skip-invalid to import the others.")
        return code
    updates = f", {plural(len(plan.updates), 'update')}" if args.update else ""
    if args.dry_run:
        say(f"Dry run: {len(plan.accepted):,} of {plural(plan.rows_read, 'contact')} in {named} would be imported"
            f"{updates}.")
    elif imported or plan.updates:
        say(f"Imported {len(imported):,} of {plural(plan.rows_read, 'contact')} from {named}{updates}. "
            f"Backup of the store before the import: {backup.name if backup else '-'}")
    else:
        say(f"Nothing to import from {named}: no new contacts"
            + (" and no changes." if args.update else "."))
    return code


def cmd_export(ctx: Context) -> int:
    from ..core.contacts_io import export_contacts, format_for_export
    from .contacts import select_contacts

    args = ctx.args
    contacts = select_contacts(ctx, args)
    fmt = format_for_export(args.file, args.format)
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    try:
        export_contacts(args.file, contacts, fmt, delimiter=delimiter, bom=args.bom,
                        vcard_version=args.vcard_version, formula_guard=not args.no_formula_guard)
    except OSError as exc:
        raise CliError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    if ctx.json and args.file != "-":
        emit_json({"file": args.file, "format": fmt, "exported": len(contacts)})
    elif args.file != "-":
        say(f"Exported {plural(len(contacts), 'contact')} to {args.file} ({fmt}).")
    return EXIT_OK
