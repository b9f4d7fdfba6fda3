"""What a newcomer to the dashboard tripped over: space steps down without saying so, a key
that needs a job did nothing without one, and the save prompts were cut off. Driven by keys on
the fixed dashboard (tests/apps/dashboard_app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from qjob_tui.model import JobStatus
from qjob_tui.store.changes import ActionResult
from qjob_tui.ui.actions import ACTIONS, BY_ID
from qjob_tui.ui.cancel_notice import cancel_notice
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
from qjob_tui.ui.dialogs.confirm_session import ConfirmSession
from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.dialogs.text_prompt import TextPrompt
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.sessions.session_tree import SessionTree
from tests.apps.dashboard_app import ACTIVE_SESSION, EXTRACTOR_JOB, SOURCE, make_app, select
from tests.test_app import help_text
from tests.test_daily_use import dialog_text, screen_text, settle, until

README = Path(__file__).parent.parent / "README.md"
STEPS_ON = "then move to the next"


async def test_space_marks_then_steps_down_and_every_place_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        rows = job_list.rows
        first, third = rows.row(0).key, rows.row(2).key
        await pilot.press("space", "j", "space")  # marks the first and the third, as htop does
        await settle(pilot)
        assert set(rows.marked) == {first, third}
        assert "Mark ↓" in screen_text(app).splitlines()[-1]  # the footer
        titles = [command.title for command in app.screen.commands()]  # type: ignore[attr-defined]
        assert any(STEPS_ON in title for title in titles)  # the palette
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert f"space  mark or unmark the job, {STEPS_ON} one" in help_text(app.screen)
    (row,) = [line for line in README.read_text().splitlines() if line.startswith("| `space`")]
    assert STEPS_ON in row


async def _filtered_to_nothing(app: Any, pilot: Any, said: list[str]) -> None:
    """The list filtered to no job, its focus back on it, and the app's notices into ``said``."""
    await settle(pilot)
    await pilot.press("slash", *"abc", "enter")
    job_list = app.query_one(JobList)
    await until(pilot, lambda: len(job_list.rows) == 0 and job_list.has_focus)
    app.notify = lambda message, **kw: said.append(str(message))


async def test_every_key_that_needs_a_job_says_so_when_none_is_selected() -> None:
    """The filter matches nothing: each key of an action on a job (the registry's ``needs``)
    gives one short notice, where ``c`` once did nothing visible at all."""
    app = make_app()
    said: list[str] = []
    needing = [action for action in ACTIONS if action.needs]
    assert {a.id for a in needing} >= {
        "app.cancel",
        "app.tags",
        "app.rename",
        "app.save_bits",
        "app.extract",
        "app.copy",
        "job_list.select",
    }
    async with app.run_test(size=(120, 40)) as pilot:
        await _filtered_to_nothing(app, pilot, said)
        for action in needing:
            said.clear()
            await pilot.press(action.keys.split(",")[0])
            await settle(pilot)
            assert said == ["No job selected: no job matches the filter."], action.id
            assert app.screen is app.dashboard, action.id  # no dialog opened on nothing
        said.clear()
        dashboard = app.dashboard
        assert dashboard is not None
        dashboard._run_from_palette(BY_ID["job_list.select"])  # the palette's way: the same rule
        await settle(pilot)
        assert said == ["No job selected: no job matches the filter."]


async def test_a_readonly_dashboard_says_nothing_of_the_keys_it_does_not_offer() -> None:
    app = make_app(readonly=True)
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _filtered_to_nothing(app, pilot, said)
        await pilot.press("c", "t")
        await settle(pilot)
        assert said == []
        await pilot.press("y")  # copying is no change: it is offered, and says why not
        await settle(pilot)
        assert said == ["No job selected: no job matches the filter."]


async def test_in_the_grouped_view_a_session_row_is_enough_for_close_not_for_tags() -> None:
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        tree = app.query_one(SessionTree)
        assert tree.select_key("session", (SOURCE, ACTIVE_SESSION))
        await settle(pilot)
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await pilot.press("t")
        await settle(pilot)
        assert said == ["No job selected: the cursor is on a group's row, not a job."]
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))


def _result(job_id: str, ok: bool, message: str) -> ActionResult:
    return ActionResult((SOURCE, job_id), ok, message)


