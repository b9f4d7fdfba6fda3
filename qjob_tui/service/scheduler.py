"""The service's job queue: each backend runs its jobs in order of arrival.

Like a QPU, a backend takes the oldest queued job when it is free. Jobs run in worker processes
(``pool``), handed over a few at a time (a batch of the backend's next jobs, run in order: one
at a time on a device, as a group that starts together on a simulator); the scheduler only moves
jobs between states, records timestamps and estimates
queue positions from each backend's recent history. Its writes go through a ``GroupWriter``, so
the ones that arrive together share one transaction. After a crash, jobs that were running are
put back in the queue at start-up, ahead of newer ones, with a line in their log that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from dateutil.parser import isoparse

from qjob_tui.model import ProgramId
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.db import (
    Database,
    JobRow,
    iso,
    now_iso,
    write_finish,
    write_forget_params,
    write_insert,
    write_mark_running,
    write_requeue,
)
from qjob_tui.service.errors import CODE_EXECUTION_FAILED, CODE_OUT_OF_MEMORY
from qjob_tui.service.ids import new_id
from qjob_tui.service.limits import JobLimits, mebibytes, resident_bytes
from qjob_tui.service.pool import WorkerGone, WorkerLost, WorkerPool
from qjob_tui.service.pools import JobPool, batch_size, has_room, run_batch
from qjob_tui.service.programs.raw_job import RawJob
from qjob_tui.service.session_table import SessionTable
from qjob_tui.service.sessions import Session, SessionBook
from qjob_tui.service.worker import Outcome, Started, Task, out_of_memory
from qjob_tui.service.writes import GroupWriter
from qjob_tui.wire import rest
from qjob_tui.wire.rest import REASON_RAN_TOO_LONG

log = logging.getLogger("qjob_tui.service")
T = TypeVar("T")

# Programs whose params may name another job (``raw_job``) whose result is their input.
READS_RAW_JOB = frozenset({ProgramId.RANDOM_EXTRACTOR})
# A batch holds jobs expected to take this long in all, at most (its first job: any length).
BATCH_SECONDS = 0.5
# How often a running job's time and its worker's memory are looked at.
SUPERVISE_INTERVAL = 0.1


def new_job_id() -> str:
    """A 20-character id in the style of IBM Quantum job ids."""
    return new_id("d")


@dataclass(frozen=True)
class QueueEstimate:
    """A queued job's place and the service's guess of when it starts and ends."""

    position: int | None
    estimated_start: datetime | None
    estimated_completion: datetime | None


class Scheduler:
    """Queues per backend, a pool of workers, and the transitions of every job."""

    def __init__(
        self,
        db: Database,
        backends: dict[str, BackendSpec],
        workers: int = 2,
        limits: JobLimits | None = None,
        pool: JobPool | None = None,
        warm_workers: int = 0,
    ) -> None:
        self.db = db
        self.warm_workers = warm_workers
        self.backends = backends
        self.limits = limits or JobLimits()
        self.pool: JobPool = (
            pool if pool is not None else WorkerPool(workers, self.limits.memory_limit_bytes)
        )
        self._lost: set[str] = set()  # jobs re-queued once because their worker was lost
        # The scheduler's own threads for its database work: list queries fill the default
        # executor under load, and a job's transitions must never queue behind them.
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qjob-scheduler")
        self.writer = GroupWriter(db, self._executor)
        self._queues: dict[str, deque[str]] = {name: deque() for name in backends}
        # Jobs handed to a worker in a batch and not started yet, per backend, in order.
        self._handed: dict[str, list[str]] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}  # backend -> its batch's coroutine
        self._shots: dict[str, int] = {}
        self._programs: dict[str, str] = {}
        # backend -> (job id, since): the job it runs, or its batch's first from the hand-over
        # while the worker starts (queued jobs' estimates stay put, not moving with the clock)
        self._running: dict[str, tuple[str, datetime]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._durations: dict[str, float] = {}
        self._arrival: dict[str, int] = {}  # job id -> seq, the order of arrival
        self.sessions = SessionBook()
        self._session_table = SessionTable(db)
        self._session_of: dict[str, str] = {}  # job id -> session id, for pending jobs
        self._saves: set[asyncio.Task[None]] = set()
        self._save_lock = asyncio.Lock()
        self._stopping = False

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Recover what a previous run left, then start dispatching."""
        self.sessions.load(await self._blocking(self._session_table.load))
        pending = await self._blocking(self.db.pending)
        at = now_iso()
        for row in pending:
            if row.backend not in self._queues:
                await self._blocking(
                    self.db.finish,
                    row.id,
                    rest.FAILED,
                    at,
                    reason=f"backend {row.backend!r} is no longer offered by this service",
                    reason_code=CODE_EXECUTION_FAILED,
                    reason_solution="Submit the job again to one of the listed backends.",
                )
                continue
            if row.status == rest.RUNNING:
                await self._blocking(
                    self.db.requeue,
                    row.id,
                    at,
                    "re-queued: the service stopped while this job was running",
                )
            self._enqueue(row)
        for name in self.backends:
            self._durations[name] = await self._blocking(self._mean_overhead, name)
        warm = max(self.warm_workers, 1 if any(self._queues.values()) else 0)
        if warm:
            self.pool.prestart(warm)
        self._loop_task = asyncio.create_task(self._dispatch_loop(), name="scheduler")

    async def stop(self) -> None:
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        # Running jobs stay "Running" on disk and are re-queued at the next start.
        for task in list(self._tasks):
            task.cancel()
        self.pool.close()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.writer.drain()
        self._save_sessions()
        for save in list(self._saves):
            with contextlib.suppress(Exception):
                await save
        self._executor.shutdown(wait=False)

    async def _blocking(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking work (SQLite) in the scheduler's own threads."""
        loop = asyncio.get_running_loop()
        call = functools.partial(function, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    # --- jobs ----------------------------------------------------------------------------

    async def submit(self, row: JobRow) -> JobRow:
        """Store a new job and queue it on its backend."""
        row.id = new_job_id()
        row.status = rest.QUEUED
        row.details.setdefault("cost", self.limits.default_seconds)  # as shown and enforced
        row.created = row.queued = now_iso()
        row.log = f"{row.created} queued on {row.backend}\n"
        spec = self.backends[row.backend]
        row.estimated_seconds = round(self._expected(spec, row.shots), 3)
        await self.writer.write(lambda conn: write_insert(conn, [row]), retry=False)
        late = self.sessions.refuses_late(row.session_id)
        if late is not None:
            # Its session was cancelled (or closed) while this job was being written: admitted
            # before that, it goes as the session's queued jobs went, never runs in it later.
            await self._cancel_queued(row.backend, row.id, late)
            return row
        self._enqueue(row)
        self._wake.set()
        return row

    async def cancel(self, row: JobRow) -> bool:
        """Cancel a queued or running job; False if it was already final."""
        at = now_iso()
        reason = "cancelled by the user"
        done = await self.writer.write(
            lambda conn: write_finish(conn, row.id, rest.CANCELLED, at, reason=reason),
            retry=False,
        )
        if not done:
            return False
        if row.private:
            await self.writer.write(lambda conn: write_forget_params(conn, row.id))
        self._unqueue(row.backend, row.id)
        self.pool.kill(row.id)
        self._wake.set()
        return True

    def wake(self) -> None:
        """Look at the queues again: the pool has room now (a cluster's worker came back)."""
        self._wake.set()

    def _unqueue(self, backend: str, job_id: str) -> None:
        """Take a cancelled job out of its queue, or out of the batch its worker holds (the
        worker skips it); a running one is left to ``_lane``."""
        queue = self._queues.get(backend)
        handed = self._handed.get(backend)
        if queue is not None and job_id in queue:
            queue.remove(job_id)
        elif handed is not None and job_id in handed:
            handed.remove(job_id)
            self.pool.kill(job_id)
        else:
            return
        self._shots.pop(job_id, None)
        self._arrival.pop(job_id, None)
        self._programs.pop(job_id, None)
        session_id = self._session_of.pop(job_id, None)
        self.sessions.job_ended(session_id, job_id, datetime.now(UTC), ran=False)

    def _waiting(self, backend: str) -> list[str]:
        """The backend's jobs not started yet, in the order they run: its batch, then its queue."""
        return [*self._handed.get(backend, ()), *self._queues.get(backend, ())]

    def waiting(self, backend: str) -> list[str]:
        """``_waiting`` for the change feed, which pushes the places that moved."""
        return self._waiting(backend)

    def _enqueue(self, row: JobRow) -> None:
        self._queues[row.backend].append(row.id)
        self._programs[row.id] = row.program
        self._shots[row.id] = row.shots
        self._arrival[row.id] = row.seq
        if row.session_id is not None:
            self._session_of[row.id] = row.session_id
            self.sessions.job_queued(row.session_id, row.id, row.backend)

    # --- sessions ------------------------------------------------------------------------

    def open_session(
        self,
        mode: str,
        backend: str | None,
        max_ttl: int,
        interactive_ttl: int,
        user_id: str = "local-user",
    ) -> Session:
        session = self.sessions.create(mode, backend, max_ttl, interactive_ttl, datetime.now(UTC))
        session.user_id = user_id
        self._wake.set()
        return session

    def close_session(self, session: Session) -> None:
        """Accept no new jobs; the session closes once its jobs are done."""
        self.sessions.close(session, datetime.now(UTC))
        self._wake.set()

    async def cancel_session(self, session: Session) -> None:
        """Accept no new jobs and cancel the queued ones; a running job finishes."""
        backend = session.backend or ""
        for job_id in self.sessions.cancel(session, datetime.now(UTC)):
            await self._cancel_queued(backend, job_id, "cancelled with its session")
        self._wake.set()

    async def _cancel_queued(self, backend: str, job_id: str, reason: str) -> None:
        at = now_iso()
        await self.writer.write(
            lambda conn: write_finish(conn, job_id, rest.CANCELLED, at, reason=reason)
        )
        self._unqueue(backend, job_id)
        # Its worker may have begun it meanwhile (the session still counted it queued).
        self.pool.kill(job_id)

    async def _expire_sessions(self) -> None:
        for job_id in self.sessions.expire(datetime.now(UTC)):
            backend = next((b for b in self._queues if job_id in self._waiting(b)), "")
            await self._cancel_queued(backend, job_id, "its session's max TTL ran out")

    def _save_sessions(self) -> None:
        """Write the changed sessions in the background, one write after the other."""
        if not self.sessions.dirty:
            return
        records = []
        for session_id in sorted(self.sessions.dirty):
            session = self.sessions.get(session_id)
            if session is not None:
                records.append(session.to_record())
        self.sessions.dirty.clear()

        async def save() -> None:
            async with self._save_lock:
                try:
                    await asyncio.to_thread(self._session_table.save, records)
                except Exception:
                    log.exception("sessions could not be saved")

        task = asyncio.create_task(save(), name="save-sessions")
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)

    def queue_length(self, backend: str) -> int:
        return len(self._queues.get(backend, ())) + len(self._handed.get(backend, ()))

    def estimate(self, row: JobRow) -> QueueEstimate:
        """Position and times for a queued job, as IBM's old queue_info() gave them."""
        if row.status != rest.QUEUED:
            return QueueEstimate(None, None, None)
        queue = self._waiting(row.backend)
        if row.id not in queue:
            return QueueEstimate(None, None, None)
        spec = self.backends[row.backend]
        # Anchored on the running job's start, not on "now", so that repeated asks agree.
        free_at = datetime.now(UTC)
        running = self._running.get(row.backend)
        if running is not None:
            job_id, started = running
            if job_id in queue:
                free_at = started  # handed over, its worker starting: as if it began then
            else:
                expected = timedelta(seconds=self._expected(spec, self._shots.get(job_id, 0)))
                free_at = max(free_at, started + expected)
        position = 1
        wait = 0.0
        for job_id in queue:
            if job_id == row.id:
                break
            position += 1
            wait += self._expected(spec, self._shots.get(job_id, 0))
        start = free_at + timedelta(seconds=wait)
        end = start + timedelta(seconds=self._expected(spec, row.shots))
        return QueueEstimate(position, start, end)

    # --- dispatch ------------------------------------------------------------------------

    def _expected(self, spec: BackendSpec, shots: int) -> float:
        return shots * spec.shot_latency + self._durations.get(spec.name, 0.05)

    def _mean_overhead(self, backend: str) -> float:
        """Mean time a recent job spent beyond its shots' latency: the backend's overhead."""
        spec = self.backends[backend]
        samples = []
        for running, finished, shots in self.db.recent_runs(backend):
            took = (isoparse(finished) - isoparse(running)).total_seconds()
            samples.append(max(took - shots * spec.shot_latency, 0.0))
        return sum(samples) / len(samples) if samples else 0.05

    async def _dispatch_loop(self) -> None:
        while True:
            try:
                await self._expire_sessions()
            except Exception:  # never let a session stop the queue
                log.exception("session time-outs could not be applied")
            self._dispatch()
            self._save_sessions()
            self._wake.clear()
            deadline = self.sessions.next_deadline()
            timeout = None
            if deadline is not None:
                timeout = max((deadline - datetime.now(UTC)).total_seconds(), 0.0) + 0.01
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _dispatch(self) -> None:
        """Hand the oldest queued jobs of every free backend to a worker, while workers are free."""
        while has_room(self.pool, len(self._lanes)):
            heads = []
            for name, queue in self._queues.items():
                if queue and name not in self._lanes:
                    # A dedicated session may hold the backend for its own next job.
                    head = self.sessions.choose(name, queue, self._session_of)
                    if head is not None:
                        heads.append((head, name))
            if not heads:
                return
            # Oldest job first across backends: ids are random, so order by arrival time.
            job_id, name = min(heads, key=lambda head: self._arrival.get(head[0], 0))
            self._handed[name] = self._take_batch(name, job_id)
            task = asyncio.create_task(self._lane(name), name=f"lane-{name}")
            self._lanes[name] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_batch(self, backend: str, head: str) -> list[str]:
        """The head and the plain jobs right behind it: no session's job (its session decides
        when it may run) and no job that reads another job when it starts (``raw_job``)."""
        queue = self._queues[backend]
        queue.remove(head)
        batch = [head]
        if not self._batchable(head):
            return batch
        size = batch_size(self.pool)
        spec = self.backends[backend]
        expected = self._expected(spec, self._shots.get(head, 0))
        while queue and len(batch) < size and self._batchable(queue[0]):
            # Long jobs go one at a time, so that a batch never holds a worker for long
            # while other backends wait for one.
            expected += self._expected(spec, self._shots.get(queue[0], 0))
            if expected > BATCH_SECONDS:
                break
            batch.append(queue.popleft())
        return batch

    def _batchable(self, job_id: str) -> bool:
        return job_id not in self._session_of and self._programs.get(job_id) not in READS_RAW_JOB

    def _seconds(self, row: JobRow) -> float:
        cost = row.details.get("cost")
        return cost if isinstance(cost, int) and cost > 0 else self.limits.default_seconds

    async def _tasks_of(self, backend: str) -> tuple[list[Task], dict[str, JobRow]]:
        """The batch's tasks, read in one go; jobs cancelled or deleted since they were
        handed over drop out."""
        spec = self.backends[backend]
        handed = self._handed[backend]
        ids = list(handed)
        loaded = await self._blocking(self.db.tasks, ids)
        tasks: list[Task] = []
        rows: dict[str, JobRow] = {}
        for job_id in ids:
            found = loaded.get(job_id)
            if found is None or found[0].status != rest.QUEUED:
                if job_id in handed:
                    handed.remove(job_id)
                    self._forget(job_id)
                continue
            row, params = found
            raw_job = None
            if row.program in READS_RAW_JOB:
                raw_job = await self._blocking(self._read_raw_job, params)
            task = Task(
                job_id=job_id, program=row.program, params=params, backend=spec, raw_job=raw_job
            )
            tasks.append(task)
            rows[job_id] = row
        kept = [task for task in tasks if task.job_id in handed]
        return kept, rows

    async def _lane(self, backend: str) -> None:
        """Run one batch on one worker: record each job's start and end as the worker says.

        Every job of the batch, its first included, is Running from its worker's ``Started``
        on: a worker that is still starting (importing Qiskit) keeps it Queued, and its time
        limit is not spent on that. Jobs the worker runs as a group start together, in one
        write.
        """
        handed = self._handed[backend]
        records: list[asyncio.Future[Any]] = []
        running: dict[str, JobRow] = {}  # the jobs running now, in the order they started
        supervisors: dict[str, asyncio.Task[None]] = {}

        def supervise(row: JobRow) -> None:
            running[row.id] = row
            supervisors[row.id] = asyncio.create_task(self._supervise(row.id, self._seconds(row)))

        def over(job_id: str, charged: float = 0.0) -> None:
            running.pop(job_id, None)
            supervisor = supervisors.pop(job_id, None)
            if supervisor is not None:
                supervisor.cancel()
            self._job_over(backend, job_id, charged)

        try:
            tasks, rows = await self._tasks_of(backend)
            if not tasks:
                return
            self._running[backend] = (tasks[0].job_id, datetime.now(UTC))
            batch = run_batch(self.pool, tasks)
            began = False  # whether the worker started any job of the batch
            try:
                async for message in batch:
                    if isinstance(message, Started | tuple):
                        began = True
                        group = [
                            s.job_id for s in (message if isinstance(message, tuple) else [message])
                        ]
                        for job_id in [j for j in running if j not in group]:
                            over(job_id)  # it was skipped (cancelled) before it began
                        new = [job_id for job_id in group if job_id not in running]
                        for job_id in new:
                            if job_id in handed:
                                handed.remove(job_id)
                        marked = await self._started(backend, new) if new else []
                        stopped = False
                        for job_id in new:
                            if job_id in marked:
                                supervise(rows[job_id])
                            else:
                                self.pool.kill(job_id)  # cancelled or deleted as it began
                                self._job_over(backend, job_id)
                                stopped = len(group) == 1  # its worker was killed
                        if stopped:
                            break
                    elif isinstance(message, Outcome) and message.job_id in running:
                        row = running[message.job_id]
                        records.append(self._record(row, message))
                        over(row.id, message.charged)
            except WorkerLost as exc:
                if running:
                    self._return_handed(backend)
                    for row in reversed(list(running.values())):
                        if await self._requeue_lost(row, str(exc)):
                            # Queued again, not over: it keeps its place and its session.
                            running.pop(row.id)
                            supervisor = supervisors.pop(row.id, None)
                            if supervisor is not None:
                                supervisor.cancel()
                            self._running.pop(backend, None)
                        else:
                            records.append(self._record(row, _lost_twice(exc)))
            except WorkerGone as exc:
                if not began and handed and handed[0] in rows:
                    # It died before it began any job (a memory limit too small for Qiskit's
                    # import): the first fails in its words, rather than queue again forever.
                    head = handed.pop(0)
                    records.append(self._record(rows[head], _died(exc, began=False)))
                    self._job_over(backend, head)
                for row in running.values():
                    records.append(self._record(row, _died(exc)))
            finally:
                await batch.aclose()
            for job_id in list(running):
                over(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one job stop the queue
            log.exception("a batch on %s could not be recorded", backend)
        finally:
            for supervisor in supervisors.values():
                supervisor.cancel()
            for job_id in list(running):
                self._job_over(backend, job_id)
            self._return_handed(backend)
            self._handed.pop(backend, None)
            if records and not self._stopping:
                await asyncio.gather(*records, return_exceptions=True)
            self._running.pop(backend, None)
            self._lanes.pop(backend, None)
            self._wake.set()

    async def _started(self, backend: str, job_ids: list[str]) -> list[str]:
        """The jobs begin: they are Running, on disk as well, in one write; the ones that were
        final already (cancelled or deleted meanwhile) are left out of the answer."""
        now = datetime.now(UTC)
        self._running[backend] = (job_ids[-1], now)
        at = iso(now)

        def mark(conn: Any) -> list[str]:
            return [job_id for job_id in job_ids if write_mark_running(conn, job_id, at)]

        began = await self.writer.write(mark)
        for job_id in began:
            session_id = self._session_of.get(job_id)
            if session_id is not None:
                self.sessions.job_started(session_id, job_id, now)
                self._wake.set()  # the session's max TTL runs from now: the loop's next deadline
        return began

    def _return_handed(self, backend: str) -> None:
        """Jobs of a batch that never started go back to the head of their queue, in order."""
        handed = self._handed.get(backend)
        if not handed or self._stopping:
            return
        self._queues[backend].extendleft(reversed(handed))
        handed.clear()

    def _forget(self, job_id: str) -> None:
        self._shots.pop(job_id, None)
        self._arrival.pop(job_id, None)
        self._programs.pop(job_id, None)
        self._lost.discard(job_id)

    def _job_over(self, backend: str, job_id: str, charged: float = 0.0) -> None:
        """The job left its backend: its worker answered, died, or the job was stopped."""
        running = self._running.get(backend)
        if running is not None and running[0] == job_id:
            self._running.pop(backend, None)
        self._forget(job_id)
        session_id = self._session_of.pop(job_id, None)
        if not self._stopping:  # a job stopped with the service is re-queued, not ended
            now = datetime.now(UTC)
            self.sessions.job_ended(session_id, job_id, now, ran=True, charged=charged)
        self._wake.set()

    async def _requeue_lost(self, row: JobRow, reason: str) -> bool:
        """Put a job whose worker was lost back at the head of its queue, once."""
        if row.id in self._lost:
            return False
        note = f"re-queued: the worker running this job was lost ({reason})"
        at = now_iso()
        if not await self.writer.write(lambda conn: write_requeue(conn, row.id, at, note)):
            return False  # cancelled or deleted meanwhile: recording the failure is a no-op
        self._lost.add(row.id)
        self._queues[row.backend].appendleft(row.id)
        return True

    async def _supervise(self, job_id: str, seconds: float) -> None:
        """End the job when it runs past its ``cost`` or its worker past the memory limit."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        memory = self.limits.memory_limit_bytes
        while True:
            await asyncio.sleep(min(SUPERVISE_INTERVAL, max(deadline - loop.time(), 0.0)))
            if loop.time() >= deadline:
                await self._end(
                    job_id,
                    rest.CANCELLED,
                    reason=f"ran longer than its maximum execution time of {seconds:g} s",
                    code=REASON_RAN_TOO_LONG,
                    charged=seconds,
                    solution="Submit it again with a larger max_execution_time (the job's cost),"
                    " up to this service's limit, or make the job smaller.",
                )
                return
            pid = self.pool.pid(job_id)
            used = resident_bytes(pid) if pid is not None and memory is not None else None
            if used is not None and memory is not None and used > memory:
                outcome = out_of_memory(memory)
                await self._end(
                    job_id,
                    rest.FAILED,
                    reason=f"{outcome.message} (its worker used {mebibytes(used)})",
                    code=CODE_OUT_OF_MEMORY,
                    solution=outcome.solution,
                )
                return

    async def _end(
        self,
        job_id: str,
        status: str,
        *,
        reason: str,
        code: int,
        solution: str | None,
        charged: float = 0.0,
    ) -> None:
        """Record a limit's verdict, then kill the worker: the queue behind the job moves on."""
        at = now_iso()
        await self.writer.write(
            lambda conn: write_finish(
                conn,
                job_id,
                status,
                at,
                reason=reason,
                reason_code=code,
                reason_solution=solution,
                quantum_seconds=round(charged, 6),
            )
        )
        self.pool.kill(job_id)

    def _read_raw_job(self, params: str) -> RawJob | None:
        """The job named by ``params.raw_job`` with its result, read for the worker (blocking).

        Read at dispatch time, so the extractor sees the job as it is when it starts; the
        worker judges what it finds (unknown, unfinished, not a sampler) and says so.
        """
        try:
            body = json.loads(params)
        except ValueError:
            return None  # the worker reports the params themselves
        job_id = body.get("raw_job") if isinstance(body, dict) else None
        if not isinstance(job_id, str):
            return None
        row = self.db.get(job_id, with_params=False)
        if row is None:
            return RawJob(job_id=job_id, status=None)
        result = self.db.result(job_id) if row.status == rest.COMPLETED else None
        return RawJob(job_id=job_id, status=row.status, program=row.program, result=result)

    def _record(self, row: JobRow, outcome: Outcome) -> asyncio.Future[bool]:
        """Queue the outcome's writes now, in order with the writes that follow (the next
        job's start); the future resolves once they are committed."""
        at = now_iso()
        if row.private:
            self.writer.write(lambda conn: write_forget_params(conn, row.id))
        if not outcome.ok:
            return self.writer.write(
                lambda conn: write_finish(
                    conn,
                    row.id,
                    rest.FAILED,
                    at,
                    reason=outcome.message,
                    reason_code=outcome.code,
                    reason_solution=outcome.solution,
                    quantum_seconds=0.0,
                )
            )
        charged = outcome.charged
        done = self.writer.write(
            lambda conn: write_finish(
                conn,
                row.id,
                rest.COMPLETED,
                at,
                quantum_seconds=round(charged, 6),
                result=outcome.result,
                details=outcome.details,
            )
        )

        def learn(future: asyncio.Future[bool]) -> None:
            if future.cancelled() or future.exception() is not None or not future.result():
                return
            spec = self.backends[row.backend]
            overhead = max(charged - row.shots * spec.shot_latency, 0.0)
            previous = self._durations.get(row.backend, overhead)
            self._durations[row.backend] = 0.8 * previous + 0.2 * overhead

        done.add_done_callback(learn)
        return done


def _died(exc: Exception, *, began: bool = True) -> Outcome:
    """A job's failure as its worker process died: running it, or before it began it (still
    starting: importing Qiskit within a memory limit too small, or killed)."""
    if began:
        message = f"the worker process running the job died ({exc})"
    else:
        message = f"the worker process given the job died before it began the job ({exc})"
    return Outcome(
        ok=False,
        code=CODE_EXECUTION_FAILED,
        message=message,
        solution="Submit the job again; if it fails again, reduce its size.",
    )


def _lost_twice(exc: Exception) -> Outcome:
    return Outcome(
        ok=False,
        code=CODE_EXECUTION_FAILED,
        message=f"the worker running the job was lost twice; last time: {exc}",
        solution="The job was re-queued once already; check the cluster's workers.",
    )
