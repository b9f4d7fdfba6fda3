"""The dashboard in a k9s user's hands (issue 23): enter opens a job full screen, 1..7 pick the
tabs, new jobs never arrive unseen, the Log and Raw tabs search and wrap, and the gaps a k9s
user hit are closed. Driven by keys on the fixed dashboard (tests/apps/dashboard_app.py)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, TabbedContent

from qjob_tui.config import load_settings
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.detail.log_view import LogView
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.raw_view import RawView
from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.sessions.session_tree import SessionTree
from tests.apps.dashboard_app import (
    DONE_JOB,
    EXTRACTOR_JOB,
    FAILED_JOB,
    SOURCE,
    arrive,
    make_app,
    sample_jobs,
    select,
)
from tests.test_daily_use import dialog_text, screen_text, settle, until

TAB_ORDER = ["overview", "timeline", "result", "circuit", "bits", "log", "raw"]


async def test_enter_opens_the_job_full_screen_and_escape_comes_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        select(app, DONE_JOB)
        await pilot.press("j", "k")  # the cursor where a person left it
        row = job_list.cursor_row
        await pilot.press("enter")
        await settle(pilot)
        detail = app.query_one(JobDetail)
        assert app.screen.has_class("zoomed") and not job_list.display
        assert detail.outer_size.width == 120  # all the room
        assert detail.key == (SOURCE, DONE_JOB)
        assert "7 Raw" in screen_text(app)  # every tab on screen
        await pilot.press("escape")
        await settle(pilot)
        assert not app.screen.has_class("zoomed") and job_list.has_focus
        assert job_list.cursor_row == row and job_list.cursor_key == (SOURCE, DONE_JOB)


async def test_keys_1_to_7_pick_the_tabs_in_order_and_the_titles_say_so() -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        detail = app.query_one(JobDetail)
        for number, tab in enumerate(TAB_ORDER, start=1):
            await pilot.press(str(number))
            await settle(pilot)
            assert detail.active == tab
        text = screen_text(app)
        for title in ("1 Overview", "2 Timeline", "3 Result", "4 Circuit", "5 Random bits"):
            assert title in text
        assert "6 Log" in text and "7 Raw" in text  # at 200 columns the Raw tab is on screen
        assert detail.size.width >= 80  # wider than at 120 columns, never narrower
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Tab 5: Random bits" in titles and "Tab 7: Raw" in titles


async def test_the_list_follows_new_jobs_from_the_top() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        assert job_list.cursor_row == 0
        (new,) = arrive(app, 1)
        await until(pilot, lambda: job_list.cursor_key == new.key)
        assert job_list.cursor_row == 0 and not job_list.new_above


async def test_new_jobs_above_the_view_are_counted_and_g_goes_to_them() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        await pilot.press("G")  # the oldest job: the newest are above the view
        await settle(pilot)
        here = job_list.cursor_key
        arrive(app, 3)
        await until(pilot, lambda: job_list.new_above == 3)
        assert job_list.cursor_key == here  # the cursor stays on its job
        assert "↑ 3 new" in screen_text(app)
        await pilot.press("g")
        await settle(pilot)
        assert job_list.cursor_row == 0 and job_list.new_above == 0
        assert "↑ 3 new" not in screen_text(app)


async def test_a_full_view_keeps_its_job_while_new_jobs_arrive() -> None:
    """On the newest job, enter: the jobs that arrive then are counted, never shown in its
    place (the list followed them, and the full view showed another job under the first's id)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        detail = app.query_one(JobDetail)
        assert job_list.cursor_row == 0
        opened = job_list.cursor_key
        await pilot.press("enter")
        await settle(pilot)
        arrive(app, 2)
        await until(pilot, lambda: job_list.new_above == 2)
        await settle(pilot)
        assert detail.key == opened and job_list.cursor_key == opened
        await pilot.press("escape")
        await settle(pilot)
        assert job_list.cursor_key == opened and "↑ 2 new" in screen_text(app)
        await pilot.press("g")
        await settle(pilot)
        assert job_list.cursor_row == 0 and job_list.new_above == 0


async def test_jobs_that_arrive_hidden_by_a_filter_are_not_counted_as_new() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        job_list.set_filter(DONE_JOB)  # only that job: whatever arrives is filtered out
        await settle(pilot)
        job_list.move_cursor(0)
        arrive(app, 3)
        await settle(pilot)
        assert job_list.new_above == 0 and "new (g)" not in screen_text(app)


async def test_search_in_the_log_and_raw_tabs_with_n_N_and_wrap() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        select(app, DONE_JOB)
        await pilot.press("6", "enter")  # the Log tab, full screen
        log = app.query_one(LogView)
        await until(pilot, lambda: "running" in log.text)
        assert log.text_lines.has_focus
        await pilot.press("slash", "Z", "enter")  # every line's time ends in Z
        await settle(pilot)
        lines = log.text_lines
        assert len(lines.matches) >= 2 and lines.current == 0
        await pilot.press("n")
        assert lines.current == 1
        await pilot.press("N", "N")
        assert lines.current == len(lines.matches) - 1  # round the start to the end
        assert lines.wrap
        await pilot.press("w")
        assert not lines.wrap
        await pilot.press("7")  # the Raw tab: same keys
        raw = app.query_one(RawView)
        await until(pilot, lambda: DONE_JOB in raw.json_text)
        await until(pilot, lambda: raw.text_lines.has_focus)
        await pilot.press("slash", *"re(", "enter")  # no regex: searched as text, no error
        await settle(pilot)
        assert raw.text_lines.matches == []
        await pilot.press("slash", "ctrl+u", *"fake_\\w+", "enter")
        await settle(pilot)
        assert raw.text_lines.matches


async def test_long_lines_wrap_to_the_width() -> None:
    app = make_app()
    async with app.run_test(size=(60, 30)) as pilot:
        await settle(pilot)
        select(app, DONE_JOB)
        await pilot.press("6", "enter")
        log = app.query_one(LogView)
        await until(pilot, lambda: "running" in log.text)
        log.show_log("x" * 200 + "\nend\n")
        await settle(pilot)
        assert len(log.text_lines._rows) > 3  # the 200 x's over several rows
        await pilot.press("w")
        await settle(pilot)
        assert len(log.text_lines._rows) == 2


async def test_escape_clears_the_text_filter_but_not_only_active() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        await pilot.press("a", "slash", *"demo", "enter", "escape")
        await settle(pilot)
        assert job_list.rows.filter_text == "" and job_list.rows.status_filter == "active"


async def test_an_invalid_regex_filter_says_why_and_stays_open() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"re:(", "enter")
        await settle(pilot)
        box = app.query_one("#filter", Input)
        assert box.display and box.has_class("error")
        assert "regex" in str(box.border_title) or "position" in str(box.border_title)
        assert str(box.border_title) in screen_text(app)


