"""What every operation needs: the request context, folder/item resolution and response messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable

from .mailbox import KIND_FOLDER, KIND_ITEM, Folder, Item, Mailbox, Store
from .soap import EwsError, Request, backoff_xml, el, local_name, m, schema_error, sub, t

#: EWS throttling policy EWSFindCountLimit: at most 1,000 items (or folders) in one FindItem/FindFolder
#: page; a paged request asking for more gets 1,000 and IncludesLastItemInRange=false. Default of the
#: Exchange 2010 SP1+ throttling policy ("Throttling Policies and the EWSFindCountLimit", Microsoft
#: Exchange Developer blog, 2010-03-12; Exchange 2013-2019 keep the default).
FIND_COUNT_LIMIT = 1000
#: SyncFolderItems MaxChangesReturned is typed MaxSyncChangesReturnedType in messages.xsd: an int from 1
#: to 512 ("MaxChangesReturned" reference page); anything else fails schema validation.
MAX_SYNC_CHANGES = 512


class Context:
    """One request: who is calling, which operation, the store, faults and stats."""

    def __init__(self, store: Store, user: Mailbox, request: Request, request_id: int, faults, counters):
        self.store, self.user, self.request, self.request_id = store, user, request, request_id
        self.faults, self.counters = faults, counters
        self.operation = request.operation
        self.now = store.now()

    # --- access ----------------------------------------------------------------------------------
    def check_access(self, mbx: Mailbox) -> None:
        if mbx is not self.user and self.user.email.lower() not in mbx.delegates:
            raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    def mailbox_by_email(self, email: str | None) -> Mailbox:
        if not email:
            return self.user
        mbx = self.store.mailbox(email.strip())
        if mbx is None:
            raise EwsError("ErrorNonExistentMailbox", f"No mailbox with such guid or SMTP address: {email}")
        self.check_access(mbx)
        return mbx

    def resolve_folder(self, elem: ET.Element) -> tuple[Mailbox, Folder]:
        kind = local_name(elem.tag)
        if kind == "DistinguishedFolderId":
            mb = elem.find(t("Mailbox"))
            email = mb.findtext(t("EmailAddress")) if mb is not None else None
            mbx = self.mailbox_by_email(email)
            folder = mbx.distinguished(elem.get("Id") or "")
            if folder is None:
                raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
            return mbx, folder
        if kind == "FolderId":
            mbx, serial = self.store.decode_id(elem.get("Id"), KIND_FOLDER)
            self.check_access(mbx)
            folder = mbx.folders.get(serial)
            if folder is None:
                raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
            return mbx, folder
        raise schema_error(f"'{kind}' is not a folder id.")

    def resolve_item(self, elem: ET.Element) -> tuple[Mailbox, Item]:
        if local_name(elem.tag) not in ("ItemId", "OccurrenceItemId", "RecurringMasterItemId"):
            raise schema_error(f"'{local_name(elem.tag)}' is not an item id.")
        mbx, serial = self.store.decode_id(elem.get("Id"), KIND_ITEM)
        self.check_access(mbx)
        item = mbx.items.get(serial)
        if item is None:
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
        return mbx, item

    def one_folder(self, holder: ET.Element | None, what: str) -> tuple[Mailbox, Folder]:
        if holder is None or len(holder) != 1:
            raise schema_error(f"{what} must hold exactly one folder id.")
        return self.resolve_folder(holder[0])

    # --- faults ----------------------------------------------------------------------------------
    def item_fault(self, index: int, info: Callable[[], dict]) -> EwsError | None:
        if self.faults is None or not self.faults.has_item_rules(self.operation, self.request_id):
            return None
        hit = self.faults.item_error(self.operation, self.request_id, index, info)
        if hit is None:
            return None
        code, message, backoff = hit
        text = message or {"ErrorServerBusy": "The server cannot service this request right now. Try again later.",
                           "ErrorItemSave": "The item could not be saved.",
                           "ErrorQuotaExceeded": "The mailbox quota has been exceeded."}.get(code, code)
        return EwsError(code, text, message_xml=backoff_xml(backoff) if backoff else None)

    def wrote(self, n: int = 1) -> None:
        self.store.changed()
        if self.counters is not None:
            self.counters.add_writes(n)


# --- response messages ------------------------------------------------------------------------------

def response(op: str, messages: list[ET.Element]) -> ET.Element:
    return el(m(f"{op}Response"), children=[el(m("ResponseMessages"), children=messages)])


def ok(op: str, *children: ET.Element | None) -> ET.Element:
    msg = el(m(f"{op}ResponseMessage"), {"ResponseClass": "Success"})
    sub(msg, m("ResponseCode"), text="NoError")
    for c in children:
        if c is not None:
            msg.append(c)
    return msg


def error(op: str, err: EwsError, *children: ET.Element | None) -> ET.Element:
    msg = el(m(f"{op}ResponseMessage"), {"ResponseClass": err.response_class})
    sub(msg, m("MessageText"), text=err.text or err.code)
    sub(msg, m("ResponseCode"), text=err.code)
    sub(msg, m("DescriptiveLinkKey"), text="0")
    if err.message_xml is not None:
        mx = el(m("MessageXml"), children=list(err.message_xml))
        msg.append(mx)
    for c in children:
        if c is not None:
            msg.append(c)
    return msg


def choice(body: ET.Element, attr: str, choices: tuple[str, ...], default: str | None = None) -> str:
    """An enumerated attribute of the request, or the schema error Exchange gives for it."""
    value = body.get(attr, default)
    if value not in choices:
        raise schema_error(f"The '{attr}' attribute is invalid - The value '{value}' is invalid.")
    return value


def required(body: ET.Element, tag: str, op: str) -> ET.Element:
    """A child element the operation cannot do without, or a schema error."""
    found = body.find(m(tag))
    if found is None:
        raise schema_error(f"{op} needs {tag}.")
    return found


def per_element(op: str, elements, handle: Callable[[int, ET.Element], list[ET.Element]],
                empty: str | None = "Items") -> ET.Element:
    """One response message per request element, as Exchange answers bulk calls: ``handle(index,
    element)`` gives the children of its success message; an EwsError it raises becomes that
    element's error message (with an empty ``empty`` container), and the others go on."""
    msgs = []
    for index, element in enumerate(elements):
        try:
            msgs.append(ok(op, *handle(index, element)))
        except EwsError as e:
            msgs.append(error(op, e, container(empty)) if empty else error(op, e))
    return response(op, msgs)


