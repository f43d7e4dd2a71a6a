"""How the store keeps a contact (schema 4): its document leaves out every field at its blank value.

A contact has 29 fields and most hold nothing (no fax, no second e-mail, no county...): at 50,000
contacts the blanks were 600,000 entries decoded at every open (a third of reading the store:
~70 ms of the TUI's first screen), and ~35 MiB of a process's memory. A stored document holds
the identity and bookkeeping fields (``ALWAYS_STORED``) and every other field whose value is not
its blank; a field it leaves out reads as its blank (``model.blank_contact()``).

Readers of the store's own documents (``Store.contacts_raw``, a sync's snapshot, the TUI's list)
read fields with ``.get`` and treat a missing one as blank, as they always did for a document
written before a field existed. Every contact the store hands out as a copy (``get_contact``,
``all_contacts``, ``add_contact``, ...) is ``filled``: whole, every field in the model's order.
A whole document is a valid stored one too (a schema-3 store is made sparse by its migration).
"""

from __future__ import annotations

from typing import Any

from . import model

#: the fields every stored contact holds, blank or not (what identifies and orders it)
ALWAYS_STORED = ("no", "uuid", "type", "name", "created_at", "modified_at", "revision")
#: the fields a stored contact leaves out while they hold this value
OMITTED_BLANKS: dict[str, Any] = {k: v for k, v in model._BLANK.items() if k not in ALWAYS_STORED}


def stored(contact: dict[str, Any]) -> dict[str, Any]:
    """The document the store keeps for ``contact``: a new dict without the fields at their blank
    value. The blanks are "" and False, one object each in CPython (every empty str is the one
    empty str), so a blank is found by identity: one lookup a field (a quarter quicker than
    comparing), and a value that only equals a blank (0 for False) is kept as it is, as are keys
    the model does not know (a tombstone's ``deleted``)."""
    get, keep = OMITTED_BLANKS.get, _KEEP
    return {k: v for k, v in contact.items() if v is not get(k, keep)}


_KEEP = object()  # (what no value is)


def filled(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as a whole contact: a new dict with every field of the model, in its
    order (those the document leaves out at their blank), then any other key it holds."""
    return {**model._BLANK, **doc}
