"""Which master contacts a profile sends to Outlook, and which Outlook contacts it takes in (SPEC §1–2)."""

from __future__ import annotations

from typing import Any

from ..filters import ContactFilter
from ..model import PERSON


def outbound_reason(contact: dict[str, Any], contact_filter: ContactFilter | None) -> str | None:
    """None when the contact qualifies for the profile's folder, else why not."""
    if contact.get("deleted"):
        return "deleted in the master"
    if contact.get("type") != PERSON:
        return "not a person"
    if not (contact.get("email") or "").strip():
        return "no e-mail address"
    if contact.get("privacy_blocked"):
        return "privacy blocked"
    if contact_filter is not None and not contact_filter.matches(contact):
        return "outside the profile's filter"
    return None


def kept_outside_filter(contact: dict[str, Any], contact_filter: ContactFilter | None, pinned: bool) -> bool:
    """Linked although the filter leaves it out: the contact was in (or came from) the user's Outlook
    folder (a ``pinned`` link), so the sync keeps it there while it is still eligible."""
    return pinned and outbound_reason(contact, None) is None and outbound_reason(contact, contact_filter) is not None


def inbound_reason(fields: dict[str, Any]) -> str | None:
    """None when an Outlook contact can become a master contact, else why not."""
    has_name = any((fields.get(k) or "").strip() for k in ("name", "first_name", "surname", "company_name"))
    if not has_name:
        return "no name"
    if not (fields.get("email") or "").strip():
        return "no e-mail address"
    return None
