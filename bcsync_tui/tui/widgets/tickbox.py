"""A checkbox whose two states differ in shape, not only in colour: ``▐X▌`` checked, ``▐ ▌`` not
(Textual's compact checkbox shows the X in both, told apart by a shade of grey)."""

from __future__ import annotations

from textual.widgets import Checkbox


class TickBox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 - Textual's name for the glyph
        return "X" if self.value else " "
