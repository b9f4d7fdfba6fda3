"""The status line's usage warning and the "only my jobs" filter, against the real service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.status.status_line import StatusLine
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess
from tests.test_app import until
from tests.test_client_sessions import wait_final


def make_app(url: str) -> QJobApp:
    store = JobStore(
        [JobClient(Source.local(url))],
        StoreConfig(interval=0.2, calm_interval=0.2, session_interval=0.2, use_cache=False),
    )
    return QJobApp(store)


def shown(app: QJobApp) -> str:
    return str(app.query_one(StatusLine).render())


@pytest.fixture(scope="module")
def nearly_used_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service whose limit is set so that 5 % of it is left after one real job."""
    import asyncio

    data: Path = tmp_path_factory.mktemp("usage-warning")
    first = ServiceProcess(data, "--latency-scale", "0.2").start()

    async def run_one() -> float:
        async with JobClient(Source.local(first.url)) as client:
            job_id = await client.submit([BELL], "fake_lima", shots=2000)
            await wait_final(client, job_id)
            return (await client.usage()).consumed_seconds

    consumed = asyncio.run(run_one())
    first.stop()
    assert consumed > 0, "the job charged no quantum time"
    proc = ServiceProcess(data, "--latency-scale", "0.2", "--usage-limit", f"{consumed / 0.95:.6f}")
    proc.start()
    yield proc
    proc.stop()


async def test_the_status_line_warns_under_ten_percent(nearly_used_up: ServiceProcess) -> None:
    app = make_app(nearly_used_up.root)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "local" in app.store.usage)
        await until(pilot, lambda: "⚠" in shown(app))
        text = shown(app)
        assert "left (5 %)" in text
        usage = app.store.usage["local"]
        assert usage.low and usage.remaining_seconds is not None


async def test_without_a_limit_there_is_no_warning(service: ServiceProcess) -> None:
    app = make_app(service.root)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "local" in app.store.usage)
        await until(pilot, lambda: "local ok" in shown(app))
        await pilot.pause()
        # A local service without a limit has nothing to warn about: no usage on the line.
        assert app.store.usage["local"].limit_seconds is None
        assert "⚠" not in shown(app) and " used" not in shown(app)


async def test_only_my_jobs(service: ServiceProcess) -> None:
    async with JobClient(Source.local(service.root)) as client:
        job_id = await client.submit([BELL], "basic_simulator", shots=10)
        await wait_final(client, job_id)
        me = (await client.job(job_id)).user_id
    assert me is not None
    app = make_app(service.root)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: job_list.rows.index_of(("local", job_id)) is not None)
        await until(pilot, lambda: app.store.own_user("local") is not None)
        assert app.store.own_user("local") == me
        before = len(job_list.rows)
        await pilot.press("m")
        await until(pilot, lambda: job_list.rows.owner_filter is not None)
        assert all(job.user_id == me for job in job_list.rows)
        assert job_list.rows.index_of(("local", job_id)) is not None
        assert "only my jobs" in str(job_list.border_subtitle)
        await pilot.press("m")
        await until(pilot, lambda: job_list.rows.owner_filter is None)
        assert len(job_list.rows) == before
