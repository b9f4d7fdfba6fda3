"""Helpers of the convergence tests: a finite workload and the server's truth to compare with."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import JobStatus
from tests.fault_proxy import FaultProxy
from tests.http_helpers import BELL

BROKEN = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nhh q[0];\n'
# Retries kept short so that a test sees many faults reach the store, as a long outage would.
SHORT_RETRIES = RetryPolicy(max_tries=1, backoff=0.05, max_backoff=0.2, max_wait=0.5)


def faulty(upstream: str, *, seed: int = 9, max_faults: int = 400) -> FaultProxy:
    """A proxy faulting 30 % of requests, with delays short enough for a test."""
    return FaultProxy(
        upstream, seed=seed, rate=0.3, delay=(0.2, 1.5), retry_after=(1, 2), max_faults=max_faults
    ).start()


async def run_workload(url: str, jobs: int = 24, pace: float = 0.15) -> list[str]:
    """Submit ``jobs`` jobs straight to the service (done, failed, cancelled ones); wait until
    every one is final there. Returns their ids."""
    ids: list[str] = []
    async with JobClient(Source.local(url)) as client:
        for i in range(jobs):
            if i % 6 == 5:
                ids.append(await client.submit([BROKEN], "basic_simulator", shots=10))
            elif i % 4 == 3:
                job_id = await client.submit([BELL], "fake_cairo", shots=100_000)
                ids.append(job_id)
                await asyncio.sleep(pace)
                await client.cancel(job_id)
            else:
                backend = "fake_lima" if i % 2 else "basic_simulator"
                ids.append(await client.submit([BELL], backend, shots=200, tags=[f"w{i}"]))
            await asyncio.sleep(pace)
        for job_id in ids:
            while not (await client.job(job_id)).status.is_final:
                await asyncio.sleep(0.1)
    return ids


async def server_state(url: str) -> dict[str, JobStatus]:
    """Every job the server has, by id, with its status: the truth."""
    async with JobClient(Source.local(url)) as client:
        return {job.id: job.status async for job in client.iter_jobs()}


async def until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition never met")
        await asyncio.sleep(0.05)
