"""The home screen's footer: the keys of what is possible now, drawn as one line by one widget.

Textual's Footer is a container of one widget per key, built again (each widget mounted and
styled) whenever the bindings change; a screen coming up changes them several times, and at
start-up those rebuilds were more than a third of the first screen's CPU. This one keeps the
look of Textual's compact footer (keys in the footer-key colours, disabled keys dimmed, the
command palette's key at the right edge behind a thin rule, a key lit under the mouse with its
help as tooltip, a click presses it) and only draws itself again when the bindings change.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

_RULE = "▏"


@dataclass(frozen=True)
class FooterKey:
    key: str  # what a click presses
    display: str  # ``n``, ``^p``
    description: str
    enabled: bool
    tooltip: str

    @property
    def width(self) -> int:
        return cell_len(self.display) + (1 + cell_len(self.description) if self.description else 0)


class Footer(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer--key", "footer--description", "footer--hover", "footer--rule"}
    DEFAULT_CSS = """
    Footer {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        & > .footer--description {
            color: $footer-description-foreground; background: $footer-description-background;
        }
        & > .footer--hover { color: $footer-key-foreground; background: $block-hover-background; }
        & > .footer--rule { color: $foreground 20%; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[list[FooterKey], FooterKey | None] | None = None  # None: read them again
        #: (left, right) cells of each key as drawn, and of the palette key
        self._spans: list[tuple[int, int, FooterKey]] = []
        self._hover: FooterKey | None = None
        self._styles: dict[str, Style] = {}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        self._keys = None
        self.refresh()

    def keys(self) -> tuple[list[FooterKey], FooterKey | None]:
        """The keys shown (one per action, in binding order) and the command palette's key."""
        if self._keys is None:
            app = self.app
            active = self.screen.active_bindings
            shown: dict[str, FooterKey] = {}
            for _, binding, enabled, tooltip in active.values():
                if binding.show and binding.action not in shown:
                    shown[binding.action] = FooterKey(binding.key, app.get_key_display(binding), binding.description,
                                                      enabled, tooltip or binding.description)
            palette = None
            if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
                _, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
                palette = FooterKey(binding.key, app.get_key_display(binding), binding.description, enabled,
                                    binding.tooltip or binding.description)
            self._keys = (list(shown.values()), palette)
        return self._keys

    # --- drawing --------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if name == "rule":  # a colour with alpha, blended onto the footer's background as a border is
                color = self.styles.background + self.get_component_styles("footer--rule").color
                style = Style(color=color.rich_color)
            elif name == "gap":  # between keys: the background alone, as between Textual's key widgets
                style = Style(bgcolor=self.rich_style.bgcolor)
            else:
                style = self.get_component_rich_style(f"footer--{name}", partial=True)
            self._styles[name] = style
        return style

    def _key_segments(self, key: FooterKey, base: Style) -> list[Segment]:
        lit = key is self._hover
        dim = Style(dim=True) if not key.enabled else Style()
        key_style = base + (self._style("hover") if lit else self._style("key")) + dim
        segments = [Segment(key.display, key_style)]
        if key.description:
            described = base + (self._style("hover") if lit else self._style("description")) + dim
            segments.append(Segment(f" {key.description}", described))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0:
            return Strip.blank(width, base)
        keys, palette = self.keys()
        gap = Segment(" ", self._style("gap"))
        right: list[Segment] = []
        right_width = 0
        if palette is not None:
            right = [Segment(_RULE, base + self._style("rule")), *self._key_segments(palette, base), gap]
            right_width = palette.width + 2
        left: list[Segment] = []
        spans: list[tuple[int, int, FooterKey]] = []
        x = 0
        for key in keys:
            spans.append((x, x + key.width, key))
            left += self._key_segments(key, base)
            left.append(gap)
            x += key.width + 1
        room = max(0, width - right_width)
        strip = Strip(left).extend_cell_length(room, self._style("gap")).crop(0, room)
        if palette is not None:
            spans.append((room + 1, room + 1 + palette.width, palette))
        self._spans = [span for span in spans if span[0] < width]
        return Strip([*strip, *right]).crop(0, width)

    # --- the mouse ------------------------------------------------------------------------------

    def _key_at(self, x: int) -> FooterKey | None:
        return next((key for left, right, key in self._spans if left <= x < right), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._light(self._key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._light(None)

    def _light(self, key: FooterKey | None) -> None:
        if key is not self._hover:
            self._hover = key
            self.tooltip = key.tooltip if key is not None else None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
