"""A scrollbar that repaints only the cells its thumb moved into or out of.

Textual's ScrollBar repaints itself whole whenever the scrolled widget's virtual size or
position changes, even when the thumb lands on the same cells: a poll that adds one job to a
list of 200 re-sends the whole bar. This one compares what it would draw with what it drew last
and refreshes only the lines that differ, or nothing.
"""

from __future__ import annotations

from typing import Self

from rich.color import Color
from rich.segment import Segment
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.visual import VisualType

_DEFAULT_BACK = Color.parse("#555555")
_DEFAULT_BAR = Color.parse("bright_magenta")


class CellScrollBar(ScrollBar):
    """A ScrollBar whose refreshes are cut down to the cells that change."""

    _painted: tuple[Segment, ...] | None = None

    def render(self) -> VisualType:
        renderable = super().render()
        self._painted = self._cells(renderable)
        return renderable

    def _cells(self, renderable: object) -> tuple[Segment, ...] | None:
        """What the bar draws, one segment per line (per column if horizontal)."""
        if not isinstance(renderable, ScrollBarRender):
            return None
        style = renderable.style
        if isinstance(style, str):
            return None
        width, height = self.size
        bar = renderable.render_bar(
            size=height if self.vertical else width,
            virtual_size=renderable.virtual_size,
            window_size=renderable.window_size,
            position=renderable.position,
            thickness=width if self.vertical else height,
            vertical=self.vertical,
            back_color=style.bgcolor or _DEFAULT_BACK,
            bar_color=style.color or _DEFAULT_BAR,
        )
        return tuple(bar.segments)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted = None  # colours may have changed: the next refresh repaints all

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        painted = self._painted
        if regions or layout or recompose or not repaint or painted is None:
            return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        if not self.is_mounted or self.parent is None or not self.vertical:
            return super().refresh()
        now = self._cells(super().render())
        if now is None or len(now) != len(painted):
            return super().refresh()
        width = self.size.width
        lines = enumerate(zip(painted, now, strict=True))
        changed = [Region(0, y, width, 1) for y, (old, new) in lines if old != new]
        if changed:
            super().refresh(*changed)
        return self
