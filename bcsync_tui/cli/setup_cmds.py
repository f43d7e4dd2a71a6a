"""``bcsync setup``, ``bcsync filter`` and ``bcsync profiles``: BC's Exchange Sync Setup, Set Sync
Filter and the list of users' setups. Passwords come from standard input only and are never shown."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from ..core import model
from ..core.profiles import (AUTH_TYPES, MAX_IN_FLIGHT, TRANSPORTS, Profile, get_or_new_profile, list_profiles, load_profile,
                             save_profile)
from .common import field_key, plural
from .main import EXIT_CONFIG, EXIT_OK, CliError, Context
from .output import emit_json, fields_block, local_time, say, table, warn

MASTER_DELETE = {"move": "move_to_deleted_items", "delete": "delete", "unlink": "unlink"}
MASTER_DELETE_TEXT = {"move_to_deleted_items": "move the Outlook copy to Deleted Items",
                      "delete": "delete the Outlook copy", "unlink": "leave the Outlook copy, unlinked"}
LEAVE_FILTER_TEXT = {"remove": "remove it from the Outlook folder", "unlink": "leave it in Outlook, unlinked"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("setup", parents=[common], help="set up a profile's mailbox, or --validate / --show it")
    p.add_argument("--email", help="the mailbox's e-mail address")
    p.add_argument("--server", metavar="URL|auto", help="EWS URL (https://host/EWS/Exchange.asmx), or auto for autodiscover")
    p.add_argument("--username", help="sign-in name if not the e-mail address (DOMAIN\\user for NTLM)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password (or OAuth client secret) from standard input")
    p.add_argument("--transport", choices=TRANSPORTS,
                   help="ews: Exchange Server (on-premises); graph: Exchange Online (Microsoft 365) over Microsoft Graph")
    p.add_argument("--auth", choices=AUTH_TYPES, help="EWS authentication (default basic)")
    p.add_argument("--oauth-client-id", "--client-id", dest="oauth_client_id",
                   help="application (client) id: OAuth2 for EWS; for Graph your app registration (default: "
                        "Microsoft Graph Command Line Tools for a person)")
    p.add_argument("--oauth-tenant-id", "--tenant", dest="oauth_tenant_id",
                   help="tenant id or domain (contoso.com); Graph default for a person: organizations")
    p.add_argument("--authority", help="Graph: sign-in authority URL (default https://login.microsoftonline.com/TENANT)")
    p.add_argument("--graph-url", metavar="URL", help="Graph: API root (default https://graph.microsoft.com/v1.0)")
    p.add_argument("--ca-file", metavar="FILE", help="Graph: a CA certificate to trust besides the system's")
    p.add_argument("--client-secret-stdin", action="store_true",
                   help="Graph, administrators: sign in as the application (client credentials) with the secret "
                        "read from standard input; syncs /users/EMAIL")
    p.add_argument("--certificate", metavar="PEM",
                   help="Graph, administrators: client credentials with a certificate (PEM: private key + certificate)")
    p.add_argument("--device-code", action="store_true",
                   help="Graph: sign in as a person with a device code (the default)")
    p.add_argument("--sign-in", action="store_true", help="Graph: sign in again (device code) even if signed in")
    p.add_argument("--oauth-token-url", help="OAuth2 token endpoint (default: Microsoft's for the tenant; e.g. AD FS)")
    p.add_argument("--folder", metavar="NAME", help="the Outlook contact folder to sync (default 'Business Central')")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--insecure", action="store_true", help="do NOT verify the server's TLS certificate (this profile)")
    tls.add_argument("--verify-tls", action="store_true", help="verify TLS certificates again (the default)")
    p.add_argument("--interval", metavar="DURATION", help="automatic sync interval while the TUI runs, e.g. 30m; 0 = off")
    p.add_argument("--master-delete", choices=tuple(MASTER_DELETE),
                   help="contact deleted in the master: move its Outlook copy to Deleted Items, delete it, or unlink")
    p.add_argument("--leave-filter", choices=("remove", "unlink"),
                   help="contact leaves the filter: remove its Outlook copy, or unlink it")
    p.add_argument("--max-deletes", type=int, metavar="N", help="guard: abort a sync that would remove more than N")
    p.add_argument("--in-flight", type=int, metavar="N",
                   help="write requests a sync keeps in flight at once (1-8, default 4; Graph uses at most 4)")
    onoff = p.add_mutually_exclusive_group()
    onoff.add_argument("--enable", action="store_true", help="include the profile in scheduled syncs (default)")
    onoff.add_argument("--disable", action="store_true", help="leave the profile out of scheduled syncs")
    p.add_argument("--validate", action="store_true", help="check the connection (\"Validate Exchange Connection\")")
    p.add_argument("--show", action="store_true", help="show the profile's settings")
    p.add_argument("--timeout", type=float, default=15.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_setup)

    f = sub.add_parser("filter", parents=[common], help="the profile's sync filter (BC filter syntax)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_filter_show)
    fs = f.add_subparsers(dest="filter_command", metavar="ACTION")
    show = fs.add_parser("show", parents=[common], help="the filter and how many contacts match now (default)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_filter_show)
    st = fs.add_parser("set", parents=[common], help="set one field's condition, e.g. set 'Post Code' '0150..0190'")
    st.add_argument("field", metavar="FIELD", help="field key or caption (City, Post Code, Territory Code, ...)")
    st.add_argument("expression", metavar="EXPR", help="BC filter expression; empty clears the field")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_filter_set)
    cl = fs.add_parser("clear", parents=[common], help="remove one field's condition, or the whole filter")
    cl.add_argument("field", metavar="FIELD", nargs="?")
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(func=cmd_filter_clear)

    pr = sub.add_parser("profiles", parents=[common], help="list the sync profiles in this store")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_profiles)


# --- setup ---------------------------------------------------------------------------------------

_SETTINGS = ("email", "server", "username", "auth", "oauth_client_id", "oauth_tenant_id", "oauth_token_url", "folder",
             "insecure", "verify_tls", "interval", "master_delete", "leave_filter", "max_deletes", "in_flight", "enable", "disable",
             "password_stdin", "transport", "authority", "graph_url", "ca_file", "client_secret_stdin", "certificate",
             "device_code", "sign_in")


#: options whose text is a setting as given: option dest → Profile attribute
_TEXT_SETTINGS = {"username": "username", "oauth_client_id": "oauth_client_id", "oauth_tenant_id": "oauth_tenant_id",
                  "oauth_token_url": "oauth_token_url", "authority": "graph_authority", "graph_url": "graph_url"}


def _read_password(option: str = "--password-stdin", what: str = "password") -> str:
    if sys.stdin is None or sys.stdin.closed:
        raise CliError(f"{option}: there is no standard input to read the {what} from")
    if sys.stdin.isatty():
        secret = getpass.getpass(f"{what.capitalize()}: ")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise CliError(f"{option}: standard input gave an empty {what}; nothing was saved")
    return secret


def _apply(profile: Profile, args: argparse.Namespace) -> None:
    from ..core.schedule import ScheduleError, parse_duration

    if args.email is not None:
        profile.email = args.email.strip()
    if args.server is not None:
        profile.server_url = "" if args.server.strip().lower() in ("auto", "") else args.server.strip()
    for option, attr in _TEXT_SETTINGS.items():
        value = getattr(args, option)
        if value is not None:
            setattr(profile, attr, value.strip())
    for option, attr in (("ca_file", "ca_file"), ("certificate", "graph_certificate")):
        value = getattr(args, option)
        if value is not None:
            setattr(profile, attr, str(Path(value).expanduser().resolve()) if value.strip() else "")
    if args.auth:
        profile.auth_type = args.auth
    if args.transport:
        profile.transport = args.transport
    if args.client_secret_stdin or args.certificate:
        profile.graph_auth = "client_credentials"
    elif args.device_code:
        profile.graph_auth = "device_code"
    if args.folder is not None:
        profile.folder_name = args.folder.strip()
    if args.insecure:
        profile.verify_tls = False
    if args.verify_tls:
        profile.verify_tls = True
    if args.interval is not None:
        text = args.interval.strip().lower()
        try:
            profile.interval_minutes = 0 if text in ("0", "off", "") else max(1, round(parse_duration(text) / 60))
        except ScheduleError as exc:
            raise CliError(f"--interval: {exc}") from exc
    if args.master_delete:
        profile.master_delete_policy = MASTER_DELETE[args.master_delete]
    if args.leave_filter:
        profile.leave_filter_policy = args.leave_filter
    if args.max_deletes is not None:
        if args.max_deletes < 0:
            raise CliError("--max-deletes must be 0 or more")
        profile.max_deletes = args.max_deletes
    if args.in_flight is not None:
        if not 1 <= args.in_flight <= MAX_IN_FLIGHT:
            raise CliError(f"--in-flight must be a number from 1 to {MAX_IN_FLIGHT}")
        profile.in_flight = args.in_flight
    if args.enable:
        profile.enabled = True
    if args.disable:
        profile.enabled = False


def _check_combination(args: argparse.Namespace, profile: Profile) -> None:
    if args.password_stdin and args.client_secret_stdin:
        raise CliError("give either --password-stdin (EWS) or --client-secret-stdin (Graph), not both")
    graph_only = [o for o, v in (("--client-secret-stdin", args.client_secret_stdin), ("--certificate", args.certificate),
                                 ("--device-code", args.device_code), ("--sign-in", args.sign_in)) if v]
    if graph_only and profile.transport != "graph":
        raise CliError(f"{graph_only[0]} is for Microsoft Graph profiles: add --transport graph")


def _carry_links_over(ctx: Context, profile: Profile, secret: str | None) -> int:
    """EWS link ids → Graph ids (see core.sync.graph_move); 0 when that cannot be done now, and the
    next sync relinks by stamp instead."""
    from ..core.sync import events as ev
    from ..core.sync.graph_move import carry_links_over

    secrets = ctx.secrets()
    try:
        return carry_links_over(ctx.store(), profile, secrets, secret or secrets.get(profile.name),
                                timeout=ctx.args.timeout)
    except ev.SyncError as exc:
        if not ctx.json:
            say(f"The links could not be carried over to Graph's ids now ({exc}).")
        return 0


def _validate(ctx: Context, profile: Profile, secret: str | None) -> tuple[bool, str]:
    from ..core.sync.runner import validate_connection

    try:
        return validate_connection(profile, secret, timeout=ctx.args.timeout, secrets=ctx.secrets())
    except Exception as exc:  # an adapter error not yet translated: still a failed check, not a crash
        return False, f"Could not connect to Exchange: {type(exc).__name__}: {exc}"


def cmd_setup(ctx: Context) -> int:
    from ..core.profiles import needs_sign_in
    from .setup_graph import sign_in

    args = ctx.args
    store = ctx.store()
    changing = any(getattr(args, k) not in (None, False) for k in _SETTINGS)
    if not (changing or args.validate or args.show):
        raise CliError("nothing to do: give settings (e.g. --email ann@example.com --server auto --password-stdin), "
                       "--validate or --show (see `bcsync setup --help`)")
    secrets = ctx.secrets()
    validation = None
    if changing:
        exists = any(p.name == ctx.profile for p in list_profiles(store))
        profile = get_or_new_profile(store, ctx.profile)
        before = Profile.from_doc(profile.to_doc())
        _apply(profile, args)
        _check_combination(args, profile)
        errors = profile.validate()
        if not profile.email:
            errors.setdefault("email", "is needed: give --email")
        if errors:
            raise CliError(f"the setup of profile {ctx.profile!r} is not valid; nothing was saved:",
                           details=[f"  {k.replace('_', ' ')}: {m}" for k, m in errors.items()])
        secret = None
        if args.password_stdin:
            secret = _read_password()
        elif args.client_secret_stdin:
            secret = _read_password("--client-secret-stdin", "client secret")
        moved = exists and before.transport != profile.transport
        if moved:
            profile.forget_server_state()
        if needs_sign_in(profile, before if exists else None, secrets, force=args.sign_in):
            sign_in(ctx, profile, secrets)
        if args.validate and (secret is not None or args.certificate):
            # Check a new secret (or certificate) before it replaces one that may still work (issue 15).
            ok, message = _validate(ctx, profile, secret if secret is not None else secrets.get(profile.name))
            validation = {"ok": ok, "message": message}
            if not ok:
                if secret is None:
                    what = "The certificate did not work; nothing was saved"
                else:
                    kept = "the old one is kept" if secrets.get(profile.name) is not None else "none is stored"
                    what = (f"The new {'client secret' if args.client_secret_stdin else 'password'} did not work "
                            f"and was not saved ({kept})")
                raise CliError(message, details=[f"{what}; the profile's settings were not changed either."])
        save_profile(store, profile)
        if secret is not None:
            secrets.set(profile.name, secret)
        carried = _carry_links_over(ctx, profile, secret) if moved and profile.transport == "graph" else None
        if not ctx.json:
            where = profile.transport_label if profile.transport == "graph" else (profile.server_url or "autodiscover")
            say(f"{'Updated' if exists else 'Created'} profile {profile.name!r} ({profile.email}, {where}).")
            if carried:
                say(f"The profile now syncs over {profile.transport_label}; {plural(carried, 'link')} "
                    f"{'was' if carried == 1 else 'were'} carried over to "
                    "Graph's ids, so the next sync merges as before (nothing is created twice or deleted).")
            elif moved:
                say(f"The profile now syncs over {profile.transport_label}; the next sync relinks the folder's "
                    "contacts by their stamps (nothing is created twice or deleted).")
            if secret is not None:
                say(f"{'Client secret' if args.client_secret_stdin else 'Password'} stored in {secrets.where}.")
            if not profile.verify_tls:
                say("Warning: TLS certificates are NOT verified for this profile (--insecure).")
    profile = load_profile(store, ctx.profile)
    code = EXIT_OK
    if args.validate:
        if validation is None:
            ok, message = _validate(ctx, profile, secrets.get(profile.name))
            validation = {"ok": ok, "message": message}
        code = EXIT_OK if validation["ok"] else EXIT_CONFIG
        if not ctx.json:
            say(validation["message"]) if validation["ok"] else warn(validation["message"])  # escapes control codes
    if ctx.json:
        emit_json({"profile": profile_dict(ctx, profile), "validation": validation, "exit_code": code})
    elif args.show:
        show_profile(ctx, profile)
    return code


def profile_dict(ctx: Context, profile: Profile) -> dict[str, Any]:
    """A profile's settings for --json: never its password, nor the engine's internal state."""
    from ..core.filters import ContactFilter, FilterError

    try:
        description = ContactFilter.from_dict(profile.filter).describe()
    except FilterError as exc:
        description = f"invalid: {exc}"
    return {"name": profile.name, "enabled": profile.enabled, "configured": profile.configured,
            "email": profile.email, "server_url": profile.server_url, "auth_type": profile.auth_type,
            "username": profile.username, "folder_name": profile.folder_name, "verify_tls": profile.verify_tls,
            "filter": dict(profile.filter), "filter_description": description,
            "interval_minutes": profile.interval_minutes, "master_delete_policy": profile.master_delete_policy,
            "leave_filter_policy": profile.leave_filter_policy, "max_deletes": profile.max_deletes,
            "max_delete_fraction": profile.max_delete_fraction, "in_flight": profile.in_flight, "oauth_client_id": profile.oauth_client_id,
            "oauth_tenant_id": profile.oauth_tenant_id, "oauth_token_url": profile.oauth_token_url,
            "transport": profile.transport, "graph_auth": profile.graph_auth, "authority": profile.authority,
            "graph_url": profile.graph_root, "ca_file": profile.ca_file, "certificate": profile.graph_certificate,
            "password_set": ctx.secrets().get(profile.name) is not None}


def show_profile(ctx: Context, profile: Profile) -> None:
    d = profile_dict(ctx, profile)
    secrets = ctx.secrets()
    user = profile.username or profile.email
    if profile.transport == "graph":
        from .setup_graph import graph_rows

        connection = graph_rows(profile, secrets, d["password_set"])
    else:
        connection = [
            ("Server", profile.server_url or "autodiscover"),
            ("Authentication", f"{profile.auth_type}, as {user}" if user else profile.auth_type),
            ("Password", f"stored in {secrets.where}" if d["password_set"] else "not set (use --password-stdin)")]
    fields_block([
        ("Profile", profile.name), ("Enabled", "yes" if profile.enabled else "no (left out of scheduled syncs)"),
        ("Mailbox", profile.email or "(not set)"), ("Transport", profile.transport_label), *connection,
        ("TLS", "certificates verified" if profile.verify_tls else "NOT verified (--insecure)"),
        ("Folder", profile.folder_name), ("Filter", d["filter_description"] or "(none: all contacts)"),
        ("Sync interval", f"{profile.interval_minutes} min" if profile.interval_minutes else "off"),
        ("Deleted in master", MASTER_DELETE_TEXT.get(profile.master_delete_policy, profile.master_delete_policy)),
        ("Leaves the filter", LEAVE_FILTER_TEXT.get(profile.leave_filter_policy, profile.leave_filter_policy)),
        ("Delete guard", f"abort above {profile.max_deletes} deletes or "
                         f"{profile.max_delete_fraction:.0%} of the linked contacts (--force overrides)"),
        ("Requests in flight", f"up to {profile.in_flight} at once"),
    ])


# --- filter --------------------------------------------------------------------------------------

def _filter_report(ctx: Context, profile: Profile) -> dict[str, Any]:
    from ..core.filters import ContactFilter
    from ..core.sync.eligibility import outbound_reason

    cf = ContactFilter.from_dict(profile.filter)
    contacts = ctx.store().contacts_raw()
    matching = cf.select(contacts)
    eligible = sum(1 for c in matching if outbound_reason(c, None) is None)
    return {"profile": profile.name, "filter": cf.to_dict(), "description": cf.describe(),
            "contacts": len(contacts), "matching": len(matching), "eligible": eligible}


def _print_filter(report: dict[str, Any]) -> None:
    if report["filter"]:
        fields_block([(model.FIELD_BY_KEY[k].caption, v) for k, v in report["filter"].items()])
    else:
        say("No filter: every contact qualifies.")
    matches = "matches" if report["matching"] == 1 else "match"
    say(f"{report['matching']:,} of {plural(report['contacts'], 'contact')} {matches}; "
        f"{report['eligible']:,} of them {'goes' if report['eligible'] == 1 else 'go'} to Outlook "
        "(persons with an e-mail address, not privacy blocked).")


def cmd_filter_show(ctx: Context) -> int:
    report = _filter_report(ctx, get_or_new_profile(ctx.store(), ctx.profile))
    emit_json(report) if ctx.json else _print_filter(report)
    return EXIT_OK


def _save_filter(ctx: Context, profile: Profile, exprs: dict[str, str]) -> int:
    from ..core.filters import ContactFilter

    profile.filter = ContactFilter(exprs).to_dict()  # raises FilterError (exit 3) before saving
    save_profile(ctx.store(), profile)
    report = _filter_report(ctx, profile)
    emit_json(report) if ctx.json else _print_filter(report)
    return EXIT_OK


def cmd_filter_set(ctx: Context) -> int:
    from ..core.filters import validate_expression

    key = field_key(ctx.args.field)
    error = validate_expression(key, ctx.args.expression)
    if error is not None:
        raise error
    profile = get_or_new_profile(ctx.store(), ctx.profile)
    exprs = dict(profile.filter)
    exprs[key] = ctx.args.expression
    return _save_filter(ctx, profile, exprs)


def cmd_filter_clear(ctx: Context) -> int:
    profile = get_or_new_profile(ctx.store(), ctx.profile)
    exprs = dict(profile.filter)
    if ctx.args.field:
        key = field_key(ctx.args.field)
        if key not in exprs:
            raise CliError(f"the filter has no condition on {model.FIELD_BY_KEY[key].caption}")
        del exprs[key]
    else:
        exprs = {}
    return _save_filter(ctx, profile, exprs)


# --- profiles ------------------------------------------------------------------------------------

def cmd_profiles(ctx: Context) -> int:
    from ..core.history import list_runs
    from ..core.records import RunRecord

    store = ctx.store()
    rows = []
    for p in list_profiles(store):
        last = next((RunRecord.from_doc(r) for r in list_runs(store, p.name, limit=1)), None)
        rows.append({"name": p.name, "enabled": p.enabled, "configured": p.configured, "email": p.email,
                     "server_url": p.server_url, "folder_name": p.folder_name,
                     "last_run": {"started_at": last.started_at, "status": last.status_value} if last else None})
    if ctx.json:
        emit_json({"default_profile": ctx.profile, "profiles": rows})
        return EXIT_OK
    if not rows:
        say("No profiles yet. Create one with `bcsync setup --email ... --server auto --password-stdin`.")
        return EXIT_OK
    table(["Profile", "Enabled", "Mailbox", "Server", "Folder", "Last sync"],
          [[("* " if r["name"] == ctx.profile else "  ") + r["name"], "yes" if r["enabled"] else "no",
            r["email"] or "(not set up)", r["server_url"] or "autodiscover", r["folder_name"],
            f"{local_time(r['last_run']['started_at'])} {r['last_run']['status']}" if r["last_run"] else "never"]
           for r in rows])
    return EXIT_OK
