"""The job list: one line per job, drawn with Textual's Line API so 100,000 jobs stay smooth.

Only the lines on screen are rendered (``render_line``); each row's Strip is cached until its
job, the layout, the cursor or its mark changes. The list remembers the strip it last painted on
each screen line, and whatever changes (a poll, rows moving, the cursor, a scroll, the clock) it
compares the line it would paint now with that one and refreshes only the cells that differ:
a status that changed sends that status, a poll that changed nothing visible sends nothing.
Its scrollbar likewise repaints only when its thumb moves (``CellScrollBar``).

Server strings (ids, names, tags, backends) are cleaned with ``one_line`` and drawn as plain
segments, never parsed as markup. Colours come from the theme through component classes, and
every status also has a glyph and a word, so the list reads the same in 16 colours, in true
colour and with NO_COLOR.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from qjob_tui.model import Job
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.text import one_line
from qjob_tui.ui.actions import bindings
from qjob_tui.ui.formatting import (
    MISSING,
    STATUS_WIDTH,
    Tone,
    compact_duration,
    job_duration,
    queue_label,
    relative_time,
    status_look,
)
from qjob_tui.ui.jobs.job_rows import Column, FilterError, JobRows, RowsUpdate, StatusFilter
from qjob_tui.ui.terminal.cell_diff import changed_spans, line_regions
from qjob_tui.ui.terminal.scroll_bar import CellScrollBar

MARK_GLYPH = "●"
MARK_WIDTH = 2  # the mark glyph and a space before the first column
ARROW_UP, ARROW_DOWN = "▲", "▼"  # ascending, descending
ELLIPSIS = "…"
ROW_CACHE_SIZE = 512  # rows kept rendered: a few screens' worth, so scrolling back is free
STYLE_CACHE_SIZE = 64  # component styles, (name, partial): far more than the list uses
TICK_SECONDS = 1.0  # how often "3 min ago" and running durations are checked for change


@dataclass(frozen=True)
class ColumnSpec:
    """How a column is laid out: the width it wants, how far it may shrink, its share of slack."""

    column: Column
    title: str
    want: int
    minimum: int
    flex: int = 0
    right: bool = False


COLUMN_SPECS: dict[Column, ColumnSpec] = {
    spec.column: spec
    for spec in (
        ColumnSpec(Column.STATUS, "status", STATUS_WIDTH, 8),
        ColumnSpec(Column.SOURCE, "source", 10, 6),
        ColumnSpec(Column.ID, "id", 20, 8),
        ColumnSpec(Column.NAME, "name", 14, 6, flex=3),
        ColumnSpec(Column.BACKEND, "backend", 15, 8),
        ColumnSpec(Column.PROGRAM, "program", 12, 9),
        ColumnSpec(Column.CREATED, "created", 10, 8),
        ColumnSpec(Column.DURATION, "duration", 11, 11, right=True),
        ColumnSpec(Column.QUEUE, "queue", 7, 7, right=True),
        ColumnSpec(Column.TAGS, "tags", 16, 10, flex=2),
    )
}

# Which columns stay when the terminal narrows: earlier ones first. The first three always stay.
PRIORITY: tuple[Column, ...] = (
    Column.STATUS,
    Column.ID,
    Column.NAME,
    Column.CREATED,
    Column.SOURCE,
    Column.BACKEND,
    Column.TAGS,
    Column.DURATION,
    Column.QUEUE,
    Column.PROGRAM,
)
ESSENTIAL = frozenset({Column.STATUS, Column.ID, Column.NAME})
SHRINK_ORDER = (Column.NAME, Column.ID, Column.STATUS)

Layout = tuple[tuple[ColumnSpec, int], ...]


def layout_columns(
    width: int,
    *,
    show_source: bool,
    id_width: int = 20,
    hidden: frozenset[Column] = frozenset(),
) -> Layout:
    """The columns that fit in ``width`` cells and their widths, in display order.

    ``hidden`` are the columns the user turned off (``o``); the id always stays.

    Columns are taken by priority while each gets the width it wants, and the next one if it
    fits at its minimum; the width left over goes to the name and tags. Below the width of
    the essential columns, those shrink (and their text is cut with an ellipsis) rather than
    vanish.
    """
    available = width - MARK_WIDTH
    wants = {column: spec.want for column, spec in COLUMN_SPECS.items()}
    wants[Column.ID] = max(4, min(id_width, 40))
    chosen: list[Column] = []
    used = 0
    for column in PRIORITY:
        if column is Column.SOURCE and not show_source:
            continue
        if column in hidden and column is not Column.ID:
            continue
        gap = 1 if chosen else 0
        if used + gap + wants[column] > available and column not in ESSENTIAL:
            room = available - used - gap
            if room >= COLUMN_SPECS[column].minimum:
                wants[column] = room  # the last column that fits takes what is left
                chosen.append(column)
                used += gap + room
            break
        chosen.append(column)
        used += gap + wants[column]
    widths = {column: wants[column] for column in chosen}
    extra = available - used
    flexible = [c for c in chosen if COLUMN_SPECS[c].flex]
    if extra > 0 and flexible:
        weight = sum(COLUMN_SPECS[c].flex for c in flexible)
        given = 0
        for column in flexible:
            share = extra * COLUMN_SPECS[column].flex // weight
            widths[column] += share
            given += share
        widths[flexible[0]] += extra - given
    elif extra < 0:
        for column in SHRINK_ORDER:
            cut = min(-extra, widths[column] - COLUMN_SPECS[column].minimum)
            widths[column] -= cut
            extra += cut
            if not extra:
                break
    return tuple((COLUMN_SPECS[c], widths[c]) for c in Column if c in widths)


def fit(text: str, width: int, right: bool = False) -> str:
    """Text padded or cut to exactly ``width`` cells, with an ellipsis where it was cut."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length <= width:
        pad = " " * (width - length)
        return pad + text if right else text + pad
    return set_cell_size(text, width - 1) + ELLIPSIS


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JobList(ScrollView, can_focus=True):
    """Every job on one line each, sortable, filterable, with a cursor and marks."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "job-list--header",
        "job-list--sort",
        "job-list--cursor",
        "job-list--mark",
        "job-list--marked",
        "job-list--empty",
        "job-list--success",
        "job-list--error",
        "job-list--warning",
        "job-list--accent",
        "job-list--muted",
    }
    """
    | Class | Description |
    | :- | :- |
    | `job-list--header` | The sticky header line. |
    | `job-list--sort` | The title of the sort column, with its ▲/▼. |
    | `job-list--cursor` | The row under the cursor. |
    | `job-list--mark` | The mark glyph of a marked row. |
    | `job-list--marked` | A marked row. |
    | `job-list--empty` | The line that says there are no jobs. |
    | `job-list--success` ... `job-list--muted` | Status tones and missing values. |
    """

    DEFAULT_CSS = """
    JobList {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;

        & > .job-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .job-list--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .job-list--sort {
            color: $text-accent;
            text-style: bold;
        }
        & > .job-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .job-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .job-list--mark {
            color: $text-accent;
            text-style: bold;
        }
        & > .job-list--marked {
            background: $accent 15%;
        }
        & > .job-list--empty {
            color: $text-muted;
            text-style: italic;
        }
        & > .job-list--success {
            color: $text-success;
        }
        & > .job-list--error {
            color: $text-error;
        }
        & > .job-list--warning {
            color: $text-warning;
        }
        & > .job-list--accent {
            color: $text-accent;
        }
        & > .job-list--muted {
            color: $text-muted;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("job_list")

    class _Message(Message):
        """A message from a job list: ``control`` is the list, for ``@on(..., "#id")``."""

        def __init__(self, job_list: JobList) -> None:
            super().__init__()
            self.job_list = job_list

        @property
        def control(self) -> JobList:
            return self.job_list

    class Highlighted(_Message):
        """The cursor moved to another job (None when the list became empty)."""

        def __init__(self, key: JobKey | None, job_list: JobList) -> None:
            super().__init__(job_list)
            self.key = key

    class Selected(_Message):
        """The user chose the job under the cursor (``enter`` or a double click)."""

        def __init__(self, key: JobKey, job_list: JobList) -> None:
            super().__init__(job_list)
            self.key = key

    class MarksChanged(_Message):
        """Jobs were marked or unmarked; ``count`` is how many are marked now."""

        def __init__(self, count: int, job_list: JobList) -> None:
            super().__init__(job_list)
            self.count = count

    class InView(_Message):
        """The rows on screen that show a duration are other jobs now (the store reads the
        steps that finished jobs from history lack)."""

        def __init__(self, keys: tuple[JobKey, ...], job_list: JobList) -> None:
            super().__init__(job_list)
            self.keys = keys

    class Described(_Message):
        """What the list's border says changed: marks, filters, new jobs above the view."""

        def __init__(self, text: str, job_list: JobList) -> None:
            super().__init__(job_list)
            self.text = text

    def __init__(
        self,
        rows: JobRows | None = None,
        *,
        show_source: bool | None = None,
        clock: Callable[[], datetime] | None = None,
        intent_of: Callable[[JobKey], str | None] | None = None,
        offset_of: Callable[[str], timedelta] | None = None,
        empty_hint: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """``show_source=None`` shows the source column once jobs come from several sources.

        ``clock`` gives "now" for relative times (fixed in tests and snapshots); ``intent_of``
        says which action is in flight on a job (the store's ``intent``), shown as its status;
        ``offset_of`` how far a source's server clock is ahead (ages and durations are measured
        on it, from the server's timestamps);
        ``empty_hint`` is shown under "No jobs yet." (how to get some), one line per line.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.rows = rows if rows is not None else JobRows()
        self._show_source = show_source
        self._clock = clock or _utc_now
        self._intent_of = intent_of
        self._offset_of = offset_of
        # One line each, so that a narrow list cuts none of them in the middle.
        self._empty_text = ("No jobs yet.", *(line for line in empty_hint.split("\n") if line))
        self._now = self._clock()
        self._cursor = 0
        self._cursor_key: JobKey | None = None
        self._layout: Layout = ()
        self._shown: frozenset[Column] = frozenset()
        self._layout_signature: tuple[int, bool, int, frozenset[Column]] | None = None
        self._hidden: frozenset[Column] = frozenset()
        self._row_cache: LRUCache[JobKey, tuple[Job, tuple[object, ...], Strip]] = LRUCache(
            ROW_CACHE_SIZE
        )
        self._header_cache: tuple[tuple[object, ...], Strip] | None = None
        self._styles: LRUCache[tuple[str, bool], Style] = LRUCache(STYLE_CACHE_SIZE)
        self._styles_focus = False
        # The strip painted on each screen line (0 is the header), or to be painted with the
        # refreshes asked for: what the terminal shows once they are done.
        self._painted: dict[int, Strip] = {}
        self._described = ""
        self.new_above = 0  # jobs that arrived above the view since it left the top
        self._in_view: tuple[JobKey, ...] = ()  # the jobs on screen, as last said

    # --- public state --------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The visible index of the cursor (0 when the list is empty)."""
        return self._cursor

    @property
    def cursor_key(self) -> JobKey | None:
        """The job under the cursor, or None when no job is shown."""
        return self._cursor_key

    @property
    def cursor_job(self) -> Job | None:
        return self.rows.job(self._cursor_key) if self._cursor_key else None

    @property
    def show_source(self) -> bool:
        """Whether the source column is shown: as set, or when jobs come from several sources."""
        if self._show_source is None:
            return len(self.rows.sources) > 1
        return self._show_source

    @show_source.setter
    def show_source(self, value: bool | None) -> None:
        self._show_source = value
        self._repaint_window()

    @property
    def hidden_columns(self) -> frozenset[Column]:
        """The columns the user turned off; the others show when they fit."""
        return self._hidden

    @hidden_columns.setter
    def hidden_columns(self, hidden: frozenset[Column]) -> None:
        self._hidden = frozenset(hidden) - {Column.ID}
        if self.rows.sort_column in self._hidden:
            self.rows.set_sort(Column.CREATED)
        self._rows_moved()

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns shown at the current width."""
        self._ensure_layout()
        return tuple(spec.column for spec, _ in self._layout)

    # --- changes from outside ------------------------------------------------------------

    def apply_changes(self, changes: ChangeSet) -> RowsUpdate:
        """Take a change set from the store, repainting only the cells on screen that changed.

        When rows moved, every line on screen is compared with what it shows, so a poll that
        moves rows elsewhere in the list repaints nothing (and sends nothing over SSH), and a
        new job at the top re-sends only the cells that differ from the row that was there.
        """
        top = self.scroll_offset.y
        # On the first (newest) job of a list on screen: follow. Hidden (a job full screen), the
        # cursor keeps its job, and what arrives is counted for when the list comes back.
        following = self._cursor == 0 and top == 0 and self.display
        arrived = self._arrivals_above(changes, top)
        update = self.rows.apply(changes)
        if arrived and following and update.reordered:
            self._cursor_key = None  # the first row, whichever job it is now
        elif arrived and not following:
            self.new_above += arrived
            self._show_description()
        if update.marks_dropped:
            self.post_message(self.MarksChanged(self.rows.mark_count, self))
            self._show_description()
        if update.reordered:
            self._rows_moved(poll=True)
        elif update.changed:
            # Sorted indices: only those on screen are repainted, and the window is read
            # once (it costs a layout lookup per call; a poll may change 1,000 rows).
            page = self._page_rows()
            first = bisect_left(update.changed, top)
            for index in update.changed[first : bisect_left(update.changed, top + page, first)]:
                self.refresh_line(index + 1)
        for key in changes.intents:  # same job, other status text: the cache sees the intent
            index = self.rows.index_of(key)
            if index is not None:
                self._refresh_row(index)
        return update

    def _arrivals_above(self, changes: ChangeSet, top: int) -> int:
        """How many jobs of this change set are new and sort above the row at the view's top."""
        if not changes.added:
            return 0
        rows = self.rows
        anchor = rows.key_at(top) if 0 <= top < len(rows) else None
        if anchor is None:
            return 0
        anchor_job = rows.job(anchor)
        if anchor_job is None:
            return 0
        # The list is sorted: a new job lands above the view when it sorts before the job at
        # its top. Known jobs (a change, not an arrival) are not counted.
        count = 0
        for job in changes.added:
            if rows.job(job.key) is None and rows.sorts_before(job, anchor_job):
                count += 1
        return count

    def _seen_top(self) -> None:
        """The view reached the top: the new jobs above it are seen."""
        if self.new_above and self.scroll_offset.y == 0:
            self.new_above = 0
            self._show_description()

    def set_filter(self, text: str) -> str | None:
        """Filter the rows (``foo``, ``re:regex``, ``!`` inverts); the problem, or None if fine.

        An invalid regex leaves the rows as they were, so typing ``re:(`` on the way to
        ``re:(a|b)`` does not flash an empty list.
        """
        try:
            changed = self.rows.set_filter(text)
        except FilterError as exc:
            return str(exc)
        if changed:
            self._rows_moved()
        self._show_description()
        return None

    def set_status_filter(self, which: StatusFilter | None) -> bool:
        """Show only "active" or "failed" jobs, or all (None). True if the rows changed."""
        changed = self.rows.set_status_filter(which)
        if changed:
            self._rows_moved()
        self._show_description()
        return changed

    def set_owner_filter(self, owners: frozenset[tuple[str, str]] | None) -> bool:
        """Show only the jobs of these (source, user id)s ("only my jobs"), or all (None)."""
        changed = self.rows.set_owner_filter(owners)
        if changed:
            self._rows_moved()
        self._show_description()
        return changed

    def set_sort(self, column: Column | str, reverse: bool | None = None) -> None:
        """Sort by a column (``reverse=None``: its natural direction), keeping the cursor's job."""
        if self.rows.set_sort(column, reverse):
            self._rows_moved()

    def cycle_sort(self) -> Column:
        """Sort by the next shown column."""
        column = self.rows.cycle_sort(self.columns)
        self._rows_moved()
        return column

    def toggle_reverse(self) -> bool:
        reverse = self.rows.toggle_reverse()
        self._rows_moved()
        return reverse

    def clear_marks(self) -> None:
        """Unmark every job, e.g. after a bulk action on them."""
        self.rows.clear_marks()
        self.refresh_marks()

    def refresh_marks(self) -> None:
        """Repaint and announce the count after marks were changed on ``rows`` directly."""
        self._repaint_window()
        self.post_message(self.MarksChanged(self.rows.mark_count, self))
        self._show_description()

    def describe(self) -> str:
        """The active filters and the marks, for the border: why rows are missing, and what
        a bulk action will act on."""
        rows = self.rows
        parts = []
        if self.new_above:
            parts.append(f"↑ {self.new_above} new (g)")
        if rows.mark_count:
            shown = len(rows.visible_marked)
            hidden = rows.mark_count - shown
            parts.append(f"{shown} marked" + (f" (+{hidden} hidden)" if hidden else ""))
        if rows.filter_text:
            parts.append(f"filter: {one_line(rows.filter_text, 40)}")
        if rows.status_filter:
            parts.append(f"only {rows.status_filter}")
        if rows.owner_filter is not None:
            parts.append("only my jobs")
        return " · ".join(parts)

    def _show_description(self) -> None:
        text = self.describe()
        if text != self._described:
            self._described = text
            self.border_subtitle = Text(text)  # a filter typed with [ ] is not markup
            self.post_message(self.Described(text, self))

    def sort_by(self, column: Column) -> None:
        """Sort by a column; by the same column again: the other way round."""
        if self.rows.sort_column == column:
            self.toggle_reverse()
        else:
            self.set_sort(column)

    # --- cursor --------------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Put the cursor on a visible row (clamped) and scroll it into view."""
        count = len(self.rows)
        if not count:
            self._cursor = 0
            self._set_cursor_key(None)
            return
        index = max(0, min(index, count - 1))
        old = self._cursor
        self._cursor = index
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)
        self._scroll_to_cursor()
        self._set_cursor_key(self.rows.key_at(index))
        if index == 0 and self.new_above:  # on the newest job: what arrived above is seen
            self.new_above = 0
            self._show_description()

    def _set_cursor_key(self, key: JobKey | None) -> None:
        if key != self._cursor_key:
            self._cursor_key = key
            self.post_message(self.Highlighted(key, self))

    def keys_in_view(self) -> tuple[JobKey, ...]:
        """The jobs of the rows on screen whose duration is shown (none while the list is
        hidden or its duration column is)."""
        if not self.display or Column.DURATION not in self._shown:  # (as laid out last)
            return ()
        top = self.scroll_offset.y
        end = min(top + self._page_rows(), len(self.rows))
        return tuple(self.rows.row(i).key for i in range(top, end))

    def _view_moved(self) -> None:
        """Say which jobs are on screen, when they are others than last said."""
        keys = self.keys_in_view()
        if keys != self._in_view:
            self._in_view = keys
            self.post_message(self.InView(keys, self))

    def _page_rows(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        if not self.scrollable_content_region.height:
            return
        page = self._page_rows()
        top = self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=False, force=True)

    def _rows_moved(self, repaint: bool = True, poll: bool = False) -> None:
        """After rows moved, appeared or vanished: keep the cursor on its job, repaint.

        The cursor keeps its height on screen, so a re-sort or a poll does not yank the view;
        at the very top the view stays at the top so new jobs are seen arriving. A poll never
        scrolls back to a cursor the user scrolled away from with the mouse.
        """
        rows = self.rows
        count = len(rows)
        top = self.scroll_offset.y
        page = self._page_rows()
        follow = not poll or top <= self._cursor < top + page
        screen_offset = max(0, min(self._cursor - top, page - 1))
        index = rows.index_of(self._cursor_key) if self._cursor_key is not None else None
        if index is None:
            index = min(self._cursor, count - 1)
        self._cursor = max(index, 0)
        self._sync_virtual_size()
        if count:
            if follow:
                if top > 0:
                    target = max(self._cursor - screen_offset, 0)
                    self.scroll_to(y=target, animate=False, force=True)
                self._scroll_to_cursor()
            self._set_cursor_key(rows.key_at(self._cursor))
        else:
            self._set_cursor_key(None)
        if repaint:
            self._repaint_window()

    def _refresh_row(self, index: int) -> None:
        top = self.scroll_offset.y
        if top <= index < top + self._page_rows():
            self.refresh_line(index + 1)

    # --- repainting only what changed --------------------------------------------------------

    def refresh_line(self, y: int) -> None:
        """Repaint the cells of virtual line ``y`` (``index + 1``) that differ from the screen."""
        self._repaint_line(y - self.scroll_offset.y)

    def _repaint_line(self, line: int) -> None:
        """Refresh the changed cells of one screen line (0 is the header)."""
        if not 0 <= line < self.scrollable_content_region.height:
            return
        if self._ensure_layout():
            self.refresh()  # the columns moved: everything changed
            return
        painted = self._painted.get(line)
        if painted is None:
            self.refresh(Region(0, line, self.scrollable_content_region.width, 1))
            return
        strip = self._line_strip(line)
        spans = changed_spans(painted, strip)
        if spans:
            self.refresh(*line_regions(line, spans))
            # What the line will show once painted: a second look before then (Textual may
            # collect this frame's regions before the paint) must not ask for the same cells.
            self._painted[line] = strip

    def _repaint_window(self) -> None:
        """Compare every line on screen with what it shows and refresh the cells that differ."""
        if not self._painted or self._ensure_layout():
            self.refresh()
        else:
            for line in range(self.scrollable_content_region.height):
                self._repaint_line(line)
        self._view_moved()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling moves every row: repaint the cells that differ, not the whole list."""
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            self._repaint_window()
        if round(new_value) == 0:
            self._seen_top()

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scrollbar: a ``CellScrollBar``, which repaints only when its thumb moves.

        As Textual's own property, with the class changed (ScrollView has no hook for it).
        """
        if self._vertical_scrollbar is None:
            thickness = self.scrollbar_size_vertical
            bar = CellScrollBar(vertical=True, name="vertical", thickness=thickness)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def _sync_virtual_size(self) -> None:
        """Tell the scrollbars how many lines there are, without repainting every line.

        Setting ``virtual_size`` the usual way repaints the whole widget; a poll that adds a
        job off screen should repaint nothing but the scrollbar.
        """
        size = Size(self.scrollable_content_region.width, len(self.rows) + 1)
        if size != self.virtual_size:
            self.set_reactive(JobList.virtual_size, size)
            if self.show_vertical_scrollbar:
                # Now, not at the next layout: with the scroll that follows, the thumb moves
                # once, rather than to where the new position and the old length put it first.
                self.vertical_scrollbar.window_virtual_size = size.height
            self.refresh(repaint=False, layout=True)

    # --- actions -------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(len(self.rows) - 1)

    def action_cursor_page_down(self) -> None:
        page = self._page_rows()
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, force=True)
        self.move_cursor(self._cursor + page)

    def action_cursor_page_up(self) -> None:
        page = self._page_rows()
        self.scroll_to(y=max(self.scroll_offset.y - page, 0), animate=False, force=True)
        self.move_cursor(self._cursor - page)

    def action_toggle_mark(self) -> None:
        """Mark or unmark the job under the cursor, then step down, to mark a run quickly."""
        key = self._cursor_key
        if key is None:
            return
        self.rows.toggle_mark(key)
        self._refresh_row(self._cursor)
        self.post_message(self.MarksChanged(self.rows.mark_count, self))
        self._show_description()
        self.move_cursor(self._cursor + 1)

    def action_mark_all(self) -> None:
        self.rows.mark_visible()
        self.refresh_marks()

    def action_clear_marks(self) -> None:
        self.clear_marks()

    def action_cycle_sort(self) -> None:
        self.cycle_sort()

    def action_reverse_sort(self) -> None:
        self.toggle_reverse()

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self._cursor_key, self))

    # --- events --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._sync_virtual_size()
        if len(self.rows):
            self._rows_moved()
        self.set_interval(TICK_SECONDS, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self._sync_virtual_size()
        self._scroll_to_cursor()

    def on_click(self, event: events.Click) -> None:
        """A click moves the cursor to the row (a double click opens it); on the header, sorts."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None:
                if column == self.rows.sort_column:
                    self.toggle_reverse()
                else:
                    self.set_sort(column)
            return
        index = self.scroll_offset.y + offset.y - 1
        if 0 <= index < len(self.rows):
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> Column | None:
        left = MARK_WIDTH
        for spec, width in self._layout:
            if left <= x < left + width:
                return spec.column
            left += width + 1
        return None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._row_cache.clear()
        self._header_cache = None
        self._painted.clear()

    def _tick(self) -> None:
        """Repaint the cells whose relative time or running duration now reads differently.

        Each row on screen is compared with what it painted, as any other repaint does: a row
        whose times did not change comes from the row cache and is the very strip painted, so
        the comparison ends at once and nothing is sent.
        """
        self._now = self._clock()
        self._view_moved()  # (a resize, a column shown or hidden, the list shown again)
        if not self._painted:
            return  # nothing painted yet: the first paint reads the new time
        rows_on_screen = min(self._page_rows(), len(self.rows) - self.scroll_offset.y)
        for line in range(1, rows_on_screen + 1):
            self._repaint_line(line)

    # --- rendering -----------------------------------------------------------------------

    def _ensure_layout(self) -> bool:
        """Lay the columns out again if the width, the sources or the ids changed; True if so."""
        signature = (
            self.scrollable_content_region.width,
            self.show_source,
            self.rows.max_id_length or 20,
            self._hidden,
        )
        if signature != self._layout_signature:
            width, show_source, id_width, hidden = signature
            self._layout_signature = signature
            self._layout = layout_columns(
                width, show_source=show_source, id_width=id_width, hidden=hidden
            )
            self._shown = frozenset(spec.column for spec, _ in self._layout)
            self._row_cache.clear()
            self._header_cache = None
            return True
        return False

    def _style(self, name: str, partial: bool = False) -> Style:
        """A component's Rich style, cached until the styles or the focus change."""
        if self.has_focus != self._styles_focus:
            self._styles.clear()
            self._styles_focus = self.has_focus
        style = self._styles.get((name, partial))
        if style is None:
            styles = self.get_component_styles(name)
            style = styles.partial_rich_style if partial else styles.rich_style
            self._styles.set((name, partial), style)
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._ensure_layout()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        strip = self._painted[y] = self._line_strip(y)
        return strip

    def _line_strip(self, y: int) -> Strip:
        """What screen line ``y`` shows now; ``render_line`` paints it, repaints compare it.

        The clock is read by ``_tick`` only (once a second, repainting the times it changed),
        so that a line compared now and painted a moment later are the same line.
        """
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        index = self.scroll_offset.y + y - 1
        rows = self.rows
        if index >= len(rows) or index < 0:
            if 1 <= y <= len(self._empty_text) and not len(rows):
                return self._empty_strip(width, y)
            return Strip.blank(width, self.rich_style)
        return self._row_strip(rows.row(index), index == self._cursor, width)

    def _header_strip(self, width: int) -> Strip:
        rows = self.rows
        signature = (width, self._layout, rows.sort_column, rows.sort_reverse)
        if self._header_cache is not None and self._header_cache[0] == signature:
            return self._header_cache[1]
        style = self._style("job-list--header")
        sorted_style = style + self._style("job-list--sort", partial=True)
        segments = [Segment(" " * MARK_WIDTH, style)]
        for position, (spec, cells) in enumerate(self._layout):
            if position:
                segments.append(Segment(" ", style))
            if spec.column == rows.sort_column:
                arrow = ARROW_DOWN if rows.sort_reverse else ARROW_UP
                title = set_cell_size(spec.title, max(min(len(spec.title), cells - 2), 0))
                segments.append(Segment(fit(f"{title} {arrow}", cells, spec.right), sorted_style))
            else:
                segments.append(Segment(fit(spec.title, cells, spec.right), style))
        strip = Strip(segments).adjust_cell_length(width, style).simplify()
        self._header_cache = (signature, strip)
        return strip

    def show_empty_text(self, lines: tuple[str, ...]) -> None:
        """What the list says while no job is known, one line each (why, and how to get jobs)."""
        if lines != self._empty_text:
            self._empty_text = lines
            self.refresh()

    def _empty_strip(self, width: int, y: int) -> Strip:
        if self.rows.total:
            message = "No jobs match the filter." if y == 1 else ""
        else:
            message = self._empty_text[y - 1]
        style = self._style("job-list--empty")
        return (
            Strip([Segment(" " * MARK_WIDTH + message, style)])
            .crop(0, width)
            .adjust_cell_length(width, self.rich_style)
        )

    def _time_cells(self, job: Job, now: datetime) -> tuple[str, str]:
        """The cells that change with the clock, so the cache can tell when they go stale."""
        columns = self._shown
        if self._offset_of is not None:
            now += self._offset_of(job.source)
        created = relative_time(job.created, now) if Column.CREATED in columns else ""
        duration = compact_duration(job_duration(job, now)) if Column.DURATION in columns else ""
        return created, duration

    def _row_strip(self, job: Job, cursor: bool, width: int) -> Strip:
        key = job.key
        marked = self.rows.is_marked(key)
        intent = self._intent_of(key) if self._intent_of is not None else None
        created, duration = self._time_cells(job, self._now)
        state = (cursor, cursor and self.has_focus, marked, intent, created, duration)
        cached = self._row_cache.get(key)
        if cached is not None and cached[0] is job and cached[1] == state:
            return cached[2]
        strip = self._render_row(job, cursor, marked, intent, created, duration, width)
        # Textual's LRUCache.set keeps the value of a key it holds: the old render goes first,
        # or the cache would answer with a row's first render (its first Job, its first age).
        self._row_cache.discard(key)
        self._row_cache.set(key, (job, state, strip))
        return strip

    def _render_row(
        self,
        job: Job,
        cursor: bool,
        marked: bool,
        intent: str | None,
        created: str,
        duration: str,
        width: int,
    ) -> Strip:
        row_style = self.rich_style
        if marked:
            row_style += self._style("job-list--marked")
        if cursor:
            row_style += self._style("job-list--cursor")
        mark_style = row_style + self._style("job-list--mark", partial=True)
        segments = [
            Segment(MARK_GLYPH if marked else " ", mark_style if marked else row_style),
            Segment(" ", row_style),
        ]
        for position, (spec, cells) in enumerate(self._layout):
            if position:
                segments.append(Segment(" ", row_style))
            text, tone = self._cell(job, spec.column, intent, created, duration)
            style = row_style
            if tone is not None and not cursor:
                style = row_style + self._style(f"job-list--{tone}", partial=True)
            segments.append(Segment(fit(text, cells, spec.right), style))
        return Strip(segments).adjust_cell_length(width, row_style).simplify()

    @staticmethod
    def _cell(
        job: Job, column: Column, intent: str | None, created: str, duration: str
    ) -> tuple[str, Tone | None]:
        """A cell's plain text (cleaned of escapes and markup-free) and its tone."""
        if column is Column.STATUS:
            look = status_look(job.status, intent)
            return look.label, look.tone
        if column is Column.ID:
            return one_line(job.id, 80), None
        if column is Column.NAME:
            return (one_line(job.name) if job.name else ""), None
        if column is Column.CREATED:
            return created, None
        if column is Column.DURATION:
            return duration, ("muted" if duration == MISSING else None)
        if column is Column.QUEUE:
            label = queue_label(job)
            return label, ("muted" if label == MISSING else None)
        if column is Column.TAGS:
            return one_line(", ".join(job.tags)), None
        if column is Column.SOURCE:
            return one_line(job.source, 80), None
        value = job.backend if column is Column.BACKEND else job.program
        if not value:
            return MISSING, "muted"
        return one_line(value, 100), None
