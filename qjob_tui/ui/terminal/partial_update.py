"""Partial screen updates that send only the cells asked for, and few escape sequences.

When a widget refreshes part of a line (``refresh(Region(x, y, w, 1))``), Textual 8.2.8's
``ChopsUpdate.render_segments`` crops the widget's strip on the right of that span but not on
the left: it moves to the widget's left edge and re-sends every cell from there (its own code
says ``# TODO: crop to x extents``). A job list that repaints one duration near its right end
would re-send the whole row. ``CroppedChopsUpdate`` crops both sides; ``CroppedUpdates`` is
the mixin an app takes so that its partial updates go out that way.

Built on Textual's internals as of the exact version pinned in pyproject.toml; the test
``tests/test_cell_refresh.py`` checks that a cropped update paints the same cells as Textual's.
"""

from __future__ import annotations

from typing import Any

from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.control import Control
from textual._compositor import ChopsUpdate
from textual.app import App
from textual.screen import Screen
from textual.strip import Strip

RESET = "\x1b[0m"


class CroppedChopsUpdate(ChopsUpdate):
    """A ChopsUpdate that writes each span's cells and nothing to their left.

    It also writes fewer escape sequences than Textual's: a colour is set only when it differs
    from the one in force (Textual resets after every segment and sets it again), and no line
    feed follows a line, since every span starts with a cursor move of its own.
    """

    def render_segments(self, console: Console) -> str:
        sequences: list[str] = []
        append = sequences.append
        color_system = console._color_system or ColorSystem.TRUECOLOR
        pen = ""  # the SGR parameters in force; "" is the terminal's default
        chops = self.chops
        chop_ends = self.chop_ends
        for y, x1, x2 in self.spans:
            line = chops[y]
            ends = chop_ends[y]
            for end, (x, strip) in zip(ends, line.items(), strict=False):
                if strip is None or x >= x2 or end <= x1:
                    continue
                left, right = max(x, x1), min(end, x2)
                if left != x or right != end:
                    strip = strip.crop(left - x, right - x)
                append(Control.move_to(left, y).segment.text)
                for text, style, _ in strip:
                    if style is not None and style._link:
                        if pen:
                            append(RESET)
                            pen = ""
                        append(Strip.render_style(style, text, color_system))
                        continue
                    ansi = ""
                    if style is not None:
                        ansi = style._ansi
                        if ansi is None:
                            ansi = Strip.render_ansi(style, color_system)
                    if ansi != pen:
                        append(f"\x1b[0;{ansi}m" if ansi else RESET)
                        pen = ansi
                    append(text)
        if pen:
            append(RESET)
        return "".join(sequences)


def cropped(renderable: RenderableType | None) -> RenderableType | None:
    """The same update, cropped on both sides if it is a partial one."""
    if type(renderable) is ChopsUpdate:
        return CroppedChopsUpdate(renderable.chops, renderable.spans, renderable.chop_ends)
    return renderable


class CroppedUpdates(App[Any]):
    """Mix into an App (before ``App``): partial updates send only the cells refreshed."""

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        # Inline apps move the cursor relative to where updates leave it: left as Textual has it.
        super()._display(screen, renderable if self.is_inline else cropped(renderable))
