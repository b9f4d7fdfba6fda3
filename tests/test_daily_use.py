"""Daily use (issue 14), driven with keys on the fixed dashboard: nothing cut, nothing lost."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, SelectionList

from qjob_tui import locations
from qjob_tui.api.client import JobClient
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.source import IBM, Source
from qjob_tui.config import SettingNotSaved, Settings, load_settings, save_setting
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.actions import ACTIONS, DASHBOARD_AREAS
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.dialogs.column_chooser import ColumnChooser
from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.dialogs.tag_editor import TagEditor
from qjob_tui.ui.dialogs.text_prompt import TextPrompt
from qjob_tui.ui.job_actions import can_open_browser
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.jobs.job_rows import Column
from qjob_tui.ui.status.status_line import StatusLine
from tests.apps.dashboard_app import (
    DONE_JOB,
    EIGHT_TAGS_JOB,
    EXTRACTOR_JOB,
    FAILED_JOB,
    make_app,
    sample_bits,
    sample_jobs,
    select,
    settle,
    show_tab,
)

SIZES = [(80, 24), (120, 40)]


async def until(pilot: Pilot[int], predicate: Callable[[], bool], timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never met")


def screen_text(app: QJobApp) -> str:
    """What the terminal shows, line by line, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip).rstrip() for strip in strips)


def dialog_text(app: QJobApp) -> str:
    """The text inside the dialog's thick border, lines joined by spaces, so that a sentence
    wrapped over two lines reads whole."""
    parts = []
    for line in screen_text(app).splitlines():
        if line.count("█") >= 2:
            parts.append(line[line.index("█") + 1 : line.rindex("█")].strip(" ▎▊"))
    return " ".join(part for part in parts if part)


@pytest.mark.parametrize("size", SIZES)
async def test_tag_editor_hint_and_error_are_shown_whole(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TagEditor)
        shown = dialog_text(app)
        assert "x or delete removes the highlighted tag · ctrl+s saves" in shown
        await pilot.press(*("a" * 87), "enter")
        await settle(pilot)
        assert "'aaaaaaaaaaaaaaaaaaaa'... has 87" in dialog_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_unreachable_source_keeps_counts_and_says_so(size: tuple[int, int]) -> None:
    app = make_app(variant="unreachable")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
        status = lines[-2].strip()
        assert status.startswith(("…0 ▶0", "queued 0 running 0")), status
        assert "local unreachable (ConnectError)" in status and "local: " not in status
        assert status.endswith("…")  # cut where it is too long, never at a wrapped word
        # The address once, from the error (the status line cuts it at 80 columns).
        said = "local cannot be reached: unreachable (ConnectError) at http://127.0.0.1:9/a"
        assert any(said in line for line in lines)
        assert not any("Send one" in line or "Watch a demo" in line for line in lines)


@pytest.mark.parametrize("size", [(80, 40), (120, 40)])  # tall enough to show every key
async def test_help_wraps_under_its_own_column(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "filter the list:" in line)
        column = lines[first].index("filter the list:")
        assert "! inverts" not in lines[first]  # the dialog is 72 wide: it wraps
        assert "! inverts" in lines[first + 1]
        assert lines[first + 1][column - 1] == " " and lines[first + 1][column] != " "


async def test_overview_tags_wrap_under_their_value() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:  # the details pane: 70 columns
        await settle(pilot)
        select(app, EIGHT_TAGS_JOB)
        await settle(pilot)
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("│ Tags "))
        column = lines[first].index("nightly")
        assert "t2" in lines[first + 1]
        assert lines[first + 1][column - 1] == " " and lines[first + 1][column] != " "


# --- columns ------------------------------------------------------------------------------


async def test_at_120_columns_the_list_shows_the_seven_that_matter() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = app.query_one(JobList).columns
        wanted = {"status", "id", "name", "backend", "created", "duration", "tags"}
        assert wanted <= {column.value for column in shown}
        header = screen_text(app).splitlines()[1]
        assert all(title in header for title in wanted)


async def test_every_visible_column_is_sortable_with_s() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        visited = set()
        for _ in job_list.columns:
            await pilot.press("s")
            visited.add(job_list.rows.sort_column)
        assert visited == set(job_list.columns)


async def test_column_chooser_hides_a_column_and_keeps_it_in_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('refresh = 3.0\n\n[keymap]\n"app.quit" = "q"\n')
    app = make_app()
    app.config_path = config
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        assert Column.TAGS in job_list.columns
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, ColumnChooser)
        choices = app.screen.query_one(SelectionList)
        choices.highlighted = [c.value for c in Column].index("tags")
        await pilot.press("space", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ColumnChooser))
        assert Column.TAGS not in job_list.columns
        await until(pilot, lambda: "columns" in config.read_text())
    settings, problems = load_settings(config)
    assert not problems and settings.refresh == 3.0 and settings.keymap == {"app.quit": "q"}
    assert settings.columns is not None and "tags" not in settings.columns
    again = make_app()
    again.settings = replace(again.settings, columns=settings.columns)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert Column.TAGS not in again.query_one(JobList).columns


