"""A key pressed again and again while its notice is still shown shows that notice once: five
presses of ``c`` with nothing to cancel stacked five identical notices. Any notice said again
while shown replaces itself, whoever says it; other notices stay. Against the real local
service, with the app's notices on screen as a person sees them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets._toast import Toast

from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList
from tests.apps.dashboard_app import settle
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, server_job, submit, until


def notices(app: QJobApp) -> list[str]:
    """The notices on screen, top to bottom."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_c_pressed_five_times_with_no_job_shows_one_notice(
    service: ServiceProcess, tmp_path: Path
) -> None:
    await submit(service, shots=10)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.rows) > 0)
        await pilot.press("slash", *"no-such-job", "enter")
        await until(pilot, lambda: len(job_list.rows) == 0 and job_list.has_focus)
        await pilot.press(*"ccccc")
        await settle(pilot)
        said = "No job selected: no job matches the filter."
        assert notices(app) == [said]
        await pilot.press("t")  # another key, the same words: still one
        await settle(pilot)
        assert notices(app) == [said]


async def test_c_pressed_five_times_on_a_finished_job_shows_one_notice(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service, shots=10)
    while not (await server_job(service, job_id)).status.is_final:
        await asyncio.sleep(0.05)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await select(pilot, app, job_id)
        await pilot.press(*"ccccc")
        await settle(pilot)
        status = (await server_job(service, job_id)).status.value
        assert notices(app) == [
            f"{job_id} cannot be cancelled: it has already ended, in final state {status}"
        ]


async def test_any_notice_said_again_while_shown_is_shown_once(
    service: ServiceProcess, tmp_path: Path
) -> None:
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        for _ in range(3):
            app.notify("Theme saved", timeout=60)
        app.notify("Theme saved", severity="warning", timeout=60)  # said otherwise: another
        app.notify("Columns saved", timeout=60)
        await settle(pilot)
        assert notices(app) == ["Theme saved", "Theme saved", "Columns saved"]
        assert [toast._notification.severity for toast in app.screen.query(Toast)] == [
            "information",
            "warning",
            "information",
        ]
