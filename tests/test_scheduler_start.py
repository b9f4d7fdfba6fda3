"""A job is Running from the moment its worker starts it, not from its hand-over: a worker
still starting (importing Qiskit) keeps it Queued, and its time limit is not spent on that."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from qjob_tui.service.backends import default_backends
from qjob_tui.service.db import Database, JobRow, now_iso
from qjob_tui.service.pool import WorkerGone
from qjob_tui.service.scheduler import Scheduler
from qjob_tui.service.worker import Outcome, Started, Task
from qjob_tui.wire import rest


class HeldPool:
    """A pool whose worker starts its batch only when the test lets it (``go``), or dies."""

    batch_size = 16
    slots = 1

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.die = False
        self.die_after: int | None = None  # the next batch's worker dies after so many jobs
        self.end_after: int | None = None  # the next batch ends after so many (a worker stopped)
        self.room = True
        self.handed: list[str] = []
        self.batches: list[list[str]] = []

    @property
    def has_capacity(self) -> bool:
        return self.room

    def prestart(self, count: int = 1) -> None:
        pass

    async def run(self, task: Task) -> Outcome:
        raise AssertionError("batches only")

    async def run_batch(self, tasks: Sequence[Task]) -> AsyncIterator[Started | Outcome]:
        self.handed += [task.job_id for task in tasks]
        self.batches.append([task.job_id for task in tasks])
        await self.go.wait()
        if self.die:
            raise WorkerGone("the worker process ended with exit code 1 as it started")
        die_after, self.die_after = self.die_after, None
        end_after, self.end_after = self.end_after, None
        for done, task in enumerate(tasks):
            if done == die_after:
                raise WorkerGone("the worker process ended with exit code -9")
            if done == end_after:
                return
            now = time.time()
            yield Started(task.job_id, now)
            yield Outcome(
                ok=True, result="{}", details={}, started=now, ended=now, job_id=task.job_id
            )

    def kill(self, job_id: str) -> bool:
        return False

    def pid(self, job_id: str) -> int | None:
        return None

    def close(self) -> None:
        pass


async def _status(db: Database, job_id: str) -> str:
    row = db.get(job_id, with_params=False)
    assert row is not None
    return row.status


async def _until(db: Database, job_id: str, status: str) -> None:
    async with asyncio.timeout(30):
        while await _status(db, job_id) != status:
            await asyncio.sleep(0.01)


async def _until_handed(pool: HeldPool, job_id: str) -> None:
    """The job was handed to the pool's worker."""
    async with asyncio.timeout(30):
        while job_id not in pool.handed:
            await asyncio.sleep(0.01)


def _row(session_id: str | None = None) -> JobRow:
    params = json.dumps({"pubs": [["OPENQASM 2.0; qreg q[1];"]], "version": 2})
    return JobRow.new("sampler", "basic_simulator", params, shots=1, session_id=session_id)


async def test_a_job_handed_to_a_starting_worker_stays_queued(tmp_path: Path) -> None:
    db = Database(tmp_path / "jobs.sqlite3")
    pool = HeldPool()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    await scheduler.start()
    try:
        row = await scheduler.submit(_row())
        await _until_handed(pool, row.id)  # the worker has it
        assert await _status(db, row.id) == "Queued"
        pool.go.set()  # the worker starts it
        await _until(db, row.id, "Completed")
    finally:
        await scheduler.stop()


async def test_a_worker_that_dies_before_its_first_job_fails_that_job(tmp_path: Path) -> None:
    db = Database(tmp_path / "jobs.sqlite3")
    pool = HeldPool()
    pool.die = True
    pool.go.set()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    await scheduler.start()
    try:
        row = await scheduler.submit(_row())
        await _until(db, row.id, "Failed")  # not queued again, and again
        failed = db.get(row.id, with_params=False)
        assert failed is not None and "exit code 1" in (failed.reason or "")
        assert "died before it began the job" in (failed.reason or "")
    finally:
        await scheduler.stop()


@pytest.mark.parametrize("how", ["dies", "is stopped"])
async def test_a_worker_that_ends_between_jobs_queues_the_rest_again(
    tmp_path: Path, how: str
) -> None:
    # Only a worker that never started a job blames the first: here one ran, so the one that
    # never began is queued again and runs on the next worker. A worker is stopped with its
    # batch when it began a job it was told to skip.
    db = Database(tmp_path / "jobs.sqlite3")
    pool = HeldPool()
    pool.room = False  # both jobs wait, then go to one worker together
    if how == "dies":
        pool.die_after = 1
    else:
        pool.end_after = 1
    pool.go.set()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    await scheduler.start()
    try:
        first = await scheduler.submit(_row())
        second = await scheduler.submit(_row())
        pool.room = True
        scheduler.wake()
        await _until(db, second.id, "Completed")
        assert await _status(db, first.id) == "Completed"
        assert pool.batches == [[first.id, second.id], [second.id]]
    finally:
        await scheduler.stop()


