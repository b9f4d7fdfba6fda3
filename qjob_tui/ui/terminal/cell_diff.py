"""Which cells of a line changed: so a widget repaints those, not the line or itself.

Every byte Textual writes for a repaint goes to the terminal, and over SSH or a relay each
viewer pays for it. A widget that knows what it painted last can compare it with what it would
paint now, cell by cell, and ``refresh(Region)`` only the spans that differ; this module finds
those spans, and repaints a ``Static`` that way (the queue pane, the status line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

# Two changed runs this close are sent as one: a cursor move costs about as many bytes as
# re-sending a few unchanged cells (``ESC [ row ; col H`` is 6 to 8 bytes).
MERGE_GAP = 6

Cell = tuple[str, Style | None]


def cells(strip: Strip) -> list[Cell]:
    """One (text, style) per terminal cell; a wide character's second cell has text ``""``."""
    out: list[Cell] = []
    for text, style, control in strip:
        if control:
            continue
        if cell_len(text) == len(text):  # the usual case: one cell per character
            out.extend((char, style) for char in text)
            continue
        for char in text:
            width = cell_len(char)
            if width == 0 and out:  # a combining mark belongs to the cell before it
                previous, previous_style = out[-1]
                out[-1] = (previous + char, previous_style)
            elif width:
                out.append((char, style))
                out.extend(("", style) for _ in range(width - 1))
    return out


def changed_spans(old: Strip, new: Strip, merge_gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """The ``(start, end)`` cell spans (end exclusive) where ``new`` differs from ``old``.

    Spans never cut a wide character in two, and spans closer than ``merge_gap`` cells are
    joined. Strips of different lengths differ everywhere past the shorter one.
    """
    if old is new or old == new:
        return []
    # Segments both lines share at their start (and, if as long, at their end) are skipped
    # whole: usually a poll changes a cell or two of a line of a dozen segments.
    first, second = list(old), list(new)
    head = offset = 0
    while head < min(len(first), len(second)) and first[head] == second[head]:
        offset += cell_len(first[head].text)
        head += 1
    tail = 0
    if old.cell_length == new.cell_length:
        while tail < min(len(first), len(second)) - head and first[-1 - tail] == second[-1 - tail]:
            tail += 1
    before = cells(Strip(first[head : len(first) - tail]))
    after = cells(Strip(second[head : len(second) - tail]))
    length = max(len(before), len(after))
    spans: list[tuple[int, int]] = []
    start = -1
    for x in range(length):
        same = x < len(before) and x < len(after) and before[x] == after[x]
        if not same and start < 0:
            start = x
        elif same and start >= 0:
            spans.append((start, x))
            start = -1
    if start >= 0:
        spans.append((start, length))
    whole = _whole_characters(spans, before, after)
    return _merge([(start + offset, end + offset) for start, end in whole], merge_gap)


def _whole_characters(
    spans: list[tuple[int, int]], before: Sequence[Cell], after: Sequence[Cell]
) -> list[tuple[int, int]]:
    """Widen spans that start or end inside a wide character, in either strip."""

    def continues(line: Sequence[Cell], x: int) -> bool:
        return 0 <= x < len(line) and line[x][0] == ""

    widened = []
    for start, end in spans:
        while start > 0 and (continues(before, start) or continues(after, start)):
            start -= 1
        while continues(before, end) or continues(after, end):
            end += 1
        widened.append((start, end))
    return widened


def _merge(spans: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def line_regions(y: int, spans: Sequence[tuple[int, int]]) -> list[Region]:
    """The regions of one line's changed spans, for ``Widget.refresh(*regions)``."""
    return [Region(start, y, end - start, 1) for start, end in spans]


def refresh_changed_cells(widget: Widget) -> None:
    """Repaint only the cells of a render-based widget (a ``Static``) whose content changed.

    Call it instead of ``refresh()`` after changing what ``render()`` returns, when the size
    does not change. The widget's last rendered lines are what the terminal shows, so the new
    lines are rendered now and compared with them. Before the first paint, or after a resize,
    the whole widget is repainted.
    """
    previous = widget._render_cache
    size = widget.size
    if not widget.is_mounted or not size or previous.size != size or not widget.region:
        widget.refresh()
        return
    widget._layout_cache.clear()  # what refresh() clears first: it holds the old visual
    widget._render_content()
    lines = widget._render_cache.lines
    regions: list[Region] = []
    for y, (old, new) in enumerate(zip(previous.lines, lines, strict=False)):
        regions += line_regions(y, changed_spans(old, new))
    if len(previous.lines) != len(lines):
        widget.refresh()
    elif regions:
        widget.refresh(*regions)


class CellRefreshStatic(Static):
    """A Static whose ``update(..., layout=False)`` repaints only the cells that changed.

    A status line whose count goes from 9 to 10, or a sparkline that gains a column, sends
    those cells, not the whole widget.
    """

    _diff_next_refresh = False

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._diff_next_refresh = not layout
        try:
            super().update(content, layout=layout)
        finally:
            self._diff_next_refresh = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if self._diff_next_refresh and not (regions or layout or recompose) and repaint:
            self._diff_next_refresh = False
            refresh_changed_cells(self)
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