def test_a_partial_cancel_says_what_was_cancelled_and_why_the_others_were_not() -> None:
    statuses = {"a": JobStatus.CANCELLED, "b": JobStatus.DONE, "c": JobStatus.QUEUED}
    results = [
        _result("a", True, "cancelled a"),
        _result("b", False, "b cannot be cancelled: it has already ended, in final state DONE"),
        _result("c", True, "cancelling c: QUEUED still"),
    ]
    said, severity = cancel_notice(results, lambda key: statuses[key[1]])
    assert said.splitlines() == [
        "cancelled 1 of 3 jobs; not cancelled:",
        "b cannot be cancelled: it has already ended, in final state DONE",
        "cancelling c: QUEUED still",
    ]
    assert severity == "warning"
    assert cancel_notice(results[:1], lambda key: statuses[key[1]]) == (
        "cancelled a",
        "information",
    )
    refused = [_result(f"j{n}", False, f"cancel j{n} refused: busy") for n in range(7)]
    said, severity = cancel_notice(refused, lambda key: JobStatus.RUNNING)
    assert said.splitlines()[0] == "none of the 7 jobs was cancelled:"
    assert said.splitlines()[-1] == "and 2 more" and severity == "error"
    assert "done" not in said


async def test_a_bulk_cancel_that_fails_says_so_once_with_each_reason() -> None:
    """The offline dashboard's service refuses: one notice, not one error per job and then a
    count of the rest."""
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        job_list = app.query_one(JobList)
        marked = [job_list.rows.row(0).id, job_list.rows.row(1).id]
        await pilot.press("space", "space", "c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await pilot.press("y")
        await until(pilot, lambda: len(said) == 1)
        await app.workers.wait_for_complete()
        await settle(pilot)
    (notice,) = said
    lines = notice.splitlines()
    assert lines[0] == "none of the 2 jobs was cancelled:"
    assert sorted(lines[1:]) == sorted(f"cancel {i} refused: offline" for i in marked)


def _squeezed(text: str) -> str:
    """Text with every space and line break gone: a path wrapped over lines reads whole."""
    return "".join(text.split())


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_save_prompts_name_the_whole_folder(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await settle(pilot)
        shown = _squeezed(dialog_text(app))
        kinds = "A .csv or .json file (a name without an ending gets .csv)."
        assert _squeezed(f"Export the visible rows {kinds}") in shown
        assert _squeezed(f"in the downloads folder, {downloads} (a bare name too).") in shown
        await pilot.press("escape")
        select(app, EXTRACTOR_JOB)
        await pilot.press("5")
        await until(pilot, lambda: app.query_one(JobDetail).bits is not None)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await settle(pilot)
        shown = _squeezed(dialog_text(app))
        kinds = ".txt writes 0 and 1, .hex writes hex digits (a name without an ending gets .bin)."
        assert _squeezed(kinds) in shown
        assert _squeezed(f"in the downloads folder, {downloads} (a bare name too).") in shown


async def test_a_refused_name_keeps_the_prompt_open_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        select(app, EXTRACTOR_JOB)
        await pilot.press("5")
        await until(pilot, lambda: app.query_one(JobDetail).bits is not None)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        prompt = app.screen
        await pilot.press("ctrl+u", *"/etc/x.bin", "enter")
        await settle(pilot)
        assert app.screen is prompt  # still open, the name kept to be corrected
        assert prompt.query_one(Input).value == "/etc/x.bin"
        problem = str(prompt.query_one("#problem", Static).render())
        assert f"/etc/x.bin is outside the downloads folder, {downloads}" in problem
        assert _squeezed("/etc/x.bin is outside") in _squeezed(dialog_text(app))  # on screen
        await pilot.press("ctrl+u", *"bits.hex", "enter")
        await until(pilot, lambda: (downloads / "bits.hex").exists())
        await until(pilot, lambda: any("Saved 512 bits" in m for m in said))
        assert not isinstance(app.screen, TextPrompt)
    assert not Path("/etc/x.bin").exists()


async def test_a_file_that_cannot_be_written_asks_again_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name passes the prompt's check, but the write finds a link out of the folder: the
    prompt comes back with the name and the reason, and nothing is written outside."""
    downloads, outside = tmp_path / "dl", tmp_path / "outside"
    downloads.mkdir()
    outside.mkdir()
    (downloads / "link").symlink_to(outside)
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        first = app.screen
        await pilot.press("ctrl+u", *"link/x.csv", "enter")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt) and app.screen is not first)
        again = app.screen
        assert again.query_one(Input).value == str(downloads / "link" / "x.csv")
        problem = str(again.query_one("#problem", Static).render())
        assert problem == "Not saved: link is a link or not a folder"
        await pilot.press("ctrl+u", *"x.csv", "enter")
        await until(pilot, lambda: (downloads / "x.csv").exists())
    assert list(outside.iterdir()) == []
