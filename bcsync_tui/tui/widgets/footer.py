"""Textual's Footer, rebuilt once per refresh however often the bindings change meanwhile.

Textual's Footer recomposes its keys (a widget each, restyled) on every ``bindings_changed``
signal, and a screen coming up sends several in a row (focus, the screen stack, each
``refresh_bindings``): at start-up that was six rebuilds, a quarter of the first screen's CPU.
A rebuild already due reads the bindings as they are when it runs, so later signals before it
add nothing.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _rebuild_due = False

    def bindings_changed(self, screen: Screen) -> None:
        if self._rebuild_due:
            return
        super().bindings_changed(screen)  # schedules one recompose after the next refresh (if shown)
        self._rebuild_due = True
        self.call_after_refresh(self._rebuilt)  # runs after that recompose

    def _rebuilt(self) -> None:
        self._rebuild_due = False
