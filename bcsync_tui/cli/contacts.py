"""``bcsync contacts list|show|add|edit|delete``: the contact master from the shell (import and export:
``contacts_transfer``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import model
from ..core.contact_docs import filled
from .common import confirm, field_key, filter_from_args, plural, split_assignment
from .main import EXIT_OK, CliError, Context
from .output import emit_json, fields_block, say, table

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

    from .contacts_transfer import register as register_transfer

    register_transfer(cs, common, _filter_options)


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


def select_contacts(ctx: Context, args: argparse.Namespace) -> list[dict[str, Any]]:
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
    whole = filled(contact)  # (a stored document leaves its blank fields out)
    return {k: whole[k] for k in keys}


def cmd_list(ctx: Context) -> int:
    args = ctx.args
    contacts = select_contacts(ctx, args)
    if ctx.json:
        keys = ALL_KEYS if args.all_fields else JSON_LIST_KEYS
        emit_json({"count": len(contacts), "contacts": [_public(c, keys) for c in contacts]})
        return EXIT_OK
    keys = ALL_KEYS if args.all_fields else LIST_KEYS
    table([model.FIELD_BY_KEY[k].caption for k in keys],
          [[model.display_value(c, k) for k in keys] for c in contacts])
    say(plural(len(contacts), "contact"))
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
