"""The job list widget, driven as a person would: keys, clicks, filters, polls; and its texts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from textual.strip import Strip

from qjob_tui.model import Job, JobStatus, QueueInfo, Step
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.ui.formatting import (
    MISSING,
    STATUS_LOOKS,
    compact_duration,
    job_duration,
    queue_label,
    relative_time,
    status_label,
)
from qjob_tui.ui.jobs.job_list import JobList, fit, layout_columns
from qjob_tui.ui.jobs.job_rows import Column, JobRows
from tests.apps.job_list_app import NOW, JobListApp, sample_jobs

# --- texts ----------------------------------------------------------------------------------


def test_every_status_reads_without_colour() -> None:
    labels = {status: status_label(status) for status in JobStatus}
    assert labels[JobStatus.DONE] == "✔ done"
    assert labels[JobStatus.ERROR] == "✖ error"
    assert labels[JobStatus.CANCELLED] == "⊘ cancelled"
    assert labels[JobStatus.RUNNING] == "▶ running"
    assert labels[JobStatus.QUEUED] == "… queued"
    assert len({label.split()[0] for label in labels.values()}) == len(JobStatus)  # glyphs
    assert status_label(JobStatus.RUNNING, "cancelling…") == "↻ cancelling…"
    assert {look.tone for look in STATUS_LOOKS.values()} <= {
        "success",
        "error",
        "warning",
        "accent",
        "muted",
    }


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(seconds=5), "5 s ago"),
        (timedelta(seconds=59), "59 s ago"),
        (timedelta(milliseconds=300), "just now"),
        (timedelta(seconds=-20), "just now"),
        (timedelta(minutes=3, seconds=59), "3 min ago"),
        (timedelta(hours=2, minutes=59), "2 h ago"),
        (timedelta(days=5, hours=3), "5 d ago"),
        (timedelta(days=90), "3 mo ago"),
        (timedelta(days=800), "2 y ago"),
        (timedelta(minutes=-5), "in 5 min"),
    ],
)
def test_relative_time(ago: timedelta, expected: str) -> None:
    assert relative_time(NOW - ago, NOW) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.85, "850 ms"),
        (12.7, "12 s"),
        (184, "3 min 4 s"),
        (180, "3 min"),
        (2 * 3600 + 5 * 60 + 9, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (-3, "0 ms"),
        (None, MISSING),
    ],
)
def test_compact_duration(seconds: float | None, expected: str) -> None:
    assert compact_duration(seconds) == expected


def test_duration_is_running_time_or_time_so_far() -> None:
    start = NOW - timedelta(minutes=10)
    base = sample_jobs(1)[0]
    done = dataclasses.replace(
        base,
        status=JobStatus.DONE,
        steps=(Step("running", start), Step("finished", start + timedelta(seconds=90))),
    )
    running = dataclasses.replace(base, status=JobStatus.RUNNING, steps=(Step("running", start),))
    queued = dataclasses.replace(base, status=JobStatus.QUEUED, created=start, steps=())
    never_ran = dataclasses.replace(base, status=JobStatus.CANCELLED, steps=())
    assert job_duration(done, NOW) == 90
    assert job_duration(running, NOW) == 600
    assert job_duration(queued, NOW) == 600
    assert job_duration(never_ran, NOW) is None
    assert queue_label(dataclasses.replace(queued, queue=QueueInfo(position=4))) == "4"
    assert queue_label(queued) == MISSING  # waiting, the service does not say where
    assert queue_label(dataclasses.replace(done, queue=QueueInfo(position=4))) == ""


def test_fit_pads_and_cuts_by_cells() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 5, right=True) == "  abc"
    assert fit("abcdef", 4) == "abc…"
    assert fit("日本語", 4) == "日 …"  # a wide character is never split in half
    assert fit("x", 0) == ""


def test_layout_drops_low_priority_columns_when_narrow() -> None:
    narrow = [spec.column for spec, _ in layout_columns(79, show_source=False)]
    assert narrow == [Column.STATUS, Column.ID, Column.NAME, Column.BACKEND, Column.CREATED]
    wide = layout_columns(249, show_source=True)
    assert [spec.column for spec, _ in wide] == list(Column)
    for width in (40, 79, 100, 119, 160, 249):
        layout = layout_columns(width, show_source=False)
        assert 2 + sum(w for _, w in layout) + len(layout) - 1 <= max(width, 50)


# --- the widget -----------------------------------------------------------------------------


class ListApp(App[None]):
    """A job list on given jobs and a fixed clock (or the ``clock`` given)."""

    def __init__(self, jobs: list[Job], **options: object) -> None:
        super().__init__()
        self.jobs = jobs
        self.options = options

    def compose(self) -> ComposeResult:
        options = {"clock": lambda: NOW, **self.options}
        yield JobList(JobRows(self.jobs), **options)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one(JobList).focus()


class Recorder:
    """A message hook that keeps the job list's own messages, once each."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        wanted = (JobList.Highlighted, JobList.Selected, JobList.MarksChanged)
        if isinstance(message, wanted) and all(m is not message for m in self.messages):
            self.messages.append(message)

    def of(self, kind: type[Message]) -> list[Message]:
        return [m for m in self.messages if isinstance(m, kind)]

    def highlighted(self) -> list[JobKey | None]:
        return [m.key for m in self.of(JobList.Highlighted)]  # type: ignore[attr-defined]


