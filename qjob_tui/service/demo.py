"""The demo workload: a stream of varied jobs, so that a person watching sees every state.

GHZ and QFT circuits, quantum random bits, jobs that fail for a reason a person can read, long
jobs that make queues form on the slow device, a job that gets cancelled, a few tagged and named,
a batch and a dedicated session.
Circuits are OpenQASM 2 text, the simple form the sampler also accepts. The quantum random number
pipeline measures Hadamards, then, once that job completes, runs the CQC extractor over its bits
(a ``random-extractor`` job with ``raw_job``), both tagged "qrng".
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from qjob_tui.model import ProgramId
from qjob_tui.service.db import JobRow
from qjob_tui.service.scheduler import Scheduler
from qjob_tui.wire import rest

log = logging.getLogger("qjob_tui.service.demo")


def ghz(n: int) -> str:
    lines = ["h q[0];"] + [f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)]
    return _program(n, lines)


def qft(n: int) -> str:
    """A QFT applied to a basis state, measured: a broad distribution, deep circuit."""
    lines = [f"x q[{i}];" for i in range(0, n, 2)]
    for target in range(n):
        lines.append(f"h q[{target}];")
        for control in range(target + 1, n):
            angle = math.pi / 2 ** (control - target)
            lines.append(f"cu1({angle:.12f}) q[{control}],q[{target}];")
    for i in range(n // 2):
        lines.append(f"swap q[{i}],q[{n - 1 - i}];")
    return _program(n, lines)


def random_bits(n: int) -> str:
    """Hadamards measured: each shot gives n fair random bits."""
    return _program(n, [f"h q[{i}];" for i in range(n)])


def _program(n: int, body: list[str]) -> str:
    head = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    return "\n".join([*head, *body, "measure q -> c;", ""])


BROKEN = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nhh q[0];\nmeasure q -> c;\n'


@dataclass(frozen=True)
class DemoJob:
    """One kind of job the demo submits."""

    backend: str
    circuit: Callable[[], str]
    shots: int
    name: str | None = None
    tags: tuple[str, ...] = ()
    cancel_after: float | None = None
    extract: str | None = None  # extractor method to run over the bits once the job completes


def _catalogue(backends: set[str]) -> list[DemoJob]:
    jobs = [
        DemoJob("basic_simulator", lambda: ghz(3), 1024, "GHZ 3", ("demo", "ghz")),
        DemoJob("basic_simulator", lambda: ghz(5), 2048, None, ("ghz",)),
        DemoJob("fake_lima", lambda: random_bits(5), 4000, "random bits", ("qrng",)),
        # 8 x 4096 = 32768 raw bits: ext1 takes n = 32749 and "both" yields ~0.5 Mbit.
        DemoJob(
            "basic_simulator",
            lambda: random_bits(8),
            4096,
            "QRNG raw bits",
            ("demo", "qrng"),
            extract="both",
        ),
        DemoJob("fake_perth", lambda: qft(5), 3000, "QFT 5", ("demo", "qft")),
        DemoJob("fake_perth", lambda: ghz(7), 4000),
        DemoJob("basic_simulator", lambda: BROKEN, 100, "typo in circuit", ("demo",)),
        DemoJob("basic_simulator", lambda: ghz(26), 100, "too wide for the simulator"),
        DemoJob("fake_cairo", lambda: qft(6), 12_000, "long QFT", ("demo", "long")),
        DemoJob("fake_cairo", lambda: ghz(12), 6000, None, ("long",)),
        # Perth: Lima takes at most 8,192 shots, as the real device did.
        DemoJob("fake_perth", lambda: random_bits(3), 20_000, "to be cancelled", (), 4.0),
    ]
    if "aer_simulator" in backends:
        jobs.append(DemoJob("aer_simulator", lambda: qft(10), 8192, "QFT 10 on Aer", ("aer",)))
    return [job for job in jobs if job.backend in backends]


async def submit_demo_job(
    scheduler: Scheduler, job: DemoJob, session_id: str | None = None
) -> JobRow:
    params = {"pubs": [[job.circuit(), None, job.shots]], "version": 2}
    row = JobRow.new(
        ProgramId.SAMPLER,
        job.backend,
        json.dumps(params),
        shots=job.shots,
        tags=list(job.tags),
        name=job.name,
        caller="qjob-tui-demo",
        session_id=session_id,
    )
    return await scheduler.submit(row)


async def _wait_final(scheduler: Scheduler, row: JobRow, poll: float = 0.5) -> None:
    while True:
        current = await asyncio.to_thread(scheduler.db.get, row.id, with_params=False)
        if current is None or current.status in rest.FINAL:
            return
        await asyncio.sleep(poll)


async def run_sessions(scheduler: Scheduler) -> None:
    """A batch of three jobs and a dedicated session of two steps, each closed when done."""
    if "fake_perth" in scheduler.backends:
        batch = scheduler.open_session("batch", "fake_perth", 600, 60)
        for i in range(3):
            job = DemoJob("fake_perth", lambda: ghz(4), 1500, f"batch GHZ {i + 1}", ("batch",))
            await submit_demo_job(scheduler, job, batch.id)
        scheduler.close_session(batch)  # its jobs still run; then it closes
    if "fake_lima" in scheduler.backends:
        session = scheduler.open_session("dedicated", "fake_lima", 600, 15)
        for step in (1, 2):
            job = DemoJob("fake_lima", lambda: random_bits(4), 2000, f"session step {step}")
            await _wait_final(scheduler, await submit_demo_job(scheduler, job, session.id))
        scheduler.close_session(session)


async def extract_when_done(
    scheduler: Scheduler,
    row: JobRow,
    method: str,
    *,
    poll: float = 0.5,
    timeout: float = 600.0,
) -> JobRow | None:
    """Submit an extractor job over a sampler job's bits once it completes; None if it never does.

    This is the second half of the QRNG pipeline: the raw bits stay in the sampler job, the
    extractor job names it as ``raw_job`` and the service reads them when it starts.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await asyncio.sleep(poll)
        current = await asyncio.to_thread(scheduler.db.get, row.id, with_params=False)
        if current is None or current.status in (rest.CANCELLED, rest.FAILED):
            return None
        if current.status == rest.COMPLETED:
            break
        if asyncio.get_running_loop().time() > deadline:
            return None
    params = {"method": method, "raw_job": row.id}
    extractor = JobRow.new(
        ProgramId.RANDOM_EXTRACTOR,
        row.backend,
        json.dumps(params),
        tags=list(row.tags),
        name="QRNG extracted bits",
        caller="qjob-tui-demo",
    )
    return await scheduler.submit(extractor)


