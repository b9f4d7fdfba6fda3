"""The detail pane's tab keys (``1``..``7``, ``l``, ``v``) follow the rule of every key that
needs a job (the registry's ``needs``): with none under the cursor they say so, where they once
did nothing visible. Against the real local service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.ui.actions import BY_ID, TABS
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.jobs.job_list import JobList
from tests.apps.dashboard_app import settle
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, server_job, submit, until

TAB_KEYS = [str(number) for number in range(1, len(TABS) + 1)] + ["l", "v"]


@pytest.fixture(scope="module")
def empty_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service that holds no job, ever: its list is empty."""
    proc = ServiceProcess(tmp_path_factory.mktemp("empty")).start()
    yield proc
    proc.stop()


def listen(app: QJobApp) -> list[str]:
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
    return said


async def test_tab_keys_on_an_empty_list_say_no_job_is_selected(
    empty_service: ServiceProcess, tmp_path: Path
) -> None:
    app = make_app(empty_service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store.pollers["local"].polls > 0)
        await settle(pilot)
        assert len(app.query_one(JobList).rows) == 0
        detail = app.query_one(JobDetail)
        before = detail.active
        said = listen(app)
        for key in TAB_KEYS:
            said.clear()
            await pilot.press(key)
            await settle(pilot)
            assert said == ["No job selected: the list is empty."], key
            assert detail.active == before, key
        said.clear()
        app.dashboard._run_from_palette(BY_ID["detail.tab_log"])  # type: ignore[union-attr]
        await settle(pilot)
        assert said == ["No job selected: the list is empty."]


async def test_tab_keys_show_the_selected_jobs_tabs_and_say_so_when_filtered_out(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service, shots=10)
    while not (await server_job(service, job_id)).status.is_final:
        await asyncio.sleep(0.05)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        detail = app.query_one(JobDetail)
        said = listen(app)
        for number, (tab, _title) in enumerate(TABS, start=1):
            await pilot.press(str(number))
            await until(pilot, lambda tab=tab: detail.active == tab)  # type: ignore[misc]
        assert said == []
        await pilot.press("escape", "slash", *"no-such-job", "enter")
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.rows) == 0 and job_list.has_focus)
        await pilot.press("2")
        await settle(pilot)
        assert said == ["No job selected: no job matches the filter."]
        assert detail.active == "raw"