def lines(job_list: JobList) -> list[str]:
    """The text of every line the widget paints, as it paints it."""
    height = job_list.scrollable_content_region.height
    return [job_list.render_line(y).text for y in range(height)]


async def test_cursor_keys_move_and_announce_the_job() -> None:
    jobs = sample_jobs(30)
    recorder = Recorder()
    app = ListApp(jobs)
    async with app.run_test(size=(80, 12), message_hook=recorder) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert job_list.cursor_row == 0 and job_list.cursor_key == jobs[0].key
        await pilot.press("j", "down")
        assert job_list.cursor_row == 2
        await pilot.press("k")
        assert job_list.cursor_row == 1
        await pilot.press("G")
        assert job_list.cursor_row == 29 and job_list.scroll_offset.y == 30 - 11
        assert lines(job_list)[-1].startswith("  ✔ done") and jobs[29].id in lines(job_list)[-1]
        await pilot.press("g")
        assert job_list.cursor_row == 0 and job_list.scroll_offset.y == 0
        await pilot.press("pagedown")  # a page is the 11 rows under the header
        assert job_list.cursor_row == 11 and job_list.scroll_offset.y == 11
        await pilot.press("end", "pageup")
        assert job_list.cursor_row == 29 - 11
        await pilot.press("home", "up")
        assert job_list.cursor_row == 0
        await pilot.press("enter")
        await pilot.pause()
    assert recorder.highlighted()[:4] == [jobs[0].key, jobs[1].key, jobs[2].key, jobs[1].key]
    assert recorder.highlighted()[-1] == jobs[0].key
    assert [m.key for m in recorder.of(JobList.Selected)] == [jobs[0].key]  # type: ignore[attr-defined]


async def test_space_marks_and_steps_down() -> None:
    jobs = sample_jobs(5)
    recorder = Recorder()
    app = ListApp(jobs)
    async with app.run_test(size=(80, 12), message_hook=recorder) as pilot:
        job_list = app.query_one(JobList)
        await pilot.press("space", "space", "k", "space")
        await pilot.pause()
        assert job_list.rows.marked == {jobs[0].key}
        assert lines(job_list)[1].startswith("● ")
        assert lines(job_list)[2].startswith("  ")
        job_list.apply_changes(ChangeSet(removed=(jobs[0].key,)))
        await pilot.pause()
        assert job_list.rows.marked == frozenset()
        await pilot.press("space")
        job_list.clear_marks()
        await pilot.pause()
    counts = [m.count for m in recorder.of(JobList.MarksChanged)]  # type: ignore[attr-defined]
    assert counts == [1, 2, 1, 0, 1, 0]


