"""The service's job queue: each backend runs one job at a time, in order of arrival.

Like a QPU, a backend takes the oldest queued job when it is free. Jobs run in worker processes
(``pool``); the scheduler only moves jobs between states, records timestamps and estimates queue
positions from each backend's recent history. After a crash, jobs that were running are put back
in the queue at start-up, ahead of newer ones, with a line in their log that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import string
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from dateutil.parser import isoparse

from qjob_tui.model import REASON_RAN_TOO_LONG, ProgramId
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.db import Database, JobRow, iso, now_iso
from qjob_tui.service.errors import CODE_EXECUTION_FAILED, CODE_OUT_OF_MEMORY
from qjob_tui.service.limits import JobLimits, mebibytes, resident_bytes
from qjob_tui.service.pool import WorkerGone, WorkerLost, WorkerPool
from qjob_tui.service.pools import JobPool, has_room
from qjob_tui.service.programs.raw_job import RawJob
from qjob_tui.service.session_table import SessionTable
from qjob_tui.service.sessions import Session, SessionBook
from qjob_tui.service.worker import Outcome, Task, out_of_memory

log = logging.getLogger("qjob_tui.service")
T = TypeVar("T")

_ID_ALPHABET = string.ascii_lowercase + string.digits

# Programs whose params may name another job (``raw_job``) whose result is their input.
READS_RAW_JOB = frozenset({ProgramId.RANDOM_EXTRACTOR})
# How often a running job's time and its worker's memory are looked at.
SUPERVISE_INTERVAL = 0.1


def new_job_id() -> str:
    """A 20-character id in the style of IBM Quantum job ids."""
    return "d" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(19))


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
    ) -> None:
        self.db = db
        self.backends = backends
        self.limits = limits or JobLimits()
        self.pool: JobPool = (
            pool if pool is not None else WorkerPool(workers, self.limits.memory_limit_bytes)
        )
        self._lost: set[str] = set()  # jobs re-queued once because their worker was lost
        # The scheduler's own threads for its database work: list queries fill the default
        # executor under load, and a job's transitions must never queue behind them.
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qjob-scheduler")
        self._queues: dict[str, deque[str]] = {name: deque() for name in backends}
        self._shots: dict[str, int] = {}
        self._running: dict[str, tuple[str, datetime]] = {}  # backend -> (job id, started)
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
                    "Failed",
                    at,
                    reason=f"backend {row.backend!r} is no longer offered by this service",
                    reason_code=CODE_EXECUTION_FAILED,
                    reason_solution="Submit the job again to one of the listed backends.",
                )
                continue
            if row.status == "Running":
                await self._blocking(
                    self.db.requeue,
                    row.id,
                    at,
                    "re-queued: the service stopped while this job was running",
                )
            self._enqueue(row)
        for name in self.backends:
            self._durations[name] = await self._blocking(self._mean_overhead, name)
        if any(self._queues.values()):
            self.pool.prestart(1)
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
        row.status = "Queued"
        row.details.setdefault("cost", self.limits.default_seconds)  # as shown and enforced
        row.created = row.queued = now_iso()
        row.log = f"{row.created} queued on {row.backend}\n"
        spec = self.backends[row.backend]
        row.estimated_seconds = round(self._expected(spec, row.shots), 3)
        await self._blocking(self.db.insert, row)
        self._enqueue(row)
        self._wake.set()
        return row

    async def cancel(self, row: JobRow) -> bool:
        """Cancel a queued or running job; False if it was already final."""
        done = await self._blocking(
            self.db.finish, row.id, "Cancelled", now_iso(), reason="cancelled by the user"
        )
        if not done:
            return False
        if row.private:
            await self._blocking(self.db.forget_params, row.id)
        self._unqueue(row.backend, row.id)
        self.pool.kill(row.id)
        self._wake.set()
        return True

    def wake(self) -> None:
        """Look at the queues again: the pool has room now (a cluster's worker came back)."""
        self._wake.set()

    def _unqueue(self, backend: str, job_id: str) -> None:
        """Take a cancelled job out of its queue (a running one is left to ``_run``)."""
        queue = self._queues.get(backend)
        if queue is not None and job_id in queue:
            queue.remove(job_id)
            self._shots.pop(job_id, None)
            self._arrival.pop(job_id, None)
            session_id = self._session_of.pop(job_id, None)
            self.sessions.job_ended(session_id, job_id, datetime.now(UTC), ran=False)

    def _enqueue(self, row: JobRow) -> None:
        self._queues[row.backend].append(row.id)
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
        await asyncio.to_thread(self.db.finish, job_id, "Cancelled", now_iso(), reason=reason)
        self._unqueue(backend, job_id)

    async def _expire_sessions(self) -> None:
        for job_id in self.sessions.expire(datetime.now(UTC)):
            backend = next((b for b, q in self._queues.items() if job_id in q), "")
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
        return len(self._queues.get(backend, ()))

    def estimate(self, row: JobRow) -> QueueEstimate:
        """Position and times for a queued job, as IBM's old queue_info() gave them."""
        if row.status != "Queued":
            return QueueEstimate(None, None, None)
        queue = self._queues.get(row.backend)
        if queue is None or row.id not in queue:
            return QueueEstimate(None, None, None)
        spec = self.backends[row.backend]
        # Anchored on the running job's start, not on "now", so that repeated asks agree.
        free_at = datetime.now(UTC)
        running = self._running.get(row.backend)
        if running is not None:
            job_id, started = running
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
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _dispatch(self) -> None:
        """Start the oldest queued job of every free backend, while workers are free."""
        while has_room(self.pool, len(self._running)):
            heads = []
            for name, queue in self._queues.items():
                if queue and name not in self._running:
                    # A dedicated session may hold the backend for its own next job.
                    head = self.sessions.choose(name, queue, self._session_of)
                    if head is not None:
                        heads.append((head, name))
            if not heads:
                return
            # Oldest job first across backends: ids are random, so order by arrival time.
            job_id, name = min(heads, key=lambda head: self._arrival.get(head[0], 0))
            self._queues[name].remove(job_id)
            now = datetime.now(UTC)
            self._running[name] = (job_id, now)
            self.sessions.job_started(self._session_of.get(job_id), job_id, now)
            task = asyncio.create_task(self._run(name, job_id), name=f"job-{job_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, backend: str, job_id: str) -> None:
        spec = self.backends[backend]
        requeued = False
        charged = 0.0
        try:
            if not await self._blocking(self.db.mark_running, job_id, now_iso()):
                return  # cancelled or deleted meanwhile
            params = await self._blocking(self.db.params, job_id)
            row = await self._blocking(self.db.get, job_id, with_params=False)
            if params is None or row is None:
                return
            raw_job = None
            if row.program in READS_RAW_JOB:
                raw_job = await self._blocking(self._read_raw_job, params)
            task = Task(
                job_id=job_id, program=row.program, params=params, backend=spec, raw_job=raw_job
            )
            cost = row.details.get("cost")
            seconds = cost if isinstance(cost, int) and cost > 0 else self.limits.default_seconds
            supervisor = asyncio.create_task(self._supervise(job_id, seconds))
            try:
                outcome = await self.pool.run(task)
            except WorkerLost as exc:
                requeued = await self._requeue_lost(row, str(exc))
                if requeued:
                    return
                outcome = Outcome(
                    ok=False,
                    code=CODE_EXECUTION_FAILED,
                    message=f"the worker running the job was lost twice; last time: {exc}",
                    solution="The job was re-queued once already; check the cluster's workers.",
                )
            except WorkerGone as exc:
                outcome = Outcome(
                    ok=False,
                    code=CODE_EXECUTION_FAILED,
                    message=f"the worker process running the job died ({exc})",
                    solution="Submit the job again; if it fails again, reduce its size.",
                )
            finally:
                supervisor.cancel()
            await self._record(row, outcome)
            if outcome.ok:
                charged = max(outcome.ended - outcome.started, 0.0)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one job stop the queue
            log.exception("job %s could not be recorded", job_id)
        finally:
            self._running.pop(backend, None)
            if not requeued:
                self._shots.pop(job_id, None)
                self._arrival.pop(job_id, None)
                self._lost.discard(job_id)
                session_id = self._session_of.pop(job_id, None)
                if not self._stopping:  # a job stopped with the service is re-queued, not ended
                    self.sessions.job_ended(
                        session_id, job_id, datetime.now(UTC), ran=True, charged=charged
                    )
            self._wake.set()

    async def _requeue_lost(self, row: JobRow, reason: str) -> bool:
        """Put a job whose worker was lost back at the head of its queue, once."""
        if row.id in self._lost:
            return False
        note = f"re-queued: the worker running this job was lost ({reason})"
        if not await self._blocking(self.db.requeue, row.id, now_iso(), note):
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
                    "Cancelled",
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
                    "Failed",
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
        await self._blocking(
            self.db.finish,
            job_id,
            status,
            now_iso(),
            reason=reason,
            reason_code=code,
            reason_solution=solution,
            quantum_seconds=round(charged, 6),
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
        result = self.db.result(job_id) if row.status == "Completed" else None
        return RawJob(job_id=job_id, status=row.status, program=row.program, result=result)

    async def _record(self, row: JobRow, outcome: Outcome) -> None:
        at = now_iso()
        if row.private:
            await self._blocking(self.db.forget_params, row.id)
        if outcome.ok:
            charged = max(outcome.ended - outcome.started, 0.0)
            done = await self._blocking(
                self.db.finish,
                row.id,
                "Completed",
                at,
                quantum_seconds=round(charged, 6),
                result=outcome.result,
                details=outcome.details,
            )
            if done:
                spec = self.backends[row.backend]
                overhead = max(charged - row.shots * spec.shot_latency, 0.0)
                previous = self._durations.get(row.backend, overhead)
                self._durations[row.backend] = 0.8 * previous + 0.2 * overhead
        else:
            await self._blocking(
                self.db.finish,
                row.id,
                "Failed",
                at,
                reason=outcome.message,
                reason_code=outcome.code,
                reason_solution=outcome.solution,
                quantum_seconds=0.0,
            )


def to_utc(value: str) -> str:
    """Normalise a client's ISO 8601 time to the database's fixed-width UTC form."""
    moment = isoparse(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)
