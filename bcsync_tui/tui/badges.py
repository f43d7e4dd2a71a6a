"""Per-contact sync badges for one profile: where a contact stands with that user's Outlook folder.

Pure (no Textual import) so it can move to ``core`` unchanged. The list computes badges only for
the rows on screen, so :class:`BadgeSource` prepares the lookups once per store generation and
:func:`contact_badge` stays a few dictionary reads per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.filters import ContactFilter, FilterError
from ..core.history import list_conflicts
from ..core.profiles import get_or_new_profile
from ..core.records import LinkIndex, LinkRow
from ..core.sync.eligibility import kept_outside_filter as core_kept
from ..core.sync.eligibility import outbound_reason
from ..core.words import KEPT_TEXT, KEPT_WHERE, kept_count_text  # noqa: F401 (used here, and by the screens from here)

if TYPE_CHECKING:  # `bcsync status` imports this module without loading a store
    from ..core.store import Store

OUT = "out"
ERROR = "error"
CONFLICT = "conflict"
SYNCED = "synced"
PENDING = "pending"
KEPT = "kept"
BADGES = (SYNCED, PENDING, KEPT, CONFLICT, ERROR, OUT)


#: what each badge means, for the help screen and the contact card
BADGE_HELP = {
    SYNCED: "in the profile's Outlook folder and unchanged since the last sync",
    PENDING: "goes to (or changes in) Outlook at the next sync",
    KEPT: "in your Outlook folder although outside the filter: it came from (or was already in) that folder, "
          "so it stays there and keeps syncing",
    CONFLICT: "both sides changed a field; the master won and the Outlook value is in the conflict log",
    ERROR: "the last sync failed for this contact; it is retried at the next sync",
    OUT: "not synced: outside the profile's filter or not eligible (not a person, no e-mail, privacy blocked)",
}


def kept_outside_filter(contact: dict[str, Any], contact_filter: ContactFilter | None,
                        link: LinkRow | None) -> bool:
    """Linked although the filter leaves it out: the contact was in (or came from) the user's
    Outlook folder (a ``pinned`` link), so the sync keeps it there while it is still eligible."""
    return core_kept(contact, contact_filter, link is not None and link.pinned)


def contact_badge(contact: dict[str, Any], contact_filter: ContactFilter | None,
                  link: LinkRow | None, has_conflict: bool) -> str:
    """The one place that decides a contact's badge.

    A linked contact that came from the user's Outlook folder (``pinned``) stays there whatever the
    filter says, so it is judged by its link, not by the filter, and shown as kept when the filter
    would leave it out.
    """
    pinned = link is not None and link.pinned
    if not pinned and outbound_reason(contact, contact_filter) is not None:
        return OUT
    if link is not None and link.error:
        return ERROR
    if has_conflict:
        return CONFLICT
    if kept_outside_filter(contact, contact_filter, link):
        return KEPT
    if link is not None and contact.get("revision") == link.synced_revision:
        return SYNCED
    return PENDING


def count_kept(contacts: list[dict[str, Any]], contact_filter: ContactFilter | None, links: LinkIndex) -> int:
    """How many contacts are kept in the Outlook folder outside the filter (``links`` by contact uuid)."""
    return sum(1 for c in contacts if core_kept(c, contact_filter, links.pinned(c.get("uuid", ""))))


@dataclass
class BadgeSource:
    """The lookups :func:`contact_badge` needs for one profile, built from the store in one pass."""

    contact_filter: ContactFilter | None = None
    conflicted: set[str] = field(default_factory=set)
    #: the profile's saved filter does not compile (the sync refuses to run until it is fixed)
    filter_error: FilterError | None = None
    #: the links index, or how to read it when first needed (``links``)
    _links: LinkIndex | Callable[[], LinkIndex] = field(default_factory=lambda: LinkIndex({}), repr=False)

    @classmethod
    def build(cls, store: Store, profile_name: str) -> BadgeSource:
        """The lookups for ``profile_name``; its links are read when a badge is first asked for
        (after a sync's reload that is the next frame's, not the reload's: ~20 ms at 50,000 links)."""
        profile = get_or_new_profile(store, profile_name)
        source = cls()
        try:
            source.contact_filter = ContactFilter.from_dict(profile.filter)
        except FilterError as exc:
            source.filter_error = exc
        source._links = lambda: store.links_by_contact(profile_name)
        source.conflicted = {c["contact_uuid"] for c in list_conflicts(store, profile_name) if not c.get("reapplied")}
        return source

    @property
    def links(self) -> LinkIndex:
        if callable(self._links):
            self._links = self._links()
        return self._links

    def badge(self, contact: dict[str, Any]) -> str:
        uuid = contact.get("uuid", "")
        return contact_badge(contact, self.contact_filter, self.links.get(uuid), uuid in self.conflicted)

    def reason(self, contact: dict[str, Any]) -> str:
        """A sentence for the contact card: the badge and, for "out", why."""
        badge = self.badge(contact)
        if badge == OUT:
            return f"{OUT}: {outbound_reason(contact, self.contact_filter)}"
        link = self.links.get(contact.get("uuid", ""))
        if badge == ERROR and link is not None:
            return f"{ERROR}: {link.error}"
        if badge == KEPT:
            return f"{KEPT_TEXT} (it stays there and keeps syncing)"
        return f"{badge}: {BADGE_HELP[badge]}"
