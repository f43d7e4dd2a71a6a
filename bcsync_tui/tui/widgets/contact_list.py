"""The contact list: draws only the rows on screen (Line API), so 50,000 contacts cost what 40 do.

Rows are the store's own contact dicts (never copied, never changed here). Every cell is plain
text put into a ``Segment``: contact data is never parsed as markup. Columns are chosen and sized
from the width: No., Name and the sync badge always, then E-Mail, Company, City and more as the
terminal widens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import indexOf, methodcaller
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..badges import BADGES

Contact = dict[str, Any]

# Control characters would move the terminal's cursor: show them as spaces.
_CONTROL = {i: " " for i in [*range(32), 127]}


@dataclass(frozen=True)
class Column:
    key: str  # a contact field key, or "badge"
    title: str
    ideal: int  # the width a column needs to be worth showing
    max: int
    weight: int  # share of the spare width
    priority: int  # columns join in this order while their ideal width fits


#: in display order
COLUMNS: tuple[Column, ...] = (
    Column("badge", "Sync", 8, 8, 0, 2),
    Column("no", "No.", 8, 12, 0, 0),
    Column("name", "Name", 20, 40, 4, 1),
    Column("company_name", "Company", 16, 34, 2, 4),
    Column("email", "E-Mail", 22, 40, 3, 3),
    Column("city", "City", 12, 20, 1, 5),
    Column("phone", "Phone No.", 15, 18, 0, 6),
    Column("job_title", "Job Title", 16, 24, 1, 7),
    Column("post_code", "Post Code", 9, 10, 0, 8),
    Column("country_code", "Country", 7, 7, 0, 9),
    Column("salesperson_code", "Salesperson", 11, 11, 0, 10),
    Column("territory_code", "Territory", 9, 10, 0, 11),
)


def layout_columns(width: int) -> list[tuple[Column, int]]:
    """The columns that fit ``width`` cells (one space between columns), each with its width:
    columns join by priority while their ideal width fits, then share what is left by weight."""
    chosen: list[Column] = []
    used = 0
    for col in sorted(COLUMNS, key=lambda c: c.priority):
        need = col.ideal + (1 if chosen else 0)
        if used + need > width and chosen:
            break
        chosen.append(col)
        used += need
    spare = max(0, width - used)
    widths = {c.key: c.ideal for c in chosen}
    while spare > 0:  # hand out the spare width by weight, one round at a time, up to each maximum
        growable = [c for c in chosen if c.weight and widths[c.key] < c.max]
        if not growable:
            break
        total = sum(c.weight for c in growable)
        handed = 0
        for c in growable:
            share = min(max(1, spare * c.weight // total), c.max - widths[c.key], spare - handed)
            widths[c.key] += share
            handed += share
            if handed >= spare:
                break
        spare -= handed
    return [(c, widths[c.key]) for c in COLUMNS if c in chosen]


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if text.isascii():
        if len(text) <= width:
            return text.ljust(width)
        return text[: width - 1] + "…"
    text = text.translate(_CONTROL)
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def cell_text(contact: Contact, key: str) -> str:
    value = contact.get(key)
    text = value if value.__class__ is str else ("" if value is None else str(value))
    return text.translate(_CONTROL) if not text.isprintable() else text


_UUID_OF = methodcaller("get", "uuid")
#: rows kept drawn (a few screens' worth)
LINE_CACHE = 400


class ContactList(ScrollView, can_focus=True, inherit_bindings=False):
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES = {"contact-list--header", "contact-list--cursor", "contact-list--empty",
                         *(f"contact-list--{b}" for b in BADGES)}
    DEFAULT_CSS = """
    ContactList {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        overflow-y: scroll;
        & > .contact-list--header { text-style: bold; background: $boost; }
        & > .contact-list--cursor { background: $block-cursor-blurred-background; }
        &:focus > .contact-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                          text-style: $block-cursor-text-style; }
        & > .contact-list--empty { color: $text-muted; }
        & > .contact-list--synced { color: $success; }
        & > .contact-list--pending { color: $warning; }
        & > .contact-list--kept { color: $secondary; }
        & > .contact-list--conflict { color: $accent; text-style: bold; }
        & > .contact-list--error { color: $error; text-style: bold; }
        & > .contact-list--out { color: $text-muted; }
    }
    """

    cursor: reactive[int] = reactive(0, repaint=False)

    class Highlighted(Message):
        def __init__(self, contact: Contact | None):
            super().__init__()
            self.contact = contact

    class Selected(Message):
        def __init__(self, contact: Contact):
            super().__init__()
            self.contact = contact

    class SortRequested(Message):
        def __init__(self, key: str):
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[Contact] = []
        self.badge_of: Callable[[Contact], str] = lambda contact: ""
        self.sort_key, self.sort_reverse = "no", False
        self.empty_text = "No contacts."
        self._layout: tuple[int, list[tuple[Column, int]]] = (-1, [])
        self._styles: dict[str, Style] = {}
        #: drawn rows by (index, under the cursor), kept until the rows, widths or styles change
        self._lines: dict[tuple[int, bool], Strip] = {}
        #: (width, first row shown) while a frame is drawn
        self._frame: tuple[int, int] | None = None

    # --- data -----------------------------------------------------------------------------------

    def set_rows(self, rows: list[Contact], keep: str | None = None) -> None:
        """Show ``rows``; the cursor stays on the contact with UUID ``keep`` if it is still there."""
        self.rows = rows
        index = None
        if keep:  # at C speed, up to the row found (a reload after a sync may look through every contact)
            try:
                index = indexOf(map(_UUID_OF, rows), keep)
            except ValueError:
                pass
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self.set_reactive(ContactList.cursor, -1)  # force the watcher: the row under it changed
        self.cursor = index if index is not None else 0
        self.redraw_rows()

    def redraw_rows(self) -> None:
        """Draw every row afresh (their data or badges changed)."""
        self._lines.clear()
        self.refresh()

    @property
    def highlighted(self) -> Contact | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1)) if value >= 0 else value

    def watch_cursor(self, old: int, new: int) -> None:
        if new < 0:
            return
        top = self.scroll_offset.y
        self._scroll_to_cursor()
        if old >= 0 and self.scroll_offset.y == top:
            # Only the two rows whose highlight changed are drawn again (row i is line i + 1, below
            # the header), not the whole screenful: a key press stays cheap while a sync redraws.
            self.refresh_line(old + 1)
            self.refresh_line(new + 1)
        else:
            self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    # --- actions --------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.cursor = max(0, self.cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_select(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Selected(self.highlighted))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None and column.key != "badge":
                self.post_message(self.SortRequested(column.key))
            return
        index = round(self.scroll_offset.y) + event.y - 1
        if 0 <= index < len(self.rows):
            self.cursor = index
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> Column | None:
        left = 0
        for col, width in self._columns():
            if left <= x < left + width + 1:
                return col
            left += width + 1
        return None

    # --- drawing --------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"contact-list--{name}", partial=True)
        return style

    def _base_style(self) -> Style:
        style = self._styles.get("")
        if style is None:
            style = self._styles[""] = self.rich_style
        return style

    def _columns(self, width: int | None = None) -> list[tuple[Column, int]]:
        if width is None:
            width = self.scrollable_content_region.width
        if self._layout[0] != width:
            self._layout = (width, layout_columns(width))
            self._lines.clear()
        return self._layout[1]

    def render_lines(self, crop: Region) -> list[Strip]:
        """One frame's lines. A list with no border, padding, outline or effects (as ours is styled)
        is its rows as ``render_line`` draws them: they go out as they are, with only the app's
        line filters applied, whose results are cached on each reused row. Textual's own path
        builds every line anew in each frame (a scroll by one row then cost twice as much CPU)."""
        if not self._plain_style():
            return super().render_lines(crop)
        # What every line of one frame shares, read once (each read walks the widget's geometry).
        width = self.scrollable_content_region.width
        self._frame = (width, round(self.scroll_offset.y))
        try:
            background = self.background_colors[1]
            filters = self.get_line_filters()
            strips = []
            for y in crop.line_range:
                strip = self.render_line(y)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                strips.append(strip)
            if crop.column_span != (0, width):
                x1, x2 = crop.column_span
                strips = [strip.crop(x1, x2) for strip in strips]
            return strips
        finally:
            self._frame = None

    def _plain_style(self) -> bool:
        """Nothing Textual would draw around or over the rows (see ``render_lines``)."""
        styles = self.styles
        return (not any(styles.gutter) and all(kind in ("", "none") for kind, _ in styles.outline)
                and self.opacity == 1 and styles.text_opacity == 1 and not styles.tint.a
                and styles.hatch in (None, "none") and self._border_title is None)

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the list; a row already drawn is reused as it is (scrolling by one row draws
        one new row, and Textual's own work on a line is cached on its Strip)."""
        width, top = self._frame or (self.scrollable_content_region.width, round(self.scroll_offset.y))
        base = self._base_style()
        if y == 0:
            return self._header(width, base + self._style("header"))
        index = top + y - 1
        if not self.rows and y == 1:
            return Strip([Segment(fit(self.empty_text, width), base + self._style("empty"))], width)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        key = (index, index == self.cursor)
        columns = self._columns(width)
        strip = self._lines.get(key)
        if strip is None:
            if len(self._lines) >= LINE_CACHE:
                self._lines.clear()
            strip = self._lines[key] = self._row(self.rows[index], columns, width,
                                                 base + self._style("cursor") if key[1] else base)
        return strip

    def _row(self, contact: Contact, columns: list[tuple[Column, int]], width: int, row_style: Style) -> Strip:
        segments: list[Segment] = []
        for col, col_width in columns:
            if segments:
                segments.append(Segment(" ", row_style))
            if col.key == "badge":
                badge = self.badge_of(contact)
                segments.append(Segment(fit(badge, col_width), row_style + self._style(badge) if badge else row_style))
            else:
                segments.append(Segment(fit(cell_text(contact, col.key), col_width), row_style))
        return Strip(segments).extend_cell_length(width, row_style).crop(0, width)

    def _header(self, width: int, style: Style) -> Strip:
        segments: list[Segment] = []
        for col, col_width in self._columns(width):
            title = col.title
            if col.key == self.sort_key:
                title = f"{title} {'▼' if self.sort_reverse else '▲'}"
            if segments:
                segments.append(Segment(" ", style))
            segments.append(Segment(fit(title, col_width), style))
        return Strip(segments).extend_cell_length(width, style).crop(0, width)
