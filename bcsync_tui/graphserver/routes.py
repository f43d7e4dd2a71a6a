"""Which handler a Graph URL names, and whose mailbox it acts on.

``/me/…`` needs a delegated token; ``/users/{id|userPrincipalName}/…`` an application token (or a delegated
token for the signed-in user themself). Below that: ``contactFolders[/{id}[/childFolders/{id}…]]``,
``…/contacts[/{id}[/permanentDelete]]``, ``…/contacts/delta``, ``contacts…`` (the default Contacts folder)
``translateExchangeIds`` and the user itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..ewsserver.mailbox import Folder, Mailbox, Store
from . import contacts, folders, ids
from .auth import Principal, user_object_id
from .calls import Call, Reply
from .errors import GraphError, method_not_allowed, not_found

_DELTA = {"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"}


@dataclass
class Route:
    operation: str
    mailbox: Mailbox
    run: Callable[[Call], Reply]


def find_mailbox(store: Store, principal: Principal, segments: list[str]) -> tuple[Mailbox, list[str], str]:
    """(mailbox, the segments below it, the owner for @odata.context)."""
    if not segments:
        raise GraphError(400, "BadRequest", "Invalid request.")
    head = segments[0].lower()
    if head == "me":
        if not principal.delegated:
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        mbx = store.mailbox(principal.user or "")
        rest = segments[1:]
    elif head == "users" and len(segments) > 1:
        who = segments[1].lower()
        mbx = store.mailbox(who) or next((m for m in store.mailboxes.values()
                                          if user_object_id(m.email) == who), None)
        if mbx is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segments[1]}' is invalid.")
        if principal.delegated and mbx.email.lower() != (principal.user or "").lower():
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        rest = segments[2:]
    else:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segments[0]}'.")
    if mbx is None:
        raise GraphError(404, "ErrorInvalidUser", "The requested user is invalid.")
    if not principal.may_open(mbx.email):  # no admin consent, or outside the app's RBAC scope
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return mbx, rest, f"users('{mbx.email}')"


def route(store: Store, mbx: Mailbox, method: str, rest: list[str], rounds, ignore_if_match: Callable[[], bool]
          ) -> Route:
    def r(op: str, fn: Callable[[Call], Reply], *methods: str) -> Route:
        if methods and method not in methods:
            raise method_not_allowed()
        return Route(op, mbx, fn)

    if not rest:
        return r("getUser", lambda c: Reply(200, {
            "@odata.context": f"{c.graph_url}/$metadata#users/$entity", "id": user_object_id(mbx.email),
            "displayName": mbx.display_name, "mail": mbx.email, "userPrincipalName": mbx.email}), "GET")
    head = rest[0].lower()
    default = mbx.distinguished("contacts")
    if default is None:
        raise GraphError(404, "ErrorItemNotFound", "The mailbox has no Contacts folder.")
    if head == "contactfolders":
        if len(rest) == 1:
            return (r("listContactFolders", lambda c: folders.list_folders(c, default)) if method == "GET" else
                    r("createContactFolder", lambda c: folders.create_folder(c, default), "POST"))
        folder = ids.find_folder(store, mbx, rest[1])
        i = 2
        while i + 1 < len(rest) and rest[i].lower() == "childfolders":
            folder = _child(store, mbx, folder, rest[i + 1])
            i += 2
        tail = rest[i:]
        if not tail:
            op = {"GET": "getContactFolder", "PATCH": "updateContactFolder", "DELETE": "deleteContactFolder"}
            return r(op.get(method, "contactFolder"), lambda c: folders.folder_call(c, folder), *op)
        if [s.lower() for s in tail] == ["childfolders"]:
            return (r("listContactFolders", lambda c: folders.list_folders(c, folder)) if method == "GET" else
                    r("createContactFolder", lambda c: folders.create_folder(c, folder), "POST"))
        if tail[0].lower() == "contacts":
            return _contacts(store, mbx, method, folder, tail[1:], rounds, ignore_if_match, r)
    elif head == "mailfolders" and len(rest) == 2 and rest[1].lower() == "deleteditems":
        trash = mbx.distinguished("deleteditems")  # only the well-known name the sync asks for
        if trash is None:
            raise not_found()
        return r("getMailFolder", lambda c: Reply(200, {
            "@odata.context": f"{c.graph_url}/$metadata#users('{mbx.email}')/mailFolders/$entity",
            "id": ids.folder_id(mbx, trash), "displayName": trash.name}), "GET")
    elif head == "translateexchangeids" and len(rest) == 1:
        return r("translateExchangeIds", lambda c: Reply(200, {
            "@odata.context": f"{c.graph_url}/$metadata#Collection(microsoft.graph.convertIdResult)",
            "value": ids.translate(store, mbx, c.body)}), "POST")
    elif head == "contacts":
        return _contacts(store, mbx, method, default, rest[1:], rounds, ignore_if_match, r, in_folder=False)
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")


def _child(store: Store, mbx: Mailbox, parent: Folder, value: str) -> Folder:
    folder = ids.find_folder(store, mbx, value)
    if folder.parent != parent.serial:
        raise not_found()
    return folder


def _contacts(store: Store, mbx: Mailbox, method: str, folder: Folder, tail: list[str], rounds,
              ignore_if_match, r, in_folder: bool = True) -> Route:
    if not tail:
        return (r("listContacts", lambda c: contacts.list_contacts(c, folder)) if method == "GET" else
                r("createContact", lambda c: contacts.create_contact(c, folder), "POST"))
    if len(tail) == 1 and tail[0].lower() in _DELTA:
        return r("contactsDelta", lambda c: rounds.call(c, folder), "GET")
    item = ids.find_item(store, mbx, tail[0])
    if in_folder and item.folder != folder.serial:
        raise not_found()
    if len(tail) == 1:
        op = {"GET": "getContact", "PATCH": "updateContact", "DELETE": "deleteContact"}
        return r(op.get(method, "contact"), lambda c: contacts.contact_call(c, item, ignore_if_match()), *op)
    if len(tail) == 2 and tail[1].lower() == "permanentdelete":
        return r("permanentDeleteContact", lambda c: contacts.permanent_delete(c, item), "POST")
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{tail[-1]}'.")
