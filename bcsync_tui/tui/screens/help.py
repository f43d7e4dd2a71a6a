"""Help: the keys of the screen underneath, list navigation, and what the sync badges mean."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from ..badges import BADGE_HELP
from ..commands import HELP, PALETTE, QUIT, help_rows

NAVIGATION = (
    ("↑ ↓  k j", "Move in the list"),
    ("PgUp PgDn", "Page up / down (also ctrl+b / ctrl+f)"),
    ("Home End  g G", "First / last contact"),
    ("Enter", "Open the highlighted contact (or double-click it)"),
    ("Tab  Shift+Tab", "Move between fields and buttons"),
    ("ctrl+s", "Save (in cards and setup forms)"),
    ("Esc", "Close a dialog; on the list: cancel a running sync or clear the search"),
)


class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help-close")]

    def __init__(self, screen: Screen):
        super().__init__(classes="dialog")
        self.commands = getattr(screen, "COMMAND_LIST", (HELP, QUIT))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box help"):
            yield Label("bcsync help · Esc to close", classes="dialog-title")
            with VerticalScroll():
                yield Static(self._keys(), markup=False)
                yield Static(self._badges(), markup=False)

    def _keys(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for keys, text in [*help_rows(self.commands), *NAVIGATION, *help_rows([PALETTE])]:
            table.add_row(Text(keys), Text(text))
        return table

    def _badges(self) -> Text:
        text = Text("\nSync badges (for this profile)\n", "bold")
        for badge, meaning in BADGE_HELP.items():
            text.append(f"  {badge:<9}", "bold")
            text.append(f"{meaning}\n")
        return text
