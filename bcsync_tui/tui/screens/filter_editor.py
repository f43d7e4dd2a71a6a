"""Set Sync Filter: the profile's filter in BC syntax, with errors at their position and a live count."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Button, Label, Static

from ...core.filters import ContactFilter
from ...core.profiles import get_or_new_profile, save_profile
from ..widgets.filter_form import FilterForm, filter_error_message

SYNTAX_HINT = ("A* starts with · *a* contains · ? one character · @ ignore case · | or · & and · <> not · "
               "< <= > >= · a..b range · '' empty · 'a&b' literal")


def save_filter(app, exprs: dict[str, str]) -> dict[str, str]:
    """Store the filter in the profile (canonical form); returns what was saved."""
    profile = get_or_new_profile(app.store, app.profile_name)
    profile.filter = ContactFilter(exprs).to_dict()
    save_profile(app.store, profile)
    app.poll_store()
    app.reload_profile()
    return profile.filter


class FilterScreen(ModalScreen[dict[str, str] | None]):
    DEFAULT_CLASSES = "dialog"
    AUTO_FOCUS = "#filter-rows Input"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="filter-save"),
        Binding("ctrl+l", "clear", "Clear all", id="filter-clear"),
        Binding("escape", "cancel", "Cancel", id="filter-cancel"),
    ]

    def compose(self) -> ComposeResult:
        profile = get_or_new_profile(self.app.store, self.app.profile_name)
        with Vertical(classes="dialog-box filter-dialog"):
            yield Label(f"Set sync filter · profile {profile.name}", classes="dialog-title", markup=False)
            yield Static(SYNTAX_HINT, classes="syntax-hint", markup=False)
            yield FilterForm(profile.filter, id="filter-form")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Clear all", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer(compact=True)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        form = self.query_one(FilterForm)
        errors = form.errors()
        if errors:
            key = next(iter(errors))
            self.query_one(f"#expr-{key}").focus()
            self.notify(filter_error_message(errors[key]), severity="error", markup=False)
            return
        saved = save_filter(self.app, form.expressions())
        self.notify("Filter saved; it applies from the next sync.", timeout=3)
        self.dismiss(saved)

    @on(Button.Pressed, "#clear")
    def action_clear(self) -> None:
        self.query_one(FilterForm).clear()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