async def test_sort_keys_keep_the_cursor_on_its_job() -> None:
    jobs = sample_jobs(20)
    app = ListApp(jobs)
    async with app.run_test(size=(120, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.press("j", "j", "j")
        key = job_list.cursor_key
        assert "created ▼" in lines(job_list)[0]
        await pilot.press("s")
        assert job_list.rows.sort_column is Column.DURATION
        assert "duration ▲" in lines(job_list)[0] and "created ▼" not in lines(job_list)[0]
        assert job_list.cursor_key == key
        assert job_list.rows.row(job_list.cursor_row).key == key
        await pilot.press("S")
        assert "duration ▼" in lines(job_list)[0]
        assert job_list.cursor_key == key
        for _ in job_list.columns:  # s cycles through the shown columns only
            await pilot.press("s")
        assert job_list.rows.sort_column is Column.DURATION


async def test_filter_keeps_or_moves_the_cursor_and_reports_bad_regex() -> None:
    jobs = sample_jobs(20)
    recorder = Recorder()
    app = ListApp(jobs)
    async with app.run_test(size=(80, 12), message_hook=recorder) as pilot:
        job_list = app.query_one(JobList)
        await pilot.press("j")  # jobs[1]: no name
        assert job_list.set_filter("ghz") is None
        await pilot.pause()
        assert all("ghz-5" in line for line in lines(job_list)[1:5])
        assert job_list.cursor_key == jobs[5].key  # its job went: the cursor stays at row 1
        await pilot.press("j")
        assert job_list.cursor_key == jobs[10].key
        assert job_list.set_filter("") is None
        assert job_list.cursor_key == jobs[10].key  # still on its job
        assert job_list.cursor_row == 10
        problem = job_list.set_filter("re:([a")
        assert problem is not None and "invalid regular expression" in problem
        assert job_list.rows.filter_text == ""
        assert job_list.set_status_filter("failed")
        assert {job_list.rows.row(i).status for i in range(len(job_list.rows))} == {JobStatus.ERROR}
        job_list.set_filter("no such job")
        await pilot.pause()
        assert job_list.cursor_key is None
        assert "No jobs match the filter." in lines(job_list)[1]
        await pilot.pause()
    assert recorder.highlighted()[-1] is None


async def test_hostile_names_show_literally_and_never_as_markup_or_escapes() -> None:
    hostile = "[bold]x[/] \x1b[31mred\x1b]0;title\x07 [link=http://e.vil]y"
    base = sample_jobs(1)[0]
    jobs = [dataclasses.replace(base, name=hostile, tags=("[/]", "a\nb"), backend="[red]b\x1b[0m")]
    app = ListApp(jobs)
    async with app.run_test(size=(250, 10)) as pilot:
        await pilot.pause()
        job_list = app.query_one(JobList)
        row = lines(job_list)[1]
        assert "[bold]x[/] red [link=http://e.vil]y" in row
        assert "[/], a b" in row
        assert "[red]b" in row
        strip = job_list.render_line(1)
        assert not any("\x1b" in segment.text or "\x07" in segment.text for segment in strip)
        assert all(segment.style is None or not segment.style.link for segment in strip)


async def test_narrow_and_wide_terminals_show_the_right_columns() -> None:
    app = ListApp(sample_jobs(30))
    async with app.run_test(size=(80, 24)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert job_list.columns == (
            Column.STATUS,
            Column.ID,
            Column.NAME,
            Column.BACKEND,
            Column.CREATED,
        )
        assert all(len(line) == 79 for line in lines(job_list))
        assert "a rather long…" in "\n".join(lines(job_list))
        assert "a rather long experiment name" not in "\n".join(lines(job_list))
        await pilot.resize_terminal(250, 70)
        await pilot.pause()
        assert job_list.columns == tuple(c for c in Column if c is not Column.SOURCE)
        text = "\n".join(lines(job_list))
        assert "a rather long experiment name that will not fit in a narrow terminal" in text
        assert "calibration, qubit-3, long-running-tag" in text


async def test_source_column_appears_with_several_sources() -> None:
    app = ListApp(sample_jobs(6, sources=("local", "ibm-cloud")))
    async with app.run_test(size=(160, 10)) as pilot:
        await pilot.pause()
        job_list = app.query_one(JobList)
        assert Column.SOURCE in job_list.columns
        assert "ibm-cloud" in lines(job_list)[2]


def strips(job_list: JobList) -> list[Strip]:
    """What the widget would paint on each line now."""
    height = job_list.scrollable_content_region.height
    return [job_list._line_strip(y) for y in range(height)]


def differing(before: list[Strip], after: list[Strip]) -> list[int]:
    return [y for y, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]


class Painted:
    """Which lines the widget renders in the next frames: what a poll costs on the wire."""

    def __init__(self, job_list: JobList) -> None:
        self.lines: list[int] = []
        self.job_list = job_list
        self.original = job_list.render_line

        def render_line(y: int) -> Strip:
            self.lines.append(y)
            return self.original(y)

        job_list.render_line = render_line  # type: ignore[method-assign]

    async def after(self, pilot: Pilot[None]) -> list[int]:
        await pilot.pause()
        lines, self.lines = sorted(set(self.lines)), []
        return lines


async def test_a_poll_repaints_only_the_changed_rows_on_screen() -> None:
    jobs = sample_jobs(40)
    app = ListApp(jobs)
    async with app.run_test(size=(80, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        painted = Painted(job_list)
        renamed = [dataclasses.replace(jobs[i], name=f"renamed {i}") for i in (2, 5, 30)]
        update = job_list.apply_changes(ChangeSet(changed=tuple(renamed)))
        assert update.changed == (2, 5, 30) and not update.reordered
        assert await painted.after(pilot) == [3, 6]  # row 30 is off screen
        assert "renamed 2" in lines(job_list)[3]
        assert "renamed 5" in lines(job_list)[6]


async def test_rows_moving_off_screen_repaint_nothing() -> None:
    jobs = sample_jobs(40)
    app = ListApp(jobs[:39])
    async with app.run_test(size=(80, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        painted = Painted(job_list)
        update = job_list.apply_changes(ChangeSet(added=(jobs[39],)))  # the oldest: at the end
        assert update.reordered
        assert await painted.after(pilot) == []
        assert job_list.virtual_size.height == 41
        renamed = dataclasses.replace(jobs[20], name="zzz")
        job_list.apply_changes(ChangeSet(changed=(renamed,)))
        before = strips(job_list)
        job_list.set_sort("name")  # a user action: every line that reads differently
        assert await painted.after(pilot) == differing(before, strips(job_list))
        assert len(differing(before, strips(job_list))) >= 10
        before = strips(job_list)
        job_list.action_cursor_first()  # scrolled back to the top: the header stays
        assert (
            await painted.after(pilot) == differing(before, strips(job_list)) == list(range(1, 12))
        )
        moved = dataclasses.replace(renamed, name="0 first")  # from below the screen to the top
        job_list.apply_changes(ChangeSet(changed=(moved,)))
        assert await painted.after(pilot) == list(range(1, 12))  # every row, not the header


async def test_new_jobs_appear_at_the_top_and_the_cursor_stays_on_its_job() -> None:
    jobs = sample_jobs(10)
    app = ListApp(jobs[1:])
    async with app.run_test(size=(80, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.press("j")
        key = job_list.cursor_key
        update = job_list.apply_changes(ChangeSet(added=(jobs[0],)))
        await pilot.pause()
        assert update.reordered
        assert job_list.cursor_key == key and job_list.cursor_row == 2
        assert jobs[0].id in lines(job_list)[1]


async def test_a_poll_does_not_scroll_back_to_a_cursor_scrolled_away_from() -> None:
    jobs = sample_jobs(40)
    app = ListApp(jobs[1:])
    async with app.run_test(size=(80, 12)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        job_list.scroll_to(y=20, animate=False)  # the mouse wheel: the cursor stays on row 0
        await pilot.pause()
        job_list.apply_changes(ChangeSet(added=(jobs[0],)))
        await pilot.pause()
        assert job_list.scroll_offset.y == 20
        assert job_list.cursor_row == 1 and job_list.cursor_key == jobs[1].key


async def test_intents_show_as_the_status_until_they_end() -> None:
    jobs = sample_jobs(3)
    intents: dict[JobKey, str] = {}
    app = ListApp(jobs, intent_of=intents.get)
    async with app.run_test(size=(80, 8)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert "▶ running" in lines(job_list)[1]
        intents[jobs[0].key] = "cancelling…"
        job_list.apply_changes(ChangeSet(intents=(jobs[0].key,)))
        await pilot.pause()
        assert "↻ cancelling…" in lines(job_list)[1]
        del intents[jobs[0].key]
        cancelled = dataclasses.replace(jobs[0], status=JobStatus.CANCELLED)
        job_list.apply_changes(ChangeSet(changed=(cancelled,), intents=(jobs[0].key,)))
        await pilot.pause()
        assert "⊘ cancelled" in lines(job_list)[1]


async def test_clicks_pick_rows_and_sort_by_header() -> None:
    jobs = sample_jobs(10)
    recorder = Recorder()
    app = ListApp(jobs)
    async with app.run_test(size=(80, 12), message_hook=recorder) as pilot:
        job_list = app.query_one(JobList)
        await pilot.click(JobList, offset=(30, 3))
        assert job_list.cursor_row == 2
        await pilot.double_click(JobList, offset=(30, 4))
        await pilot.pause()
        assert [m.key for m in recorder.of(JobList.Selected)] == [jobs[3].key]  # type: ignore[attr-defined]
        await pilot.click(JobList, offset=(3, 0))  # the status title
        assert job_list.rows.sort_column is Column.STATUS
        await pilot.click(JobList, offset=(3, 0))
        assert job_list.rows.sort_reverse
        assert job_list.cursor_key == jobs[3].key


async def test_bindings_have_stable_ids_and_can_be_remapped() -> None:
    ids = [binding.id for binding in JobList.BINDINGS if not isinstance(binding, tuple)]
    assert all(i and i.startswith("job_list.") for i in ids)  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids)
    app = ListApp(sample_jobs(5))
    async with app.run_test(size=(80, 10)) as pilot:
        app.set_keymap({"job_list.cursor_down": "n"})
        await pilot.press("n")
        assert app.query_one(JobList).cursor_row == 1


async def test_an_empty_list_says_so_and_fills_as_jobs_arrive() -> None:
    recorder = Recorder()
    app = ListApp([])
    async with app.run_test(size=(80, 8), message_hook=recorder) as pilot:
        job_list = app.query_one(JobList)
        await pilot.press("j", "space", "enter", "s")
        assert "No jobs yet." in lines(job_list)[1]
        assert job_list.cursor_key is None
        job_list.apply_changes(ChangeSet(added=tuple(sample_jobs(2))))
        await pilot.pause()
        assert job_list.cursor_key == sample_jobs(2)[0].key
    assert recorder.highlighted() == [sample_jobs(2)[0].key]


async def test_the_clock_ticks_stale_times_only() -> None:
    now = [NOW]
    jobs = sample_jobs(3)
    app = ListApp(jobs)
    async with app.run_test(size=(120, 8)) as pilot:
        job_list = app.query_one(JobList)
        job_list._clock = lambda: now[0]
        await pilot.pause()
        assert "1 min ago" in lines(job_list)[1]
        painted = Painted(job_list)
        job_list._tick()
        assert await painted.after(pilot) == []
        now[0] = NOW + timedelta(minutes=2)
        job_list._tick()
        assert await painted.after(pilot) == [1, 2, 3]
        assert "3 min ago" in shown_row(app, jobs[0].id)


def shown_row(app: App[None], job_id: str) -> str:
    """The screen line that shows this job, as the terminal has it (what was painted, not
    what the widget would paint if asked now)."""
    strips = app.screen._compositor.render_strips()
    text = ["".join(segment.text for segment in strip) for strip in strips]
    (line,) = [line for line in text if job_id in line]
    return line


async def test_a_job_that_arrived_and_changed_keeps_its_age_and_duration_ticking() -> None:
    """A job seen first as queued, then as running and done (a new ``Job`` each time), has its
    age and running duration repainted by the clock like the jobs there at the start."""
    now = [NOW]
    app = ListApp(sample_jobs(3)[1:], clock=lambda: now[0])
    async with app.run_test(size=(120, 10)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        created = NOW - timedelta(seconds=4)
        queued = Job(
            id="dlatecomer00000000x",
            source="local",
            status=JobStatus.QUEUED,
            created=created,
            backend="fake_cairo",
            program="sampler",
            steps=(Step("created", created),),
        )
        job_list.apply_changes(ChangeSet(added=(queued,)))
        await pilot.pause()
        assert "4 s ago" in shown_row(app, queued.id)

        async def at(moment: datetime, job: Job | None = None) -> str:
            now[0] = moment
            if job is not None:  # a poll: the store hands over a new Job of the same job
                job_list.apply_changes(ChangeSet(changed=(job,)))
            job_list._tick()
            await pilot.pause()
            return shown_row(app, queued.id)

        started = NOW + timedelta(seconds=10)
        running = dataclasses.replace(
            queued, status=JobStatus.RUNNING, steps=(*queued.steps, Step("running", started))
        )
        assert "14 s ago" in await at(started, running)
        row = await at(started + timedelta(seconds=30))
        assert "44 s ago" in row and "30 s" in row.split("44 s ago", 1)[1]
        row = await at(started + timedelta(minutes=3, seconds=5))
        assert "3 min ago" in row and "3 min 5 s" in row
        finished = started + timedelta(minutes=4)
        done = dataclasses.replace(
            running, status=JobStatus.DONE, steps=(*running.steps, Step("finished", finished))
        )
        assert "4 min ago" in await at(finished, done)
        row = await at(finished + timedelta(minutes=5))
        assert "9 min ago" in row and "4 min" in row.split("9 min ago", 1)[1]
        assert "1 h ago" in await at(NOW + timedelta(hours=1, minutes=2))
        line = 1 + job_list.rows.index_of(queued.key)  # type: ignore[operator]
        assert job_list._line_strip(line) is job_list._line_strip(line)  # rendered once, kept


# --- snapshots ------------------------------------------------------------------------------


@pytest.fixture
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots depend on colour settings: pin them."""
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("plain_environment")
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare("apps/job_list_app.py", terminal_size=size)


def test_snapshot_app_is_deterministic() -> None:
    assert JobListApp().jobs == JobListApp().jobs


async def test_an_empty_list_shows_its_hint_until_jobs_arrive() -> None:
    app = ListApp([], empty_hint="Send one: qjob-tui submit circuit.qasm")
    async with app.run_test(size=(30, 8)) as pilot:
        job_list = app.query_one(JobList)
        await pilot.pause()
        shown = lines(job_list)
        assert "No jobs yet." in shown[1] and "Send one: qjob-tui" in shown[2]
        assert all(len(line) <= 30 for line in shown)  # cropped, never wrapped or overflowing
        job_list.apply_changes(ChangeSet(added=tuple(sample_jobs(1))))
        await pilot.pause()
        assert not any("Send one" in line for line in lines(job_list))
