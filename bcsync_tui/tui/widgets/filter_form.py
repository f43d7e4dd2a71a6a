"""Editing a profile's filter: one BC filter expression per field, errors shown at their position,
and a live count (and preview) of the contacts that match, updated as the user types."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, Label, Select, Static

from ...core.filters import ContactFilter, FilterError, validate_expression
from ...core.model import BC_FILTER_KEYS, FIELD_BY_KEY, FIELDS
from ...core.sync.eligibility import outbound_reason
from ...cli.main import filter_error_lines, filter_error_where
from .contact_list import fit

#: every field a filter may test (identity and timestamps are not useful to filter on)
FILTER_KEYS = tuple(f.key for f in FIELDS if f.key not in ("uuid", "created_at", "modified_at"))
#: the count waits this long after the last keystroke
COUNT_DELAY = 0.08
PREVIEW_ROWS = 20


def caret_text(error: FilterError) -> Text:
    """The expression, a caret under the bad position, and the reason."""
    expr = error.expression
    pad = cell_len(expr[: error.position])
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(expr + "\n")
    text.append(" " * pad + "^ ", "bold")
    text.append(f"{error.reason} ({filter_error_where(error)})")
    return text


def filter_error_message(error: FilterError) -> str:
    """The one-line message the CLI prints for this error (same words, same position)."""
    return filter_error_lines(error)[0]


class FilterRow(Vertical):
    def __init__(self, key: str, expression: str):
        super().__init__(id=f"filter-row-{key}", classes="filter-row")
        self.key, self.expression = key, expression

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(FIELD_BY_KEY[self.key].caption, classes="field-caption")
            yield Input(self.expression, placeholder="(any)", id=f"expr-{self.key}", compact=True)
        yield Static("", id=f"caret-{self.key}", classes="filter-error", markup=False)

    def show_error(self, error: FilterError | None) -> None:
        caret = self.query_one(Static)
        caret.update(caret_text(error) if error else "")
        caret.set_class(error is not None, "-shown")
        self.query_one(Input).set_class(error is not None, "-invalid")


class FilterForm(Vertical):
    """``expressions()`` gives field key → expression (blanks left out); ``errors()`` what is wrong."""

    def __init__(self, exprs: dict[str, str], *, preview: bool = True, id: str | None = None):
        super().__init__(id=id, classes="filter-form")
        self.initial = dict(exprs)
        self.preview = preview
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        keys = list(BC_FILTER_KEYS) + [k for k in self.initial if k not in BC_FILTER_KEYS]
        with VerticalScroll(id="filter-rows"):
            for key in keys:
                yield FilterRow(key, self.initial.get(key, ""))
        yield Select([], prompt="Add a field…", id="add-field", compact=True)
        yield Static("", id="filter-count", markup=False)
        if self.preview:
            yield Static("", id="filter-preview", markup=False)

    def on_mount(self) -> None:
        self._refresh_add_field()
        for row in self.query(FilterRow):
            row.show_error(validate_expression(row.key, row.expression))
        self.update_count()

    def _refresh_add_field(self) -> None:
        shown = {row.key for row in self.query(FilterRow)}
        self.query_one("#add-field", Select).set_options(
            (FIELD_BY_KEY[k].caption, k) for k in FILTER_KEYS if k not in shown)

    @on(Select.Changed, "#add-field")
    async def _add_field(self, event: Select.Changed) -> None:
        event.stop()
        if not isinstance(event.value, str):
            return
        row = FilterRow(event.value, "")
        await self.query_one("#filter-rows").mount(row)
        self._refresh_add_field()
        row.query_one(Input).focus()

    def expressions(self) -> dict[str, str]:
        return {row.key: value for row in self.query(FilterRow)
                if (value := row.query_one(Input).value.strip())}

    def errors(self) -> dict[str, FilterError]:
        found = {}
        for key, expr in self.expressions().items():
            error = validate_expression(key, expr)
            if error is not None:
                found[key] = error
        return found

    def clear(self) -> None:
        for row in self.query(FilterRow):
            row.query_one(Input).value = ""

    @on(Input.Changed)
    def _expression_changed(self, event: Input.Changed) -> None:
        row = next((a for a in event.input.ancestors if isinstance(a, FilterRow)), None)
        if row is None:
            return
        row.show_error(validate_expression(row.key, event.value) if event.value.strip() else None)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(COUNT_DELAY, self.update_count)

    def update_count(self) -> None:
        """Compile the filter once and run it over the store's contacts (in memory, no copies)."""
        count = self.query_one("#filter-count", Static)
        errors = self.errors()
        if errors:
            captions = ", ".join(FIELD_BY_KEY[k].caption for k in errors)
            count.update(Text(f"Fix the expression in {captions} to see the matching contacts.", "bold"))
            if self.preview:
                self.query_one("#filter-preview", Static).update("")
            return
        contact_filter = ContactFilter(self.expressions())
        contacts = self.app.store.contacts_raw()
        matching = contact_filter.select(contacts)
        reasons = Counter(outbound_reason(c, None) for c in matching)
        eligible = reasons.pop(None, 0)
        text = Text()
        text.append(f"{len(matching):,}", "bold")
        text.append(f" of {len(contacts):,} contacts match")
        text.append(" (no filter: all)" if contact_filter.is_empty else "")
        text.append(" · ")
        text.append(f"{eligible:,}", "bold")
        text.append(" will sync")
        if reasons:
            text.append(" (not: " + ", ".join(f"{n:,} {why}" for why, n in reasons.most_common()) + ")")
        count.update(text)
        if self.preview:
            self.query_one("#filter-preview", Static).update(self._preview(matching))

    def _preview(self, matching: list) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for c in islice(matching, PREVIEW_ROWS):
            line = " ".join((fit(str(c.get("no", "")), 10), fit(str(c.get("name", "")), 28),
                             fit(str(c.get("city", "")), 14), str(c.get("email", ""))))
            text.append(line.translate({i: " " for i in range(32)}) + "\n")
        if len(matching) > PREVIEW_ROWS:
            text.append(f"… and {len(matching) - PREVIEW_ROWS:,} more", "italic")
        return text
