"""``bcsync contacts list|show|add|edit|delete|import|export``: the contact master from the shell."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import model
from .common import confirm, field_key, filter_from_args, split_assignment
from .main import EXIT_CONFIG, EXIT_ITEMS, EXIT_OK, CliError, Context
from .output import emit_json, fields_block, say, table, warn

#: what `contacts list` shows without --all-fields (table columns and JSON keys)
LIST_KEYS = ("no", "name", "company_name", "email", "phone", "city")
JSON_LIST_KEYS = ("no", "uuid", "type", "name", "company_name", "email", "phone", "city")
#: every field a user sees (tombstone bookkeeping stays inside)
ALL_KEYS = tuple(f.key for f in model.FIELDS)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("contacts", parents=[common], help="list, show, add, edit, delete, import or export contacts")
    cs = p.add_subparsers(dest="contacts_command", metavar="ACTION", required=True)

    lp = cs.add_parser("list", parents=[common], help="list contacts (optionally filtered)")
    _filter_options(lp)
    lp.add_argument("--all-fields", action="store_true", help="show every field, not just the main ones")
    lp.add_argument("--json", action="store_true", help="machine-readable output (docs/cli.md)")
    lp.set_defaults(func=cmd_list)

    sp = cs.add_parser("show", parents=[common], help="every field of one contact")
    sp.add_argument("number", metavar="NO", help="contact number (e.g. CT000012) or UUID")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_show)

    ap = cs.add_parser("add", parents=[common], help="add a contact: --first-name Ann --email ann@example.com ...")
    _field_options(ap)
    ap.add_argument("--no", dest="field_no", metavar="NO", help="its number (default: the next from the number series)")
    ap.add_argument("--allow-duplicate", action="store_true", help="add even if the e-mail address is already used")
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(func=cmd_add)

    ep = cs.add_parser("edit", parents=[common], help="change fields: edit NO --set City=Oslo ...")
    ep.add_argument("number", metavar="NO")
    _field_options(ep)
    ep.add_argument("--allow-duplicate", action="store_true", help="allow an e-mail address another contact has")
    ep.add_argument("--json", action="store_true")
    ep.set_defaults(func=cmd_edit)

    dp = cs.add_parser("delete", parents=[common], help="delete a contact (its Outlook copies follow at the next sync)")
    dp.add_argument("number", metavar="NO")
    dp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    dp.set_defaults(func=cmd_delete)

    ip = cs.add_parser("import", parents=[common], help="import contacts from a CSV or vCard file (all or nothing)")
    ip.add_argument("file", metavar="FILE", help="the file, or - for standard input")
    ip.add_argument("--format", choices=("csv", "vcard"), help="default: from the file name or its content")
    ip.add_argument("--encoding", help="the file's text encoding if not UTF-8 (e.g. cp1252)")
    ip.add_argument("--skip-invalid", action="store_true", help="import the good rows and report the bad ones")
    ip.add_argument("--allow-duplicates", action="store_true",
                    help="import rows whose e-mail address is already in the store or earlier in the file")
    ip.add_argument("--dry-run", action="store_true", help="check the file and report, import nothing")
    ip.add_argument("--json", action="store_true")
    ip.set_defaults(func=cmd_import)

    xp = cs.add_parser("export", parents=[common], help="export contacts to a CSV or vCard file")
    xp.add_argument("file", metavar="FILE", help="the file to write, or - for standard output")
    xp.add_argument("--format", choices=("csv", "vcard"), help="default: vcard for .vcf/.vcard, else csv")
    _filter_options(xp)
    xp.add_argument("--delimiter", choices=(",", ";", "tab"), default=",", help="CSV delimiter (default ,)")
    xp.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 byte order mark (for Excel)")
    xp.add_argument("--vcard-version", choices=("3.0", "4.0"), default="3.0", help="vCard version (default 3.0)")
    xp.add_argument("--json", action="store_true", help="report what was written as JSON")
    xp.set_defaults(func=cmd_export)


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--filter", action="append", default=[], metavar="FIELD=EXPR",
                   help="BC filter on a field, e.g. --filter 'City=Oslo|Bergen' (repeatable)")
    p.add_argument("--profile-filter", action="store_true",
                   help="also apply the profile's sync filter (see `bcsync filter show`)")


def _field_options(p: argparse.ArgumentParser) -> None:
    for key in model.EDITABLE_KEYS:
        f = model.FIELD_BY_KEY[key]
        p.add_argument("--" + key.replace("_", "-"), dest=f"field_{key}", metavar="VALUE", help=f.caption)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="set any field by key or caption, e.g. --set 'Post Code=0150' (repeatable)")


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in model.EDITABLE_KEYS + ("no",):
        value = getattr(args, f"field_{key}", None)
        if value is not None:
            changes[key] = value
    for item in args.set:
        name, value = split_assignment(item)
        changes[field_key(name, editable=True)] = value
    if "privacy_blocked" in changes:
        text = str(changes["privacy_blocked"]).strip().lower()
        if text not in ("yes", "no", "true", "false", "1", "0", "y", "n", ""):
            raise CliError(f"Privacy Blocked must be yes or no, not {changes['privacy_blocked']!r}")
        changes["privacy_blocked"] = model.parse_bool(text)
    if "no" in changes:
        changes["no"] = str(changes["no"]).strip().upper()
        msg = model.validate_field("no", changes["no"]) or ("" if changes["no"] else "cannot be blank")
        if msg:
            raise CliError(f"No. {msg}")
    return changes


def _select(ctx: Context, args: argparse.Namespace) -> list[dict[str, Any]]:
    store = ctx.store()
    base: dict[str, str] = {}
    if args.profile_filter:
        from ..core.profiles import load_profile

        base = dict(load_profile(store, ctx.profile).filter)
    contacts = store.contacts_raw()
    if args.filter or base:
        contacts = filter_from_args(args.filter, base).select(contacts)
    return sorted(contacts, key=lambda c: (c.get("no", ""), c.get("name", "")))


def _email_owner(ctx: Context, email: str, except_uuid: str = "") -> dict[str, Any] | None:
    wanted = model.normalise_email(email)
    if not wanted:
        return None
    return next((c for c in ctx.store().contacts_raw()
                 if c.get("uuid") != except_uuid and model.normalise_email(c.get("email")) == wanted), None)


def _public(contact: dict[str, Any], keys: tuple[str, ...] = ALL_KEYS) -> dict[str, Any]:
    return {k: contact.get(k, model.blank_contact().get(k)) for k in keys}


def cmd_list(ctx: Context) -> int:
    args = ctx.args
    contacts = _select(ctx, args)
    if ctx.json:
        keys = ALL_KEYS if args.all_fields else JSON_LIST_KEYS
        emit_json({"count": len(contacts), "contacts": [_public(c, keys) for c in contacts]})
        return EXIT_OK
    keys = ALL_KEYS if args.all_fields else LIST_KEYS
    table([model.FIELD_BY_KEY[k].caption for k in keys],
          [[model.display_value(c, k) for k in keys] for c in contacts])
    say(f"{len(contacts)} contact(s)")
    return EXIT_OK


def cmd_show(ctx: Context) -> int:
    contact = ctx.store().find_contact(ctx.args.number)
    if ctx.json:
        emit_json({"contact": _public(contact)})
    else:
        fields_block([(f.caption, model.display_value(contact, f.key)) for f in model.FIELDS])
    return EXIT_OK


def cmd_add(ctx: Context) -> int:
    args = ctx.args
    data = _changes(args)
    if not data:
        raise CliError("give the contact's fields, e.g. --first-name Ann --surname Lee --email ann@example.com")
    owner = _email_owner(ctx, data.get("email", ""))
    if owner and not args.allow_duplicate:
        raise CliError(f"{data['email']} is already the e-mail of {owner['no']} {owner['name']}; nothing was added",
                       details=["Edit that contact instead, or pass --allow-duplicate."])
    contact = ctx.store().add_contact(data)
    if ctx.json:
        emit_json({"contact": _public(contact)})
    else:
        say(f"Added {contact['no']} {contact['name']}.")
    return EXIT_OK


def cmd_edit(ctx: Context) -> int:
    args = ctx.args
    changes = _changes(args)
    if not changes:
        raise CliError("nothing to change; use --set FIELD=VALUE or a field option such as --city Oslo")
    store = ctx.store()
    before = store.find_contact(args.number)
    if "email" in changes and not args.allow_duplicate:
        owner = _email_owner(ctx, changes["email"], before["uuid"])
        if owner:
            raise CliError(f"{changes['email']} is already the e-mail of {owner['no']} {owner['name']}; "
                           "nothing was changed", details=["Pass --allow-duplicate to use it anyway."])
    after = store.update_contact(before["uuid"], changes)
    changed = [k for k in model.EDITABLE_KEYS + ("no",) if before.get(k) != after.get(k)]
    if ctx.json:
        emit_json({"contact": _public(after), "changed": changed})
    elif changed:
        say(f"Updated {after['no']} {after['name']}:")
        for key in changed:
            say(f"  {model.FIELD_BY_KEY[key].caption}: {model.display_value(before, key)!r} → "
                f"{model.display_value(after, key)!r}")
    else:
        say(f"No change to {after['no']} {after['name']}.")
    return EXIT_OK


def cmd_delete(ctx: Context) -> int:
    store = ctx.store()
    contact = store.find_contact(ctx.args.number)
    confirm(f"Delete {contact['no']} {contact['name']}?", ctx.args.yes)
    store.delete_contact(contact["uuid"])
    say(f"Deleted {contact['no']} {contact['name']}. The next sync updates the Outlook folders "
        "as each profile's delete setting says.")
    return EXIT_OK


def cmd_import(ctx: Context) -> int:
    from ..core.contacts_io import plan_import, read_contacts

    args = ctx.args
    fmt, rows, file_warnings = read_contacts(args.file, args.format, args.encoding)
    store = ctx.store()
    plan = plan_import(rows, store.all_contacts(include_deleted=True),
                       allow_duplicates=args.allow_duplicates, warnings=file_warnings)
    blocked = bool(plan.invalid) and not args.skip_invalid
    imported: list[dict[str, Any]] = []
    backup = None
    if not blocked and not args.dry_run and plan.accepted:
        backup = store.backup("import")
        imported = store.add_contacts(plan.contacts())
    code = EXIT_CONFIG if blocked else EXIT_ITEMS if plan.invalid else EXIT_OK
    if ctx.json:
        emit_json({"file": args.file, "format": fmt, "dry_run": bool(args.dry_run), "rows": plan.rows_read,
                   "accepted": len(plan.accepted), "imported": len(imported),
                   "numbers": [c["no"] for c in imported], "invalid": [p.to_dict() for p in plan.invalid],
                   "duplicates": [p.to_dict() for p in plan.duplicates], "warnings": plan.warnings,
                   "backup": str(backup) if backup else None, "exit_code": code})
        return code
    for text in plan.warnings:
        warn(text)
    for problem in plan.duplicates:
        warn(f"skipped duplicate, {problem}")
    if plan.invalid:
        warn(f"{len(plan.invalid)} invalid row(s) in {args.file}:")
        for problem in plan.invalid:
            warn(f"  {problem}")
    if blocked:
        warn("Nothing was imported. Fix those rows, or pass --skip-invalid to import the others.")
        return code
    if args.dry_run:
        say(f"Dry run: {len(plan.accepted)} of {plan.rows_read} contact(s) in {args.file} would be imported.")
    elif imported:
        say(f"Imported {len(imported)} of {plan.rows_read} contact(s) from {args.file}. "
            f"Backup of the store before the import: {backup.name if backup else '-'}")
    else:
        say(f"Nothing to import from {args.file}: no new contacts.")
    return code


def cmd_export(ctx: Context) -> int:
    from ..core.contacts_io import export_contacts, format_for_export

    args = ctx.args
    contacts = _select(ctx, args)
    fmt = format_for_export(args.file, args.format)
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    try:
        export_contacts(args.file, contacts, fmt, delimiter=delimiter, bom=args.bom, vcard_version=args.vcard_version)
    except OSError as exc:
        raise CliError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    if ctx.json and args.file != "-":
        emit_json({"file": args.file, "format": fmt, "exported": len(contacts)})
    elif args.file != "-":
        say(f"Exported {len(contacts)} contact(s) to {args.file} ({fmt}).")
    return EXIT_OK
