"""The whole history: newest first, then older pages in the background, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import SourceHealth
from qjob_tui.ui.status.status_line import status_text
from tests.convergence import until
from tests.service_process import ServiceProcess, fill_finished

JOBS = 10_000
PAGE = 200


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("big")
    fill_finished(data, JOBS)
    proc = ServiceProcess(data, "--latency-scale", "0").start()
    yield proc
    proc.stop()


def _store(proc: ServiceProcess, cache: Path) -> JobStore:
    config = StoreConfig(
        interval=0.02, calm_interval=0.02, backend_interval=3600.0, cache_dir=cache
    )
    return JobStore([JobClient(Source.local(proc.root), policy=RetryPolicy(max_tries=2))], config)


async def test_a_cold_start_shows_the_newest_then_every_job(
    big: ServiceProcess, tmp_path: Path
) -> None:
    store = _store(big, tmp_path / "cache")
    await store.start(poll=False)
    poller = store.pollers["local"]
    try:
        await store.poll_once()
        assert len(poller.jobs) == PAGE
        assert poller.health.loaded == PAGE and poller.health.total == JOBS
        newest = sorted(job.id for job in poller.jobs.values())
        assert newest[-1] == f"old{JOBS - 1:017d}" and newest[0] == f"old{JOBS - PAGE:017d}"
        poller.start()
        # The health is published at the end of the poll that read the last page.
        await until(lambda: poller.history_complete and poller.health.total is None, timeout=90)
        assert len(poller.jobs) == JOBS
        assert set(poller.jobs) == {f"old{i:017d}" for i in range(JOBS)}
    finally:
        await store.stop()
    # Once: the next start has every job from the cache and pages no history.
    again = _store(big, tmp_path / "cache")
    await again.start(poll=False)
    try:
        assert len(again.pollers["local"].jobs) == JOBS
        before = again.client("local").stats.requests
        await again.poll_once()
        await again.poll_once()
        # The pending list and the new jobs, twice, and the backends once: no history pages.
        assert again.client("local").stats.requests - before == 5
        assert again.pollers["local"].health.total is None
    finally:
        await again.stop()


async def test_an_interrupted_history_resumes_where_it_stopped(
    big: ServiceProcess, tmp_path: Path
) -> None:
    store = _store(big, tmp_path / "cache")
    await store.start(poll=False)
    for _ in range(10):
        await store.poll_once()
    loaded = len(store.pollers["local"].jobs)
    assert PAGE * 5 < loaded < JOBS
    await store.stop()

    again = _store(big, tmp_path / "cache")
    await again.start(poll=False)
    poller = again.pollers["local"]
    try:
        assert len(poller.jobs) == loaded
        polls = 0
        while not poller.history_complete:
            await again.poll_once()
            polls += 1
            assert polls < 100
        assert len(poller.jobs) == JOBS
        # A page per poll from where the first run stopped, not from the top again.
        assert polls <= (JOBS - loaded) // PAGE + 2
    finally:
        await again.stop()


def test_the_status_line_says_how_much_history_is_loaded() -> None:
    health = SourceHealth(source="local", failures=0, loaded=3000, total=10_039)
    text = status_text([health], Counter(), False, 2.0).plain
    assert "loaded 3,000 of 10,039" in text
    done = SourceHealth(source="local", loaded=10_039, total=None)
    assert "loaded" not in status_text([done], Counter(), False, 2.0).plain


async def test_the_end_of_the_list_loads_the_next_page_at_once(
    big: ServiceProcess, tmp_path: Path
) -> None:
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.jobs.job_list import JobList

    # Polls an hour apart: only the user reaching the end can bring the next page now.
    config = StoreConfig(interval=3600.0, calm_interval=3600.0, use_cache=False)
    store = JobStore([JobClient(Source.local(big.root))], config)
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        for _ in range(600):
            if len(job_list.rows) == PAGE:
                break
            await pilot.pause(0.1)
        assert len(job_list.rows) == PAGE
        job_list.focus()
        await pilot.press("end")
        for _ in range(600):
            if len(job_list.rows) > PAGE:
                break
            await pilot.pause(0.1)
        assert len(job_list.rows) == 2 * PAGE - 1  # the next page (one job is on both)
