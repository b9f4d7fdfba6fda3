"""Repaints cut down to the cells that changed: the job list, its scrollbar, the queue pane's
sparklines, the status line, and the partial updates that carry them to the terminal.

These check the mechanism (which regions are refreshed, what an update writes), not timings;
the bytes per minute are measured by ``bench/terminal_bench.py``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from qjob_tui.model import Backend, BackendState, JobStatus
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.backends.queue_pane import QueuePane
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.status.status_line import StatusLine
from qjob_tui.ui.terminal.cell_diff import changed_spans
from qjob_tui.ui.terminal.partial_update import CroppedChopsUpdate, CroppedUpdates
from qjob_tui.ui.terminal.scroll_bar import CellScrollBar
from tests.apps.job_list_app import sample_jobs
from tests.test_job_list import ListApp, Painted

# --- which cells differ ------------------------------------------------------------------------

RED, BLUE = Style(color="red"), Style(color="blue")


def strip(*parts: tuple[str, Style | None]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


def test_identical_lines_have_no_changed_span() -> None:
    line = strip(("queued", RED), ("  ghz-5", None))
    assert changed_spans(line, line) == []
    assert changed_spans(line, strip(("queued", RED), ("  ghz-5", None))) == []


def test_a_changed_cell_or_colour_is_one_span() -> None:
    before = strip(("queued", RED), ("  ghz-5", None))
    assert changed_spans(before, strip(("queued", RED), ("  ghz-6", None))) == [(12, 13)]
    assert changed_spans(before, strip(("queued", BLUE), ("  ghz-5", None))) == [(0, 6)]


def test_close_changes_merge_and_far_ones_stay_apart() -> None:
    before = strip(("a" * 40, None))
    assert changed_spans(before, strip(("b" + "a" * 3 + "b" + "a" * 35, None))) == [(0, 5)]
    assert changed_spans(before, strip(("b" + "a" * 30 + "b" + "a" * 8, None))) == [
        (0, 1),
        (31, 32),
    ]


def test_spans_never_cut_a_wide_character() -> None:
    before = strip(("ab量子cd", None))  # 量 and 子 take two cells each
    after = strip(("ab量x cd", None))  # the second half of 子 is now a space
    assert changed_spans(before, after, merge_gap=0) == [(4, 6)]
    assert changed_spans(strip(("abc", None)), strip(("abcde", None))) == [(3, 5)]


# --- partial updates, cropped on both sides ----------------------------------------------------


def _screen(*writes: str) -> list[list[pyte.screens.Char]]:
    screen = pyte.Screen(20, 2)
    stream = pyte.Stream(screen)
    for data in writes:
        stream.feed(data)
    return [[screen.buffer[y][x] for x in range(20)] for y in range(2)]


def test_a_cropped_update_paints_what_textual_paints_with_fewer_bytes() -> None:
    console = Console(color_system="256", force_terminal=True, width=20)
    old = [{0: strip(("abcdefghij", RED)), 10: strip(("KLMNO", Style(bold=True)), ("pq", None))}]
    new = [{0: strip(("abcXYZghij", RED)), 10: strip(("KLmnO", Style(bold=True)), ("pq", None))}]
    ends = [[10, 17]]
    spans = [(0, 3, 6), (0, 12, 14)]
    first = ChopsUpdate(old, [(0, 0, 20)], ends).render_segments(console)
    textual = ChopsUpdate(new, spans, ends).render_segments(console)
    ours = CroppedChopsUpdate(new, spans, ends).render_segments(console)
    assert _screen(first, ours) == _screen(first, textual)
    assert _screen(first, ours)[0][3].data == "X" and _screen(first, ours)[0][12].data == "m"
    assert "abc" in textual and "abc" not in ours  # Textual re-sends what lies left of the span
    assert len(ours) < len(textual)
    # Nothing outside the spans is written: on a blank screen only their cells show.
    assert "".join(cell.data for cell in _screen(ours)[0]).split() == ["XYZ", "mn"]


def test_the_dashboard_sends_cropped_updates() -> None:
    assert issubclass(QJobApp, CroppedUpdates)


# --- the job list ------------------------------------------------------------------------------


def spy_refresh(widget: Widget) -> list[tuple[Region, ...]]:
    """Every ``refresh`` the widget is asked for, by its regions (``()`` for all of it)."""
    calls: list[tuple[Region, ...]] = []
    original = widget.refresh

    def refresh(*regions: Region, **options: bool) -> Widget:
        if options.get("repaint", True):
            calls.append(regions)
        return original(*regions, **options)

    widget.refresh = refresh  # type: ignore[method-assign]
    return calls


def spy_dirty(widget: Widget) -> list[tuple[Region, ...]]:
    """Every region marked for repaint, whichever way the refresh came."""
    calls: list[tuple[Region, ...]] = []
    original = widget._set_dirty

    def set_dirty(*regions: Region) -> None:
        calls.append(regions)
        original(*regions)

    widget._set_dirty = set_dirty  # type: ignore[method-assign]
    return calls


async def test_a_poll_that_changes_one_cell_refreshes_that_cell_only() -> None:
    jobs = sample_jobs(30)
    app = ListApp(jobs)
    async with app.run_test(size=(120, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert jobs[5].name == "ghz-5"
        before = job_list._line_strip(6)
        calls = spy_refresh(job_list)
        job_list.apply_changes(ChangeSet(changed=(dataclasses.replace(jobs[5], name="ghz-6"),)))
        after = job_list._line_strip(6)
        assert changed_spans(before, after) == [(x := after.text.index("ghz-6") + 4, x + 1)]
        assert calls == [(Region(x, 6, 1, 1),)]
        await pilot.pause()
        assert "ghz-6" in job_list._painted[6].text


async def test_a_status_change_refreshes_its_changed_spans_on_its_row() -> None:
    jobs = sample_jobs(30)
    app = ListApp(jobs)
    async with app.run_test(size=(120, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert jobs[3].status is JobStatus.ERROR
        before = job_list._line_strip(4)
        calls = spy_refresh(job_list)
        cancelled = dataclasses.replace(jobs[3], status=JobStatus.CANCELLED)
        job_list.apply_changes(ChangeSet(changed=(cancelled,)))
        spans = changed_spans(before, job_list._line_strip(4))
        assert len(calls) == 1 and all(region.y == 4 for region in calls[0])
        assert [(r.x, r.right) for r in calls[0]] == spans
        assert spans[0][0] == 2  # the status column, after the mark
        assert sum(end - start for start, end in spans) < 30  # not the row


async def test_a_poll_that_changes_nothing_visible_refreshes_nothing() -> None:
    jobs = sample_jobs(40)
    app = ListApp(jobs[:39])
    async with app.run_test(size=(80, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        painted = Painted(job_list)
        calls = spy_refresh(job_list)
        same = dataclasses.replace(jobs[2], user_id="someone")  # not a column
        update = job_list.apply_changes(ChangeSet(changed=(same,)))
        assert update.changed == (2,)
        job_list.apply_changes(ChangeSet(added=(jobs[39],)))  # the oldest: off screen, at the end
        assert calls == []
        assert await painted.after(pilot) == []


async def test_new_jobs_at_the_top_refresh_only_cells_that_read_differently() -> None:
    jobs = sample_jobs(40)
    app = ListApp(jobs[1:])
    async with app.run_test(size=(120, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        height = job_list.scrollable_content_region.height
        before = [job_list._line_strip(y) for y in range(height)]
        calls = spy_refresh(job_list)
        job_list.apply_changes(ChangeSet(added=(jobs[0],)))  # every row moves down one line
        after = [job_list._line_strip(y) for y in range(height)]
        asked = sorted((r.y, r.x, r.right) for regions in calls for r in regions)
        expected = sorted(
            (y, start, end)
            for y in range(height)
            for start, end in changed_spans(before[y], after[y])
        )
        assert asked == expected
        assert not any(r.y == 0 for regions in calls for r in regions)  # the header stays
        width = job_list.scrollable_content_region.width
        assert sum(end - start for _, start, end in asked) < (height - 1) * width


async def test_scrolling_repaints_only_cells_that_differ() -> None:
    jobs = sample_jobs(60)
    app = ListApp(jobs)
    async with app.run_test(size=(120, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        calls = spy_refresh(job_list)
        job_list.scroll_to(y=9, animate=False)  # nine rows: the status cycle comes round again
        await pilot.pause()
        assert calls and () not in calls  # never the whole widget
        assert not any(r.y == 0 for regions in calls for r in regions)


# --- its scrollbar -----------------------------------------------------------------------------


async def test_the_scrollbar_repaints_only_when_its_thumb_moves() -> None:
    jobs = sample_jobs(300)
    app = ListApp(jobs)
    async with app.run_test(size=(80, 30)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        bar = job_list.vertical_scrollbar
        assert isinstance(bar, CellScrollBar)
        moved = still = 0
        for _ in range(40):  # the list grows one job at a time, as the store tells it
            look = bar._cells(bar.render())
            dirty = spy_dirty(bar)
            bar.window_virtual_size += 1
            bar.refresh()  # as ScrollView does after setting the sizes
            await pilot.pause()
            now = bar._cells(bar.render())
            assert look is not None and now is not None
            changed = {y for y, (old, new) in enumerate(zip(look, now, strict=True)) if old != new}
            lines = {y for regions in dirty for region in regions for y in region.line_range}
            assert () not in dirty  # never the whole bar
            assert lines == changed
            moved += bool(changed)
            still += not changed
            del bar._set_dirty
        assert moved and still


async def test_polls_never_repaint_the_whole_scrollbar() -> None:
    jobs = sample_jobs(400)
    app = ListApp(jobs[100:])
    async with app.run_test(size=(80, 30)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        dirty = spy_dirty(job_list.vertical_scrollbar)
        for index in range(99, 59, -1):  # one new job after another, at the top
            job_list.apply_changes(ChangeSet(added=(jobs[index],)))
            await pilot.pause()
        assert job_list.virtual_size.height == 341
        assert dirty and () not in dirty
        assert len(dirty) < 40  # polls that leave the thumb where it is repaint nothing


# --- the queue pane and the status line --------------------------------------------------------


class PanesApp(App[None]):
    CSS = "QueuePane { height: 6; } StatusLine { height: 1; }"

    def compose(self) -> ComposeResult:
        yield QueuePane()
        yield StatusLine()


BACKENDS = [Backend("fake_lima", "local", BackendState.ONLINE, 3)]


async def test_a_sparkline_sample_refreshes_only_its_new_column() -> None:
    app = PanesApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(QueuePane)
        history = {("local", "fake_lima"): [3, 5, 2]}
        pane.show(BACKENDS, history, {}, None, False)
        await pilot.pause()
        line = pane._render_cache.lines[1].text
        dirty = spy_dirty(pane)
        pane.show(BACKENDS, {("local", "fake_lima"): [3, 5, 2, 4]}, {}, None, False)
        assert len(dirty) == 1 and len(dirty[0]) == 1
        (region,) = dirty[0]
        assert (region.y, region.width, region.height) == (1, 1, 1)
        assert region.x == len(line.rstrip())  # the column after the last sample
        dirty.clear()
        pane.show(BACKENDS, {("local", "fake_lima"): [3, 5, 2, 4]}, {}, None, False)
        assert dirty == []  # the same picture: nothing


async def test_the_status_line_refreshes_only_the_count_that_changed() -> None:
    app = PanesApp()
    async with app.run_test(size=(120, 12)) as pilot:
        status = app.query_one(StatusLine)
        status.show([], Counter({JobStatus.QUEUED: 8}), False, 2.0)
        await pilot.pause()
        dirty = spy_dirty(status)
        status.show([], Counter({JobStatus.QUEUED: 9}), False, 2.0)
        assert len(dirty) == 1 and len(dirty[0]) == 1
        (region,) = dirty[0]
        assert region.width == 1
        await pilot.pause()
        assert "queued 9" in status._render_cache.lines[0].text
