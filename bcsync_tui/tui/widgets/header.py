"""The screens' title line: the command palette's icon at the left, the app's title and sub-title
centred, drawn as one line by one widget.

Textual's Header is four widgets (itself, the icon, the title, the clock's space), each composed,
mounted and styled, and it puts its title in only after the first frame: a second layout of the
first screen, ~15 ms of it at 50,000 contacts. This one draws the same cells (the icon in its eight
columns, the title centred between them and the clock's ten, cut with an ellipsis when it does not
fit), lights the icon under the mouse with its tooltip, and a click on it opens the palette.
"""

from __future__ import annotations

from textual import events
from textual.app import RenderResult
from textual.content import Content
from textual.style import Style
from textual.widget import Widget

#: the columns of the icon (with its padding) and of the clock's space, as in Textual's Header
ICON_WIDTH = 8
CLOCK_WIDTH = 10


class Header(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"header--icon-hover"}
    DEFAULT_CSS = """
    Header {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        & > .header--icon-hover { background: $foreground 10%; }
    }
    """

    def __init__(self, icon: str = "⭘", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.icon = icon
        self._icon_lit = False

    def on_mount(self) -> None:
        for owner in (self.app, self.screen):
            self.watch(owner, "title", self._title_changed, init=False)
            self.watch(owner, "sub_title", self._title_changed, init=False)

    def _title_changed(self) -> None:
        self.refresh()

    def render(self) -> RenderResult:
        screen, app = self.screen, self.app
        title = app.format_title(screen.title if screen.title is not None else app.title,
                                 screen.sub_title if screen.sub_title is not None else app.sub_title)
        width = self.size.width
        room = max(0, width - ICON_WIDTH - CLOCK_WIDTH)
        title = title.truncate(room, ellipsis=True)
        left = (room - title.cell_length) // 2
        icon = Content(f" {self.icon}").extend_right(ICON_WIDTH - 1 - Content(self.icon).cell_length)
        icon = icon[:self._icon_width()]  # (narrower than both: the clock's space is drawn over the icon)
        if self._icon_lit:  # (its colour has alpha: blended onto the header's background, as Textual's icon does)
            icon = icon.stylize(Style(background=self.styles.background
                                      + self.get_component_styles("header--icon-hover").background))
        return Content.assemble(icon, " " * left, title, " " * (width - icon.cell_length - left - title.cell_length))

    def _icon_width(self) -> int:
        """The columns of the icon that show: all eight, unless the clock's ten overlap them."""
        return max(0, min(ICON_WIDTH, self.size.width - CLOCK_WIDTH))

    # --- the mouse ------------------------------------------------------------------------------

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._light(event.x < self._icon_width())

    def on_leave(self, event: events.Leave) -> None:
        self._light(False)

    def _light(self, lit: bool) -> None:
        lit = lit and self.app.ENABLE_COMMAND_PALETTE
        if lit != self._icon_lit:
            self._icon_lit = lit
            self.tooltip = "Open the command palette" if lit else None
            self.refresh()

    async def on_click(self, event: events.Click) -> None:
        if event.x < self._icon_width() and self.app.ENABLE_COMMAND_PALETTE:
            event.stop()
            await self.run_action("app.command_palette")
