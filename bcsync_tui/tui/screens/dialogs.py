"""Small dialogs: a yes/no confirmation, "discard your changes?", and the one error dialog every
failure ends in."""

from __future__ import annotations

from textual.screen import Screen

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """Ask before something that cannot be undone; Enter/y confirms, Esc/n keeps things as they are."""

    AUTO_FOCUS = "#no"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
        Binding("left,right", "app.focus_next", "Switch", show=False),
    ]

    def __init__(self, title: str, question: str, yes: str = "Yes", no: str = "No"):
        super().__init__(classes="dialog")
        self.title_text, self.question, self.yes, self.no = title, question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.question, markup=False, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes", compact=True)
                yield Button(self.no, variant="primary", id="no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def close_or_ask(screen: Screen, changed: bool, question: str) -> None:
    """Esc/Cancel on a form: close it at once when nothing was typed, else ask before throwing the
    typed changes away (the form stays open with them on "Keep editing")."""
    if not changed:
        screen.dismiss(None)
        return

    def answered(discard: bool | None) -> None:
        if discard:
            screen.dismiss(None)

    screen.app.push_screen(ConfirmDialog("Unsaved changes", question, yes="Discard", no="Keep editing"), answered)


class ErrorDialog(ModalScreen[None]):
    """What went wrong and what to do about it."""

    AUTO_FOCUS = "#ok"
    BINDINGS = [Binding("escape,enter", "dismiss", "Close", id="error-close")]

    def __init__(self, title: str, message: str):
        super().__init__(classes="dialog")
        self.title_text, self.message = title, message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -error"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self.message, markup=False, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
