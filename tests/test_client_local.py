"""Every JobClient method against the real local service on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from qjob_tui.api import (
    BadRequest,
    InvalidState,
    JobClient,
    NotAuthorized,
    NotFound,
    Source,
)
from qjob_tui.api.accounts import Account
from qjob_tui.model import BackendState, JobStatus
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess


async def wait_final(client: JobClient, job_id: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await client.job(job_id)).status.is_final:
        assert asyncio.get_running_loop().time() < deadline, f"{job_id} not final"
        await asyncio.sleep(0.05)


async def wait_status(client: JobClient, job_id: str, status: JobStatus) -> None:
    for _ in range(1200):
        if (await client.job(job_id)).status is status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_id} never {status}")


@pytest.fixture
def source(service: ServiceProcess) -> Source:
    return Source.local(service.root)


async def test_submit_a_qiskit_circuit_and_read_counts(source: Source) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure(range(3), range(3))
    async with JobClient(source) as client:
        job_id = await client.submit([circuit], "aer_simulator", shots=500, tags=["lib"])
        await wait_final(client, job_id)
        result = await client.results(job_id)
        assert result is not None
        register = result.pubs[0].registers[0]
        assert register.num_bits == 3
        assert set(register.counts) <= {"000", "111"}
        assert register.counts.shots == 500
        assert len(register.bitstrings) == 500
        assert set(register.bitstrings) == set(register.counts)


async def test_job_details_have_steps_usage_and_metadata(source: Source) -> None:
    async with JobClient(source) as client:
        job_id = await client.submit([BELL], "basic_simulator", shots=50, name="details")
        await wait_final(client, job_id)
        job = await client.job_details(job_id)
        assert job.status is JobStatus.DONE
        assert [s.name for s in job.steps] == ["created", "queued", "running", "finished"]
        assert job.usage.final and job.usage.quantum_seconds > 0
        assert job.name == "details" and job.program == "sampler"
        metrics = await client.metrics(job_id)
        assert metrics.num_circuits == 1 and metrics.num_qubits == (2,)
        params = await client.params(job_id)
        assert params is not None and params["pubs"][0][0] == BELL
        assert "completed" in await client.logs(job_id)


async def test_listing_filters_and_pages(source: Source) -> None:
    async with JobClient(source) as client:
        since = datetime.now(UTC) - timedelta(milliseconds=5)
        ids = [
            await client.submit([BELL], "basic_simulator", shots=10, tags=["pages"])
            for _ in range(5)
        ]
        for job_id in ids:
            await wait_final(client, job_id)
        page = await client.jobs(limit=2, tags=["pages"])
        assert page.count == 5 and [j.id for j in page.jobs] == ids[::-1][:2]
        everything = [j.id async for j in client.iter_jobs(page_size=2, tags=["pages"])]
        assert everything == ids[::-1]
        oldest_first = await client.jobs(tags=["pages"], descending=False, created_after=since)
        assert [j.id for j in oldest_first.jobs] == ids
        assert (await client.jobs(tags=["pages"], pending=True)).jobs == ()
        assert (await client.jobs(tags=["pages"], backend="fake_lima")).count == 0
        before = await client.jobs(tags=["pages"], created_before=since)
        assert before.count == 0


async def test_queue_info_cancel_and_invalid_state(source: Source) -> None:
    async with JobClient(source) as client:
        blocker = await client.submit([BELL], "fake_cairo", shots=100_000)
        await wait_status(client, blocker, JobStatus.RUNNING)
        queued = await client.submit([BELL], "fake_cairo", shots=100)
        job = await client.job_details(queued)
        assert job.status is JobStatus.QUEUED
        assert job.queue.position == 1
        assert job.queue.estimated_start is not None and job.queue.estimated_completion is not None
        status = await client.backend_status("fake_cairo")
        assert status.queue_length == 1 and status.state is BackendState.ONLINE
        await client.cancel(queued)
        await client.cancel(blocker)
        assert (await client.job(blocker)).status is JobStatus.CANCELLED
        with pytest.raises(InvalidState, match="non cancellable"):
            await client.cancel(blocker)
        running = await client.submit([BELL], "fake_cairo", shots=100_000)
        await wait_status(client, running, JobStatus.RUNNING)
        with pytest.raises(InvalidState, match="terminal state"):
            await client.delete(running)
        await client.cancel(running)


async def test_tags_rename_and_delete(source: Source) -> None:
    async with JobClient(source) as client:
        job_id = await client.submit([BELL], "basic_simulator", shots=10, tags=["a"])
        assert await client.set_tags(job_id, ["b", "c", "b"]) == ("b", "c")
        assert (await client.job(job_id)).tags == ("b", "c")
        with pytest.raises(BadRequest, match="at most 8 tags"):
            await client.set_tags(job_id, [str(i) for i in range(9)])
        with pytest.raises(BadRequest, match="at most 86 characters"):
            await client.set_tags(job_id, ["x" * 87])
        await client.rename(job_id, "renamed")
        assert (await client.job(job_id)).name == "renamed"
        await wait_final(client, job_id)
        await client.delete(job_id)
        with pytest.raises(NotFound, match="Job not found"):
            await client.job(job_id)


async def test_a_bad_circuit_is_an_error_with_reason(source: Source) -> None:
    async with JobClient(source) as client:
        job_id = await client.submit(
            ["OPENQASM 2.0;\nqreg q[1];\nbogus q[0];\n"], "basic_simulator"
        )
        await wait_final(client, job_id)
        job = await client.job(job_id)
        assert job.status is JobStatus.ERROR
        assert job.error is not None and job.error.code and "bogus" in job.error.message
        assert job.error.solution
        assert await client.results(job_id) is None


async def test_backends_and_usage(source: Source) -> None:
    async with JobClient(source) as client:
        names = {b.name for b in await client.backends()}
        assert {"basic_simulator", "fake_lima", "fake_cairo"} <= names
        props = await client.backend_properties("fake_lima")
        assert props is not None and props["backend_name"] == "fake_lima"
        usage = await client.usage()
        assert usage.limit_seconds is None and usage.remaining_seconds is None
        with pytest.raises(NotFound, match="Backend not found"):
            await client.backend_status("nowhere")


async def test_connection_reuse(source: Source) -> None:
    async with JobClient(source) as client:
        for _ in range(5):
            await client.backends()
        assert client.stats.requests == 5 and client.stats.bytes_received > 0


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("client-secured")
    proc = ServiceProcess(
        data, env={"QJOB_TUI_SERVICE_TOKEN": "tok-123456", "QJOB_TUI_IAM_APIKEY": "key-123456"}
    ).start()
    yield proc
    proc.stop()


async def test_bearer_token_source(secured: ServiceProcess) -> None:
    async with JobClient(Source.local(secured.root, "tok-123456")) as client:
        assert await client.backends()
    async with JobClient(Source.local(secured.root, "wrong-token")) as client:
        with pytest.raises(NotAuthorized, match="invalid or expired bearer token"):
            await client.backends()


async def test_iam_source_against_the_service_emulation(secured: ServiceProcess) -> None:
    account = Account(
        name="emulated",
        channel="ibm_quantum_platform",
        token="key-123456",
        instance="crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::",
        url=f"{secured.root}/experimental/api/v1",
    )
    source = Source.from_account(account, {"IAM_URL": secured.root})
    assert source.url == f"{secured.root}/experimental/api/v1"
    async with JobClient(source) as client:
        job_id = await client.submit([BELL], "basic_simulator", shots=10)
        assert (await client.job(job_id)).id == job_id