async def test_g_and_G_move_in_the_session_view() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        tree = app.query_one(SessionTree)
        await pilot.press("G")
        await settle(pilot)
        assert tree.cursor_line == tree.last_line
        await pilot.press("g")
        await settle(pilot)
        assert tree.cursor_line == 0


async def test_notifications_wait_under_the_help() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("y")  # "Copied the job id ..."
        await settle(pilot)
        assert "Copied the job id" in screen_text(app)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Copied the job id" not in screen_text(app)


async def test_a_theme_chosen_in_the_palette_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app()
    app.config_path = config
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.theme = "nord"  # as the palette's "Change theme" does
        await until(pilot, lambda: config.exists() and "nord" in config.read_text())
    assert load_settings(config)[0].theme == "nord"


async def test_the_80_column_footer_cuts_no_label() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        for label in ("Mark", "Sort", "Help", "Filter", "Cancel", "Tags", "Quit", "Commands"):
            assert f" {label} " in f" {footer} ", label


async def test_the_circuit_tab_of_an_extractor_job_explains_itself() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select(app, EXTRACTOR_JOB)
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert "runs no circuit" in text and "could not" not in text
        assert app.query_one(TabbedContent).active == "circuit"


def test_jobs_without_a_value_sort_last_in_either_direction() -> None:
    from qjob_tui.ui.jobs.job_rows import COLUMN_VALUES, Column, JobRows

    rows = JobRows()
    rows.apply(ChangeSet(added=tuple(sample_jobs())))
    for column in Column:
        for reverse in (False, True):
            rows.set_sort(column, reverse)
            missing = [COLUMN_VALUES[column](job) is None for job in rows]
            assert missing == sorted(missing), (column, reverse)  # values first, then none


async def test_the_words_of_a_cancel_that_leaves_jobs_alone() -> None:
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        select(app, FAILED_JOB)
        await pilot.press("c")
        await settle(pilot)
        assert said == [
            f"{FAILED_JOB} cannot be cancelled: it has already ended, in final state ERROR"
        ]
        await pilot.press("space")  # marked; the cursor steps on
        job_list = app.query_one(JobList)
        job_list.move_cursor(0)  # and a queued job
        await pilot.press("space", "c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmCancel)
        assert "1 marked finished job is left as it is." in dialog_text(app)


async def test_escape_closes_the_search_box_first_then_the_full_view() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        select(app, DONE_JOB)
        await pilot.press("6", "enter", "slash", "x")
        await settle(pilot)
        log = app.query_one(LogView)
        assert log.search_box.has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.has_class("zoomed") and log.text_lines.has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert not app.screen.has_class("zoomed") and app.query_one(JobList).has_focus