async def _cancel_later(scheduler: Scheduler, row: JobRow, delay: float) -> None:
    await asyncio.sleep(delay)
    await scheduler.cancel(row)


async def run_demo(scheduler: Scheduler, *, pace: float = 5.0, seed: int | None = None) -> None:
    """Submit the whole catalogue once, then a random job every ``pace`` seconds or so."""
    rng = random.Random(seed)
    catalogue = _catalogue(set(scheduler.backends))
    pending: set[asyncio.Task[object]] = set()

    async def submit(job: DemoJob) -> None:
        if scheduler.queue_length(job.backend) >= 6:
            return  # keep queues readable, as a real user would stop submitting
        row = await submit_demo_job(scheduler, job)
        follow_up: Coroutine[Any, Any, object] | None = None
        if job.cancel_after is not None:
            follow_up = _cancel_later(scheduler, row, job.cancel_after)
        elif job.extract is not None:
            follow_up = extract_when_done(scheduler, row, job.extract)
        if follow_up is not None:
            task = asyncio.create_task(follow_up)
            pending.add(task)
            task.add_done_callback(pending.discard)

    try:
        sessions = asyncio.create_task(run_sessions(scheduler), name="demo-sessions")
        pending.add(sessions)
        sessions.add_done_callback(pending.discard)
        for job in catalogue:
            await submit(job)
            await asyncio.sleep(0.3)
        while True:
            await asyncio.sleep(pace * rng.uniform(0.5, 1.5))
            await submit(rng.choice(catalogue))
    except asyncio.CancelledError:
        for task in pending:
            task.cancel()
        raise
    except Exception:
        log.exception("the demo workload stopped")
