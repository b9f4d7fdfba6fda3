"""A Static whose text depends on its width, drawn again whenever that width changes.

Histograms, timelines and sparklines are laid out for a width; drawn once when a tab is first
filled (width still 0) or before a scrollbar appears, they would wrap or stay too narrow.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.widgets import Static

FALLBACK_WIDTH = 60


class SizedText(Static):
    """Keeps how to draw its text, not the text, and redraws on resize."""

    # True when the layout, not the text, sets the widget's size: updates skip the layout pass.
    FIXED_SIZE = False
    _make: Callable[[int], Text] | None = None
    _drawn: tuple[int, str] | None = None

    def draw(self, make: Callable[[int], Text]) -> None:
        self._make = make
        self._drawn = None
        self._redraw()

    def show_message(self, message: str) -> None:
        self.draw(lambda width: Text(message, style="dim"))

    def _redraw(self) -> None:
        if self._make is None:
            return
        width = self.content_size.width or FALLBACK_WIDTH
        text = self._make(width)
        if self._drawn == (width, text.plain):
            return  # nothing new to write to the terminal
        self._drawn = (width, text.plain)
        self.update(text, layout=not self.FIXED_SIZE)

    def on_resize(self, event: events.Resize) -> None:
        self._redraw()