async def test_a_group_cancelled_as_it_began_leaves_the_next_job_alone(tmp_path: Path) -> None:
    # Every job of a group is cancelled as its worker starts it, and the worker is killed for
    # it: the batch's next job, which nobody touched, is queued again, never failed.
    db = Database(tmp_path / "jobs.sqlite3")

    class CancelledGroup(HeldPool):
        async def run_batch(self, tasks: Sequence[Task]) -> AsyncIterator[object]:
            if self.batches:  # the next worker runs what is left
                async for message in super().run_batch(tasks):
                    yield message
                return
            self.batches.append([task.job_id for task in tasks])
            for task in tasks[:2]:
                db.finish(task.job_id, rest.CANCELLED, now_iso(), reason="by the user")
            now = time.time()
            yield (Started(tasks[0].job_id, now), Started(tasks[1].job_id, now))
            raise WorkerGone("the worker process ended with exit code -9")

    pool = CancelledGroup()
    pool.room = False
    pool.go.set()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    await scheduler.start()
    try:
        rows = [await scheduler.submit(_row()) for _ in range(3)]
        pool.room = True
        scheduler.wake()
        await _until(db, rows[2].id, "Completed")
        assert [await _status(db, row.id) for row in rows[:2]] == ["Cancelled", "Cancelled"]
    finally:
        await scheduler.stop()


async def test_a_session_cancelled_as_its_job_begins_stops_that_job(tmp_path: Path) -> None:
    # The session still counts the job queued while its start is being written: the cancel
    # that makes it Cancelled stops its worker too, rather than let it run to its end.
    db = Database(tmp_path / "jobs.sqlite3")

    class Endless(HeldPool):
        killed: list[str]

        async def run_batch(self, tasks: Sequence[Task]) -> AsyncIterator[object]:
            for task in tasks:
                yield Started(task.job_id, time.time())
                await asyncio.Event().wait()  # a device's long job, until its worker is killed

        def kill(self, job_id: str) -> bool:
            self.killed.append(job_id)
            return True

    pool = Endless()
    pool.killed = []
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    session = scheduler.open_session("batch", "basic_simulator", 3600, 600)
    marking = scheduler._started

    async def started(backend: str, job_ids: list[str]) -> list[str]:
        write = asyncio.ensure_future(marking(backend, job_ids))
        await asyncio.sleep(0)  # the start's write is queued; the user cancels now
        await scheduler.cancel_session(session)
        return await write

    scheduler._started = started  # type: ignore[method-assign]
    await scheduler.start()
    try:
        row = await scheduler.submit(_row(session_id=session.id))
        await _until(db, row.id, "Cancelled")
        async with asyncio.timeout(30):
            while row.id not in pool.killed:
                await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()


async def test_queued_estimates_stay_put_while_the_worker_starts(tmp_path: Path) -> None:
    # Anchored on the hand-over while the first job waits for its worker: repeated asks agree,
    # and a poll sees no change that is only the clock's.
    db = Database(tmp_path / "jobs.sqlite3")
    pool = HeldPool()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    await scheduler.start()
    try:
        first = await scheduler.submit(_row())
        await _until_handed(pool, first.id)
        second = await scheduler.submit(_row())
        asked = scheduler.estimate(second)
        await asyncio.sleep(0.05)  # the clock moves; nothing else does
        assert scheduler.estimate(second) == asked and asked.position == 2
        pool.go.set()
        await _until(db, second.id, "Completed")
    finally:
        await scheduler.stop()


async def test_a_job_written_as_its_session_is_cancelled_goes_with_the_session(
    tmp_path: Path,
) -> None:
    # The submit was admitted, and the session cancelled while its row was being written: it
    # ran later in a closed session (14 of 50 rounds of an attacker's race).
    db = Database(tmp_path / "jobs.sqlite3")
    pool = HeldPool()
    pool.go.set()
    scheduler = Scheduler(db, default_backends(0), pool=pool)
    session = scheduler.open_session("dedicated", "basic_simulator", 3600, 600)
    await scheduler.start()
    try:
        row, _ = await asyncio.gather(
            scheduler.submit(_row(session_id=session.id)), scheduler.cancel_session(session)
        )
        await _until(db, row.id, "Cancelled")
        stored = db.get(row.id, with_params=False)
        assert stored is not None and stored.reason == "cancelled with its session"
        assert row.id not in pool.handed
    finally:
        await scheduler.stop()