def test_save_setting_keeps_the_file_and_refuses_what_it_cannot_edit(tmp_path: Path) -> None:
    config = tmp_path / "sub" / "config.toml"
    save_setting("columns", ["id", "name"], config)  # no file yet: created
    assert load_settings(config)[0].columns == ("id", "name")
    config.write_text('# mine\ncolumns = [\n  "id",\n]\n[keymap]\n"app.quit" = "q"\n')
    with pytest.raises(SettingNotSaved, match="cannot edit"):
        save_setting("columns", ["status"], config)
    assert config.read_text().startswith("# mine\ncolumns = [\n")  # untouched


# --- marks --------------------------------------------------------------------------------


async def test_marks_count_mark_all_and_clear() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        await pilot.press("space", "space", "space")
        await settle(pilot)
        assert job_list.border_subtitle == "3 marked"
        assert "3 marked" in screen_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert job_list.rows.mark_count == 0 and not job_list.border_subtitle
        await pilot.press("a", "ctrl+a")  # only the active jobs, then mark all of them
        await settle(pilot)
        active = len(job_list.rows)
        assert job_list.rows.mark_count == active == 7
        assert job_list.border_subtitle == "7 marked · only active"
        await pilot.press("escape")  # no text filter: escape unmarks, the view stays
        await settle(pilot)
        assert job_list.rows.status_filter == "active" and job_list.rows.mark_count == 0
        await pilot.press("ctrl+a", "a")  # a again: all jobs, the marks still there
        await settle(pilot)
        assert job_list.rows.status_filter is None and job_list.rows.mark_count == 7
        await pilot.press("escape")
        await settle(pilot)
        assert job_list.rows.mark_count == 0


async def test_a_bulk_action_acts_only_on_marked_jobs_in_view() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        select(app, DONE_JOB)
        await pilot.press("space")  # two finished jobs marked
        select(app, FAILED_JOB)
        await pilot.press("space")
        await pilot.press("a")  # only active: the marks are hidden
        await settle(pilot)
        assert job_list.border_subtitle == "0 marked (+2 hidden) · only active"
        running = job_list.cursor_job
        assert running is not None and running.status.is_active
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmCancel)
        assert [job.id for job in app.screen.jobs] == [running.id]  # the one under the cursor
        assert "2 marked jobs hidden by the filter are left alone" in dialog_text(app)
        await pilot.press("escape")
        await pilot.press("a")  # only active off: the two marks are in view again
        await settle(pilot)
        job_list.move_cursor(0)
        await pilot.press("space")  # and a queued one
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmCancel)
        assert len(app.screen.jobs) == 1  # only it can be cancelled
        assert "2 marked finished jobs are left as they are" in dialog_text(app)


# --- copy and open ------------------------------------------------------------------------


async def test_y_copies_the_job_id_and_on_the_bits_tab_the_bits() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select(app, DONE_JOB)
        await pilot.press("y")
        assert app.clipboard == DONE_JOB
        select(app, EXTRACTOR_JOB)
        show_tab(app, "bits")
        await until(pilot, lambda: app.query_one(JobDetail).bits is not None)
        await pilot.press("y")
        assert app.clipboard == sample_bits().hex


def ibm_app() -> QJobApp:
    """A dashboard on one IBM Quantum source holding one job; nothing is ever sent."""
    source = Source(name="ibm-eu", url="https://eu-de.quantum.cloud.ibm.com/api/v1", kind=IBM)
    offline = httpx.MockTransport(lambda request: httpx.Response(503))
    store = JobStore([JobClient(source, transport=offline, policy=RetryPolicy(max_tries=1))])
    job = replace(sample_jobs()[0], source="ibm-eu", id="d1ibmjob0000000000xy")
    store.pollers["ibm-eu"].jobs[job.id] = job
    app = QJobApp(store, start_store=False, settings=Settings(theme="textual-dark"))

    async def first_poll() -> None:
        store.bus.publish(ChangeSet(added=(job,)))

    app.call_after_refresh(lambda: app.run_worker(first_poll()))
    return app


async def test_O_shows_and_copies_the_ibm_page_where_no_browser_can_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    app = ibm_app()
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: job_list.cursor_key is not None)
        await pilot.press("O")
        url = "https://eu-de.quantum.cloud.ibm.com/workloads/d1ibmjob0000000000xy"
        status = app.query_one(StatusLine)
        assert status.note == f"Open in a browser (copied): {url}"
        assert app.clipboard == url
        await pilot.pause()
        assert url in screen_text(app).splitlines()[-2]


