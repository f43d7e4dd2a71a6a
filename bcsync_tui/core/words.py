"""Counts in words, the one way the core, the CLI and the TUI say how many of something there are."""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 conflict``, ``2 conflicts``, ``1,204 contacts``: the one way the CLI and the TUI count things."""
    return f"{n:,} {singular if n == 1 else plural_form or singular + 's'}"
