"""Counts in words, the one way the core, the CLI and the TUI say how many of something there are."""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 conflict``, ``2 conflicts``, ``1,204 contacts``: the one way the CLI and the TUI count things."""
    return f"{n:,} {singular if n == 1 else plural_form or singular + 's'}"


#: how a contact kept in the Outlook folder outside the filter is explained wherever it is counted
#: (status, history, the list, the card)
KEPT_WHERE = "in your Outlook folder, outside the filter"
KEPT_TEXT = f"kept: {KEPT_WHERE}"


def kept_count_text(n: int) -> str:
    """``kept: 3 in your Outlook folder, outside the filter``: a run's kept count, in the log and the history."""
    return f"kept: {n:,} {KEPT_WHERE}"