async def test_O_on_a_local_job_says_it_has_no_page() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        assert "has no web page: only IBM Quantum jobs do" in app.query_one(StatusLine).note
        await pilot.pause()
        line = screen_text(app).splitlines()[-2]
        assert line.lstrip().startswith("…3 ▶2 ") and "has no web page" in line  # counts stay


def test_a_browser_opens_only_on_a_desktop_and_never_over_ssh() -> None:
    assert not can_open_browser({"SSH_CONNECTION": "a b c d", "DISPLAY": ":0"})
    if sys.platform.startswith("linux"):
        assert can_open_browser({"DISPLAY": ":0"})
        assert not can_open_browser({})  # a text console: webbrowser would start lynx here


# --- palette ------------------------------------------------------------------------------


async def palette_run(pilot: Pilot[int], search: str) -> None:
    """Open the palette with ':', type, and take the best match with enter."""
    app = pilot.app
    await pilot.press("colon")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*search)
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(OptionList)

    def found() -> bool:
        if not options.option_count or options.highlighted is None:
            return False
        prompt = options.get_option_at_index(options.highlighted).prompt
        text = getattr(prompt, "plain", str(prompt))
        return text.lower().startswith(search)

    await until(pilot, found)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
    await settle(pilot)


async def test_ctrl_p_opens_the_palette() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("t")  # typed into the palette, not a key of the list (tags)
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)


async def test_the_palette_offers_every_action_of_the_keys() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for action in ACTIONS:
            if action.palette and action.area in DASHBOARD_AREAS:
                assert action.palette in titles, action.id
        for word in ("Sort by backend", "Mark all", "Only active", "Only failed", "Backends"):
            assert any(title.startswith(word) for title in titles), word
        assert "Copy the job id" in titles and "Copy random bits" in titles


async def test_colon_finds_sort_mark_filters_backends_and_copy() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        await palette_run(pilot, "sort by backend")
        assert job_list.rows.sort_column is Column.BACKEND
        await palette_run(pilot, "only failed")
        assert job_list.rows.status_filter == "failed"
        await palette_run(pilot, "mark all visible")
        assert job_list.rows.mark_count == len(job_list.rows) == 3
        await palette_run(pilot, "unmark all")
        assert job_list.rows.mark_count == 0
        await palette_run(pilot, "show all jobs")
        assert job_list.rows.status_filter is None
        await palette_run(pilot, "backends pane")
        assert app.screen.has_class("swap-side")
        await palette_run(pilot, "copy the job id")
        assert app.clipboard == job_list.cursor_key[1]  # type: ignore[index]


# --- files and keymaps --------------------------------------------------------------------


def test_downloads_folder_xdg_then_downloads_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    assert locations.downloads_dir() == tmp_path
    (tmp_path / "Downloads").mkdir()
    assert locations.downloads_dir() == tmp_path / "Downloads"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", "$HOME/dl")
    assert locations.downloads_dir() == tmp_path / "dl"


async def test_e_writes_into_the_downloads_folder_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(target))
    monkeypatch.chdir(tmp_path)
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        assert app.screen.query_one(Input).value.startswith(str(target) + "/qjob-jobs-")
        await pilot.press("ctrl+u", *"mine.json", "enter")  # a bare name: still there
        await until(pilot, lambda: (target / "mine.json").exists())
        await until(pilot, lambda: any(str(target / "mine.json") in m for m in said))
    assert not (tmp_path / "mine.json").exists()
    assert len(json.loads((target / "mine.json").read_text())) == len(sample_jobs())


def test_keymap_keys_are_checked_and_each_problem_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[keymap]\n"app.cancel" = "ctrl+shift+alt+bogus,,"\n"app.quit" = "q,foo"\n'
        '"job_list.cursor_down" = "j,ctrl+n"\n'
    )
    settings, problems = load_settings(config)
    assert settings.keymap == {"app.quit": "q", "job_list.cursor_down": "j,ctrl+n"}
    assert problems == [
        f"{config}: keymap 'app.cancel': 'ctrl+shift+alt+bogus' is not a key, an empty key; "
        "ignored",
        f"{config}: keymap 'app.quit': 'foo' is not a key; kept q",
    ]


async def test_an_unknown_binding_id_is_named_at_start() -> None:
    app = make_app()
    app.settings = replace(app.settings, keymap={"app.cancle": "C", "app.quit": "q,Q"})
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert said == [
            "config.toml: keymap 'app.cancle' is no key binding of qjob-tui "
            "(did you mean 'app.cancel'?)"
        ]
        bound = app.active_bindings
        assert bound["Q"].binding.id == "app.quit"  # the good entry still applies
