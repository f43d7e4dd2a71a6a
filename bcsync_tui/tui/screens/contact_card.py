"""The contact card: view, create and edit one master contact, with a message under each bad field.

Fields are checked as they are typed (``model.validate_field``); the store checks the whole
contact on save (``ValidationError.errors``), and those messages land under the same fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Button, Input, Label, Select, Static

from ...core import model
from ...core.contact_docs import filled
from ...core.model import FIELD_BY_KEY
from ..errors import explain
from ..widgets.tickbox import TickBox

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("General", ("no", "type", "name", "first_name", "middle_name", "surname", "initials", "job_title",
                 "company_no", "company_name")),
    ("Communication", ("email", "email2", "phone", "mobile_phone", "fax", "home_page")),
    ("Address", ("address", "address2", "post_code", "city", "county", "country_code")),
    ("Segmentation", ("territory_code", "salesperson_code", "privacy_blocked")),
)
PLACEHOLDERS = {
    "no": "assigned from the number series",
    "name": "composed from first, middle name and surname when set",
    "email": "name@example.com",
    "home_page": "https://…",
}

SaveContact = Callable[[str | None, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CardResult:
    contact: dict[str, Any]
    created: bool


class ContactCard(ModalScreen[CardResult | None]):
    AUTO_FOCUS = "#field-name"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="card-save"),
        Binding("escape", "close", "Close", id="card-close"),
    ]

    def __init__(self, contact: dict[str, Any] | None, save: SaveContact, sync_status: str = ""):
        super().__init__(classes="dialog")
        # whole (the list's rows are the store's documents, which leave blank fields out)
        self.original = filled(contact) if contact is not None else model.blank_contact()
        self.uuid = contact.get("uuid") if contact is not None else None
        self.save_contact = save
        self.sync_status = sync_status

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        c = self.original
        title = f"Contact {c.get('no', '')} · {c.get('name', '')}" if self.uuid else "New contact"
        with Vertical(classes="dialog-box card"):
            yield Label(title, classes="dialog-title", markup=False)
            if self.sync_status:
                yield Label(f"Sync: {self.sync_status}", id="card-sync", markup=False)
            with VerticalScroll(id="card-fields"):
                for section, keys in SECTIONS:
                    yield Label(section, classes="card-section")
                    for key in keys:
                        yield from self._field_row(key)
                if self.uuid:
                    yield Static(f"UUID {c.get('uuid')} · revision {c.get('revision')} · modified "
                                 f"{c.get('modified_at', '')}", classes="card-meta", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer(compact=True)

    def _field_row(self, key: str) -> ComposeResult:
        f = FIELD_BY_KEY[key]
        value = self.original.get(key)
        with Horizontal(classes="field-row"):
            yield Label(f.caption, classes="field-caption")
            if f.kind == "type":
                yield Select([(t, t) for t in model.CONTACT_TYPES], value=value or model.PERSON, allow_blank=False,
                             id=f"field-{key}", compact=True)
            elif f.kind == "bool":
                yield TickBox("", bool(value), id=f"field-{key}", compact=True)
            else:
                yield Input(model.display_value(self.original, key), placeholder=PLACEHOLDERS.get(key, ""),
                            max_length=f.max_len or 0, id=f"field-{key}", compact=True,
                            select_on_focus=False)  # the first key typed must not replace the value
        yield Label("", id=f"error-{key}", classes="field-error", markup=False)

    # --- values and errors ------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for _, keys in SECTIONS:
            for key in keys:
                widget = self.query_one(f"#field-{key}")
                out[key] = widget.value if not isinstance(widget, Select) else str(widget.value)
        return out

    def changes(self) -> dict[str, Any]:
        """Only what the user changed: a concurrent edit of another field (a sync, the CLI) is kept."""
        values = self.values()
        if self.uuid is None:
            return {k: v for k, v in values.items() if v not in ("", False)} | {"type": values["type"]}
        return {k: v for k, v in values.items() if v != self.original[k]}  # (the original is whole)

    def show_errors(self, errors: dict[str, str]) -> None:
        for _, keys in SECTIONS:
            for key in keys:
                label = self.query_one(f"#error-{key}", Label)
                message = errors.get(key, "")
                label.update(f"{FIELD_BY_KEY[key].caption} {message}" if message else "")
                label.set_class(bool(message), "-shown")
                self.query_one(f"#field-{key}").set_class(bool(message), "-invalid")

    @on(Input.Changed)
    def _check_field(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("field-")
        if key in FIELD_BY_KEY:
            message = model.validate_field(key, event.value)
            label = self.query_one(f"#error-{key}", Label)
            label.update(f"{FIELD_BY_KEY[key].caption} {message}" if message else "")
            label.set_class(bool(message), "-shown")
            event.input.set_class(bool(message), "-invalid")

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # --- actions --------------------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        changes = self.changes()
        if self.uuid is not None and not changes:
            self.dismiss(None)
            return
        try:
            contact = self.save_contact(self.uuid, changes)
        except model.ValidationError as exc:
            self.show_errors(exc.errors)
            first = next((k for _, keys in SECTIONS for k in keys if k in exc.errors), None)
            if first is not None:
                self.query_one(f"#field-{first}").focus()
            self.notify("Fix the marked fields, then save again.", severity="error", timeout=4)
            return
        except Exception as exc:  # lock timeout, disk full: say so and keep the card and its edits
            from .dialogs import ErrorDialog

            self.app.push_screen(ErrorDialog(*explain(exc)))
            return
        self.dismiss(CardResult(contact, created=self.uuid is None))

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        from .dialogs import close_or_ask

        changes = self.changes()
        changed = bool(changes) and (self.uuid is not None or any(v for k, v in changes.items() if k != "type"))
        close_or_ask(self, changed, "Discard your changes to this contact?")
