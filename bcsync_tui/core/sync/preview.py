"""A dry run's preview: one row per planned action, and the summary counts of the same rows.

Rows and counts come from one loop, so they agree: an update that would only stamp an item (no
field changes) is neither a row nor an "update"; every row names its contact (No. and name, or
the Outlook item for an import)."""

from __future__ import annotations

from typing import Any

from ..records import PlanRow, RunCounts
from .planner import Plan, UnlinkKind


def preview(plan: Plan, contacts: dict[str, dict[str, Any]], link_owner: dict[str, str],
            counts: RunCounts) -> list[PlanRow]:
    """The rows of ``plan``; adds what they count to ``counts``. ``link_owner``: item id → contact uuid."""

    def label(uuid: str) -> tuple[str, str]:
        c = contacts.get(uuid) or {}
        return c.get("no") or uuid[:8], c.get("name") or c.get("email") or "(no name)"

    rows: list[PlanRow] = []
    for rc in plan.remote_creates:
        rows.append(PlanRow("recreate" if rc.recreate else "create", "outlook", *label(rc.uuid),
                            "deleted in Outlook; recreated" if rc.recreate else ""))
        if rc.recreate:
            counts.outlook_recreated += 1
        else:
            counts.outlook_created += 1
    for ru in plan.remote_updates:
        if ru.fields:
            rows.append(PlanRow("update", "outlook", *label(ru.uuid), ", ".join(sorted(ru.fields))))
            counts.outlook_updated += 1
    for rd in plan.remote_deletes:
        rows.append(PlanRow("delete", "outlook", *label(rd.uuid), rd.reason))
        counts.outlook_deleted += 1
    for mc in plan.master_creates:
        name = mc.contact.get("name") or mc.contact.get("email") or mc.item.item_id[:16]
        rows.append(PlanRow("create", "master", "(new)", name, "imported from Outlook"))
        counts.master_created += 1
    for mu in plan.master_updates:
        rows.append(PlanRow("update", "master", *label(mu.uuid), ", ".join(sorted(mu.changes))))
        counts.master_updated += 1
    for unlink in plan.unlink_items:
        owner = link_owner.get(unlink.item_id)
        no, name = label(owner) if owner else (unlink.item_id[:16], "(Outlook item)")
        if unlink.kind is UnlinkKind.REPLACED:
            rows.append(PlanRow("relink", "link", no, name, unlink.reason))
            counts.relinked += 1
        else:
            rows.append(PlanRow("unlink", "link", no, name, unlink.reason))
            counts.unlinked += 1
    for conflict in plan.conflicts:
        rows.append(PlanRow("conflict", "master", *label(conflict.uuid),
                            f"{conflict.key}: master {conflict.master!r} wins over Outlook {conflict.outlook!r}"))
        counts.conflicts += 1
    return rows
