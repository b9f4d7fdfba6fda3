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
    """A ScrollBar whose refreshes are cut down to the cells that change.

    A refresh is looked at once the current message is handled, so that the sizes and the
    position ScrollView sets one after another (a taller list, then the scroll that keeps the
    cursor's row in place) are compared once, as they end up, not at each step on the way.
    """

    # What the terminal shows, or will once the refreshes asked for are painted; None: unknown.
    _painted: tuple[Segment, ...] | None = None
    _full = True  # the whole bar is to be painted: its next render is what the terminal shows
    _compare_due = False

    def render(self) -> VisualType:
        renderable = super().render()
        if self._full:
            self._painted = self._cells(renderable)
            self._full = False
        return renderable

    def _set_dirty(self, *regions: Region) -> None:
        if not regions:
            self._full = True
        super()._set_dirty(*regions)

    def _cells(self, renderable: object) -> tuple[Segment, ...] | None:
        """What the bar draws, one segment per line."""
        if not isinstance(renderable, ScrollBarRender):
            return None
        style = renderable.style
        if isinstance(style, str):
            return None
        width, height = self.size
        bar = renderable.render_bar(
            size=height,
            virtual_size=renderable.virtual_size,
            window_size=renderable.window_size,
            position=renderable.position,
            thickness=width,
            vertical=True,
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
        plain = repaint and not (regions or layout or recompose)
        if not plain or self._painted is None or not self.vertical or not self.is_mounted:
            return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        if not self._compare_due:
            self._compare_due = True
            self.call_later(self._repaint_changed_lines)
        return self

    def _repaint_changed_lines(self) -> None:
        """Refresh the lines whose look differs from what the terminal shows, if any."""
        self._compare_due = False
        painted = self._painted
        now = self._cells(super().render()) if self.parent is not None else None
        if painted is None or now is None or len(now) != len(painted):
            super().refresh()
            return
        width = self.size.width
        lines = enumerate(zip(painted, now, strict=True))
        changed = [Region(0, y, width, 1) for y, (old, new) in lines if old != new]
        if changed:
            super().refresh(*changed)
            self._painted = now  # as it will be painted: the same look again asks for nothing
