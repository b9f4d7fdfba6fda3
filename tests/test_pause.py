"""``p`` freezes what the dashboard shows: polls and pushes are held, not applied, the status
line says since when, and ``p`` again applies everything at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from textual.pilot import Pilot

from qjob_tui.api import JobClient, Source
from qjob_tui.model import JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList
from tests.http_helpers import BELL, submit
from tests.service_process import ServiceProcess


def _store(service: ServiceProcess, tmp_path: Path, name: str, cache: bool = True) -> JobStore:
    config = StoreConfig(
        interval=0.2, calm_interval=0.2, cache_dir=tmp_path / name, use_cache=cache
    )
    return JobStore([JobClient(Source.local(service.root))], config)


def _submit(service: ServiceProcess) -> str:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        return submit(http, circuit=BELL, shots=10)


async def _until(pilot: Pilot[int], predicate: object, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.1)):
        if predicate():  # type: ignore[operator]
            return
        await pilot.pause(0.1)
    raise AssertionError("condition never met")


async def test_pause_holds_polls_and_pushes_until_resumed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    app = QJobApp(_store(service, tmp_path, "dashboard"))
    # Not paused: says when the news is out (no cache: it starts on the test's own loop).
    witness = _store(service, tmp_path, "witness", cache=False)
    async with app.run_test(size=(120, 40)) as pilot:
        poller = app.store.pollers["local"]
        await _until(pilot, lambda: poller.health.streaming and poller.polls > 0)
        jobs = app.query_one(JobList)
        await pilot.press("p")
        status = str(app.query_one("#status").render())
        assert "paused since" in status
        await witness.start()
        try:
            # Sent from a thread: the client's first submit imports Qiskit, seconds of CPU
            # that would hold the event loop the dashboard under test runs on.
            job_id = await asyncio.to_thread(_submit, service)
            key = ("local", job_id)
            # The news is out (pushed to every listener, done on the server)...
            await _until(
                pilot,
                lambda: (job := witness.job(key)) is not None and job.status is JobStatus.DONE,
            )
            polls = poller.polls
            for _ in range(5):
                await pilot.pause(0.2)
            # ...and the paused dashboard shows none of it, nor polls.
            assert key not in jobs.rows
            assert poller.polls == polls
            assert "paused since" in str(app.query_one("#status").render())
            await pilot.press("p")
            await _until(pilot, lambda: key in jobs.rows)
            assert "paused" not in str(app.query_one("#status").render())
        finally:
            await witness.stop()
