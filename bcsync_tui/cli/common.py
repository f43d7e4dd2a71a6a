"""Small helpers several commands (and the TUI) share: counts in words, field names, FIELD=VALUE arguments,
filters, confirmations."""

from __future__ import annotations

import sys
from typing import Any

from ..core import model
from ..core.words import plural as plural  # re-exported: the CLI and the TUI import it from here
from .main import EXIT_CONFIG, CliError


def field_key(name: str, *, editable: bool = False) -> str:
    """A field key from a key or BC caption ("post_code", "Post Code"); CliError when unknown."""
    key = model.resolve_field(name)
    if key is None:
        known = ", ".join(f.caption for f in model.FIELDS if f.key in model.EDITABLE_KEYS)
        raise CliError(f"unknown field {name!r}", details=[f"Fields: No., {known}"])
    if editable and key not in model.EDITABLE_KEYS and key != "no":
        raise CliError(f"{model.FIELD_BY_KEY[key].caption} is kept by bcsync and cannot be set")
    return key


def split_assignment(text: str, what: str = "FIELD=VALUE") -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise CliError(f"expected {what}, got {text!r}")
    return name.strip(), value


def filter_from_args(items: list[str], base: dict[str, str] | None = None) -> Any:
    """A ContactFilter from ``FIELD=EXPR`` arguments, on top of ``base`` (conditions on one field
    from both are combined with &). Raises FilterError for a bad expression."""
    from ..core.filters import ContactFilter

    exprs = dict(base or {})
    given: set[str] = set()
    for item in items:
        name, expr = split_assignment(item, "FIELD=EXPR")
        key = field_key(name)
        if key in given:
            raise CliError(f"{model.FIELD_BY_KEY[key].caption} is filtered twice; combine the conditions "
                           "in one expression with & or |")
        given.add(key)
        exprs[key] = f"({exprs[key]})&({expr})" if key in exprs else expr
    return ContactFilter(exprs)


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; without one, require --yes (a cron job must never wait for an answer)."""
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise CliError(f"{question.rstrip('?')}: confirm with --yes (no terminal to ask on)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("cancelled; nothing was changed", code=EXIT_CONFIG)
