"""What a newcomer to the dashboard tripped over: space steps down without saying so, a key
that needs a job did nothing without one, and the save prompts were cut off. Driven by keys on
the fixed dashboard (tests/apps/dashboard_app.py)."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.jobs.job_list import JobList
from tests.apps.dashboard_app import make_app
from tests.test_app import help_text
from tests.test_daily_use import screen_text, settle, until

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
