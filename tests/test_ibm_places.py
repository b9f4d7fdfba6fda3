"""Queue places where the server gives none (IBM Quantum's metrics have no place today): one
metrics read says so, and the queued jobs' places are not asked by id on every poll."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.api import JobClient
from qjob_tui.api.http import RetryPolicy
from qjob_tui.store import JobStore, StoreConfig
from tests.ibm_fake import FakeIBM, Scripted, ibm_job

METRICS = {"timestamps": {"created": "2026-01-01T00:00:00Z"}, "usage": {"seconds": 0}}


@pytest.fixture
def ibm() -> Iterator[FakeIBM]:
    with FakeIBM().running() as server:
        yield server


async def test_places_are_not_asked_where_the_server_gives_none(
    ibm: FakeIBM, tmp_path: Path
) -> None:
    from tests.test_client_ibm import ibm_source

    ibm.jobs = {f"q{i}": ibm_job(f"q{i}", "Queued") for i in range(3)}
    for i in range(3):
        ibm.script(f"/jobs/q{i}/metrics", *(Scripted(200, METRICS) for _ in range(20)))
    config = StoreConfig(interval=0.05, use_cache=False, use_stream=False, cache_dir=tmp_path)
    store = JobStore([JobClient(ibm_source(ibm), policy=RetryPolicy(max_tries=1))], config)
    await store.start(poll=False)
    try:
        for _ in range(6):
            await store.poll_once()
        asked = [path for _, path, _ in ibm.requests if path.endswith("/metrics")]
        # The first queued job seen is read once (its metrics have no place); then none.
        assert 1 <= len(asked) <= 3, asked
        assert all(job.queue.position is None for job in store.all_jobs())
    finally:
        await store.stop()
