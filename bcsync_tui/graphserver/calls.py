"""One Graph call (a request, or one request of a ``$batch``) and its answer, as the handlers see them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..ewsserver.mailbox import Mailbox, Store
from .errors import GraphError

DEFAULT_PAGE = 10
MAX_PAGE = 1000
_MAXPAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.I)
_IMMUTABLE = re.compile(r'IdType\s*=\s*"?ImmutableId"?', re.I)


@dataclass
class Call:
    method: str
    segments: list[str]            # the path below /me or /users/{id}, e.g. ["contactFolders", "AAMk..", "contacts"]
    query: dict[str, str]
    headers: dict[str, str]        # lower-case names
    body: Any
    store: Store
    mailbox: Mailbox
    graph_url: str                 # ROOT/v1.0
    owner: str                     # "users('ann@example.com')", for @odata.context
    request_url: str               # the absolute URL of this call, for nextLink
    applied: list[str] = field(default_factory=list)  # preferences honoured (Preference-Applied)

    @property
    def prefer(self) -> str:
        return self.headers.get("prefer", "")

    @property
    def immutable(self) -> bool:
        hit = bool(_IMMUTABLE.search(self.prefer))
        if hit and 'IdType="ImmutableId"' not in self.applied:
            self.applied.append('IdType="ImmutableId"')
        return hit

    def page_size(self, default: int = DEFAULT_PAGE) -> int:
        m = _MAXPAGE.search(self.prefer)
        if m is None:
            return default
        size = max(1, min(int(m.group(1)), MAX_PAGE))
        self.applied.append(f"odata.maxpagesize={size}")
        return size

    def top(self, default: int = DEFAULT_PAGE) -> int:
        raw = self.query.get("$top")
        if raw is None:
            return self.page_size(default)
        if not raw.isdigit():
            raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $top.")
        return max(1, min(int(raw), MAX_PAGE))

    def context(self, suffix: str) -> str:
        return f"{self.graph_url}/$metadata#{self.owner}/{suffix}"


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None  # a page for people (the device login page) instead of JSON
