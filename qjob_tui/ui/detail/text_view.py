"""Long plain text (a job's log, its raw JSON) that can be searched and wrapped.

``TextLines`` draws with the Line API, so only the lines on screen cost anything, wraps long
lines to the width (``w`` turns wrapping off and on) and marks the matches of a search.
``TextView`` puts a search box over it: ``/`` searches (a regular expression when the text is a
valid one, else the text itself, case-insensitive), ``n`` and ``N`` go to the next and the
previous match, round the end. The text is cleaned before it gets here and drawn as plain
text, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from qjob_tui.text import one_line
from qjob_tui.ui.actions import bindings

MAX_MATCHES = 10_000  # matches marked at once; a search for "e" in a huge log stops there

Row = tuple[int, int, int]  # (line, start, end): one screen row of a source line
Match = tuple[int, int, int]  # (line, start, end) of a match in a source line


def wrap_rows(lines: list[str], width: int, wrap: bool) -> list[Row]:
    """The screen rows of the lines: one each, or as many as wrapping at ``width`` needs."""
    rows: list[Row] = []
    width = max(width, 1)
    for index, line in enumerate(lines):
        if not wrap or (len(line) <= width and cell_len(line) <= width):
            rows.append((index, 0, len(line)))
            continue
        start = 0
        while start < len(line):
            end = min(start + width, len(line))
            while end > start + 1 and cell_len(line[start:end]) > width:
                end -= 1  # wide characters: fewer of them fit
            rows.append((index, start, end))
            start = end
    return rows


def find_matches(lines: list[str], query: str) -> tuple[list[Match], str | None]:
    """Where ``query`` occurs: as a regular expression when it is one, else as text.

    Case-insensitive unless the query has a capital letter (as in less and vim's smartcase).
    Returns the matches and a note when the query was taken as plain text.
    """
    flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
    note = None
    try:
        pattern = re.compile(query, flags)
    except re.error as exc:
        pattern = re.compile(re.escape(query), flags)
        note = f"not a regular expression ({exc.msg}): searched as text"
    matches: list[Match] = []
    for index, line in enumerate(lines):
        for found in pattern.finditer(line):
            if found.end() > found.start():
                matches.append((index, found.start(), found.end()))
                if len(matches) >= MAX_MATCHES:
                    return matches, note
    return matches, note


class TextLines(ScrollView, can_focus=True):
    """The lines, wrapped or not, with the matches of a search marked."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"text-lines--match", "text-lines--current"}

    DEFAULT_CSS = """
    TextLines {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .text-lines--match {
            background: $warning 40%;
        }
        & > .text-lines--current {
            background: $accent;
            color: $foreground;
            text-style: bold;
        }
    }
    """

    wrap: reactive[bool] = reactive(True)

    def __init__(
        self,
        highlight: Callable[[Text], None] | None = None,
        follow: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.follow = follow  # a log: show its end, and keep to it as it grows
        self.lines: list[str] = []
        self.dim = False  # a message rather than the text itself
        self._highlight = highlight
        self._rows: list[Row] = []
        self._rows_for: tuple[int, bool, int] | None = None  # width, wrap, lines laid out
        self.matches: list[Match] = []
        self.current: int | None = None  # index into ``matches``

    def set_lines(self, lines: list[str], dim: bool = False, appended: bool = False) -> None:
        """Show these lines. A followed text (a log) shows its end, and stays there as lines
        are appended unless the reader scrolled up; any other text starts at its top."""
        at_end = self.scroll_offset.y >= self.max_scroll_y
        fresh = self.dim or not appended  # a new text, not more of the same
        self.lines = lines
        self.dim = dim
        self.matches, self.current = [], None
        self._lay_out(force=True)
        if self.follow and not dim and (fresh or at_end):
            self.scroll_end(animate=False, immediate=True)
        elif fresh:
            self.scroll_home(animate=False, immediate=True)
        self.refresh()

    def append_lines(self, lines: list[str]) -> None:
        self.set_lines(self.lines + lines, appended=True)

    def watch_wrap(self) -> None:
        self._lay_out(force=True)
        self.refresh()
        self.scroll_to_match()

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width
        signature = (width, self.wrap, len(self.lines))
        if not force and signature == self._rows_for:
            return
        self._rows_for = signature
        self._rows = wrap_rows(self.lines, width, self.wrap)
        widest = width if self.wrap else max((cell_len(line) for line in self.lines), default=0)
        self.virtual_size = Size(widest, len(self._rows))

    def mark(self, matches: list[Match], current: int | None) -> None:
        self.matches, self.current = matches, current
        self.refresh()
        self.scroll_to_match()

    def scroll_to_match(self) -> None:
        """Bring the current match on screen: its row, and its column when not wrapped."""
        if self.current is None or not self.matches:
            return
        line, start, _ = self.matches[self.current]
        for y, (row_line, row_start, row_end) in enumerate(self._rows):
            if row_line == line and row_start <= start < max(row_end, row_start + 1):
                x = 0 if self.wrap else max(cell_len(self.lines[line][:start]) - 8, 0)
                self.scroll_to(x=x, y=max(y - self.size.height // 3, 0), animate=False)
                return

    def render_line(self, y: int) -> Strip:
        self._lay_out()
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        line, start, end = self._rows[index]
        text = Text(self.lines[line][start:end], style="dim" if self.dim else "", no_wrap=True)
        if self._highlight is not None and not self.dim:
            self._highlight(text)
        self._stylize_matches(text, line, start, end)
        segments = list(text.render(self.app.console))
        strip = Strip(segments).apply_style(self.rich_style)
        if not self.wrap:
            strip = strip.crop(self.scroll_offset.x, self.scroll_offset.x + width)
        return strip.extend_cell_length(width, self.rich_style).crop(0, width)

    def _stylize_matches(self, text: Text, line: int, start: int, end: int) -> None:
        if not self.matches:
            return
        match_style = self.get_component_rich_style("text-lines--match", partial=True)
        current_style = self.get_component_rich_style("text-lines--current", partial=True)
        for number, (match_line, match_start, match_end) in enumerate(self.matches):
            if match_line != line or match_end <= start or match_start >= end:
                continue
            style: Style = current_style if number == self.current else match_style
            text.stylize(style, max(match_start, start) - start, min(match_end, end) - start)


class TextView(Vertical):
    """Searchable, wrappable text: ``/`` search, ``n``/``N`` next and previous, ``w`` wrap."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("text_view")

    DEFAULT_CSS = """
    TextView {
        height: 1fr;
        padding: 0 1;
        background: $surface;
        & > Input {
            display: none;
            dock: top;
        }
        & > Input.shown {
            display: block;
        }
        & > .search-state {
            dock: bottom;
            height: 1;
            display: none;
            color: $text-muted;
        }
        & > .search-state.shown {
            display: block;
        }
    }
    """

    def __init__(
        self,
        highlight: Callable[[Text], None] | None = None,
        follow: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._highlight = highlight
        self._follow = follow
        self.text = ""
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search: text or regex (enter finds, esc closes)")
        yield Static(classes="search-state")
        yield TextLines(self._highlight, follow=self._follow)

    @property
    def text_lines(self) -> TextLines:
        return self.query_one(TextLines)

    @property
    def search_box(self) -> Input:
        return self.query_one(Input)

    @property
    def lines(self) -> list[str]:
        return self.text_lines.lines

    def show_text(self, text: str) -> None:
        """Show this text (already cleaned); only the new lines when it grew by lines."""
        old = self.text
        self.text = text
        lines = self.text_lines
        if old and text.startswith(old) and old.endswith("\n") and not lines.dim:
            lines.append_lines(text[len(old) :].splitlines())
        else:
            lines.set_lines(text.splitlines())
        if self.query_text:
            self._find(keep_place=True)

    def show_message(self, message: str) -> None:
        self.text = ""
        self.text_lines.set_lines(message.splitlines(), dim=True)

    def focus(self, scroll_visible: bool = True) -> TextView:
        self.text_lines.focus(scroll_visible)
        return self

    # --- search --------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.search_box
        box.add_class("shown")
        box.value = self.query_text
        box.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "search":
            return not self.search_box.has_focus
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value
        self.search_box.remove_class("shown")
        self.text_lines.focus()
        self._find()

    def on_key(self, event: events.Key) -> None:
        """``escape`` in the search box closes it (and only it)."""
        if event.key == "escape" and self.search_box.has_focus:
            event.stop()
            event.prevent_default()
            self.search_box.remove_class("shown")
            self.text_lines.focus()

    def _find(self, keep_place: bool = False) -> None:
        view = self.text_lines
        if not self.query_text:
            view.mark([], None)
            self._describe()
            return
        matches, note = find_matches(view.lines, self.query_text)
        current = None
        if matches:
            current = min(view.current or 0, len(matches) - 1) if keep_place else 0
        view.mark(matches, current)
        self._describe(note)

    def _describe(self, note: str | None = None) -> None:
        """The search's state on the line under the text: which match of how many."""
        view = self.text_lines
        state = self.query_one(".search-state", Static)
        if not self.query_text:
            state.remove_class("shown")
            return
        query = one_line(self.query_text, 60)
        if not view.matches:
            words = f"no match for {query!r}"
        else:
            words = f"match {(view.current or 0) + 1} of {len(view.matches)} for {query!r}"
            words += " · n next · N previous"
        state.update(Text(words if note is None else f"{words} · {note}"))
        state.add_class("shown")

    def _step(self, step: int) -> None:
        view = self.text_lines
        if not view.matches:
            if self.query_text:
                self._describe()
            return
        view.mark(view.matches, ((view.current or 0) + step) % len(view.matches))
        self._describe()

    def action_next_match(self) -> None:
        self._step(1)

    def action_previous_match(self) -> None:
        self._step(-1)

    def action_scroll_text(self, where: str) -> None:
        lines = self.text_lines
        moves = {
            "down": lambda: lines.scroll_down(animate=False),
            "up": lambda: lines.scroll_up(animate=False),
            "page_down": lambda: lines.scroll_page_down(animate=False),
            "page_up": lambda: lines.scroll_page_up(animate=False),
            "home": lambda: lines.scroll_home(animate=False),
            "end": lambda: lines.scroll_end(animate=False),
        }
        moves[where]()

    def action_toggle_wrap(self) -> None:
        view = self.text_lines
        view.wrap = not view.wrap