def container(name: str, *children: ET.Element) -> ET.Element:
    return el(m(name), children=children)


def paging(view: ET.Element | None, total: int) -> tuple[int, int]:
    """(offset, max entries) of an IndexedPage*View / FractionalPage*View / ContactsView, capped at
    EWSFindCountLimit."""
    if view is None:
        return 0, min(total, FIND_COUNT_LIMIT)
    try:
        max_entries = int(view.get("MaxEntriesReturned", str(FIND_COUNT_LIMIT)))
        kind = local_name(view.tag)
        if kind.startswith("Fractional"):
            num, den = int(view.get("Numerator", "0")), int(view.get("Denominator", "1"))
            offset = (total * num) // den if den > 0 else 0
        else:
            offset = int(view.get("Offset", "0")) if kind.startswith("Indexed") else 0
            if view.get("BasePoint", "Beginning") == "End":
                offset = max(0, total - offset - max_entries)
    except ValueError:
        raise schema_error("The paging view has an invalid number.") from None
    if max_entries < 1 or offset < 0:
        raise schema_error("MaxEntriesReturned must be at least 1 and Offset at least 0.")
    return offset, min(max_entries, FIND_COUNT_LIMIT)


def root_folder(offset: int, returned: int, total: int, inner: ET.Element) -> ET.Element:
    end = offset + returned
    return el(m("RootFolder"), {"IndexedPagingOffset": str(end), "TotalItemsInView": str(total),
                                "IncludesLastItemInRange": "true" if end >= total else "false"}, children=[inner])
