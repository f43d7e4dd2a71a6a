"""One list of commands per screen generates its key bindings, footer, help and command palette.

A screen lists its :class:`Command` objects in ``COMMAND_LIST``; ``BINDINGS`` comes from
:func:`bindings`, the help screen from :func:`help_rows`, and the app's palette offers those the
screen's ``check_action`` allows right now.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Command:
    id: str
    keys: str  # Textual key names, comma separated
    action: str
    description: str  # short, for the footer
    help: str  # a sentence, for the help screen and the palette
    show: bool = True  # in the footer
    palette: bool = True
    key_display: str | None = None

    @property
    def title(self) -> str:
        return self.help.split(":")[0] if ":" in self.help else self.description

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show, id=self.id,
                       key_display=self.key_display, tooltip=self.help)

    @property
    def keys_label(self) -> str:
        names = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "delete": "Del"}
        return " ".join(names.get(k, k) for k in self.keys.split(","))


def bindings(*commands: Command) -> list[Binding]:
    return [c.binding() for c in commands]


def help_rows(commands: Iterable[Command]) -> Iterator[tuple[str, str]]:
    for c in commands:
        yield c.keys_label, c.help


#: on every screen (the app binds them)
HELP = Command("help", "question_mark,f1", "app.help", "Help", "Help: keys and what the badges mean",
               key_display="?")
QUIT = Command("quit", "q", "app.quit", "Quit", "Quit: leave bcsync (a running sync is cancelled)")
PALETTE = Command("palette", "ctrl+p", "app.command_palette", "Commands", "Command palette: search every command",
                  show=False, palette=False)
