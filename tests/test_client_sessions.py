"""Sessions, batches, workloads and usage through JobClient, against the real local service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, NotFound, Source
from qjob_tui.model import JobStatus, SessionMode, SessionState
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess


async def wait_final(client: JobClient, job_id: str, timeout: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await client.job(job_id)).status.is_final:
        assert asyncio.get_running_loop().time() < deadline, f"{job_id} not final"
        await asyncio.sleep(0.05)


async def wait_session(client: JobClient, session_id: str, state: SessionState) -> None:
    for _ in range(2400):
        if (await client.session(session_id)).state is state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"session {session_id} never {state}")


@pytest.fixture
def source(service: ServiceProcess) -> Source:
    return Source.local(service.url)


async def test_a_batch_and_its_jobs(source: Source) -> None:
    async with JobClient(source) as client:
        session_id = await client.open_session("basic_simulator", SessionMode.BATCH, max_ttl=600)
        first = await client.submit([BELL], "basic_simulator", shots=50, session_id=session_id)
        second = await client.submit([BELL], "basic_simulator", shots=50, session_id=session_id)
        await wait_final(client, first)
        await wait_final(client, second)
        session = await client.session(session_id)
        assert session.id == session_id and session.source == source.name
        assert session.mode is SessionMode.BATCH
        assert session.backend == "basic_simulator"
        assert session.max_ttl == 600
        jobs = await client.session_jobs(session_id)
        assert {job.id for job in jobs} == {first, second}
        assert all(job.session_id == session_id for job in jobs)
        assert (await client.job(first)).session_id == session_id


async def test_close_stops_accepting_jobs(source: Source) -> None:
    async with JobClient(source) as client:
        session_id = await client.open_session("basic_simulator", SessionMode.DEDICATED)
        job_id = await client.submit([BELL], "basic_simulator", session_id=session_id)
        await client.close_session(session_id)
        session = await client.session(session_id)
        assert not session.accepting_jobs
        await wait_final(client, job_id)
        assert (await client.job(job_id)).status is JobStatus.DONE  # its job still ran


async def test_cancel_stops_the_queued_jobs(source: Source) -> None:
    async with JobClient(source) as client:
        # fake_cairo is the slow device: the second and third jobs wait behind the first.
        session_id = await client.open_session("fake_cairo", SessionMode.BATCH)
        ids = [
            await client.submit([BELL], "fake_cairo", shots=4000, session_id=session_id)
            for _ in range(3)
        ]
        await client.cancel_session(session_id)
        await wait_session(client, session_id, SessionState.CLOSED)
        for job_id in ids:
            await wait_final(client, job_id)
        statuses = [(await client.job(job_id)).status for job_id in ids]
        assert JobStatus.CANCELLED in statuses
        assert not (await client.session(session_id)).accepting_jobs


async def test_an_unknown_session_is_not_found(source: Source) -> None:
    async with JobClient(source) as client:
        with pytest.raises(NotFound):
            await client.session("no-such-session")


async def test_workloads_list_sessions_and_jobs(source: Source) -> None:
    async with JobClient(source) as client:
        session_id = await client.open_session("basic_simulator", SessionMode.BATCH)
        job_id = await client.submit([BELL], "basic_simulator", session_id=session_id)
        await wait_final(client, job_id)
        page = await client.workloads(mine=True)
        ids = {item.id: item for item in page.workloads}
        assert session_id in ids and ids[session_id].mode == "batch"
        batches = await client.workloads(mode="batch")
        assert all(item.mode == "batch" for item in batches.workloads)
        user = await client.own_user()
        assert user is not None
        assert (await client.job(job_id)).user_id == user


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("usage-limit")
    proc = ServiceProcess(data, "--latency-scale", "0.2", "--usage-limit", "3600").start()
    yield proc
    proc.stop()


async def test_usage_reports_the_limit(limited: ServiceProcess) -> None:
    async with JobClient(Source.local(limited.url)) as client:
        before = await client.usage()
        assert before.limit_seconds == 3600 and not before.limit_reached
        job_id = await client.submit([BELL], "fake_lima", shots=200)
        await wait_final(client, job_id)
        after = await client.usage()
        assert after.consumed_seconds >= before.consumed_seconds
        assert after.remaining_seconds is not None
        assert after.remaining_seconds == pytest.approx(3600 - after.consumed_seconds)


async def test_workloads_page_with_the_next_cursor(source: Source) -> None:
    async with JobClient(source) as client:
        for _ in range(2):
            await client.open_session("basic_simulator", SessionMode.BATCH)
        first = await client.workloads(limit=1)
        assert len(first.workloads) == 1 and first.next_cursor is not None
        second = await client.workloads(limit=1, cursor=first.next_cursor)
        assert len(second.workloads) == 1
        assert second.workloads[0].id != first.workloads[0].id
        assert first.total >= 2


def test_the_job_library_has_sessions_and_usage(service: ServiceProcess) -> None:
    from qjob_tui.jobs import JobService

    async def open_batch() -> str:
        async with JobClient(Source.local(service.url)) as client:
            return await client.open_session("basic_simulator", SessionMode.BATCH)

    session_id = asyncio.run(open_batch())
    with JobService(service.root) as jobs:
        handle = jobs.run(BELL, "basic_simulator", shots=20)
        assert handle.session_id is None and handle.user_id
        session = jobs.session(session_id)
        assert session.mode is SessionMode.BATCH and session.accepting_jobs
        assert jobs.session_jobs(session_id) == []
        jobs.close_session(session_id)
        assert not jobs.session(session_id).accepting_jobs
        jobs.cancel_session(session_id)
        assert jobs.usage().limit_seconds is None
