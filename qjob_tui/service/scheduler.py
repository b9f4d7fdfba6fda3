"""The service's job queue: each backend runs one job at a time, in order of arrival.

Like a QPU, a backend takes the oldest queued job when it is free. Jobs run in worker processes
(``pool``); the scheduler only moves jobs between states, records timestamps and estimates queue
positions from each backend's recent history. After a crash, jobs that were running are put back
in the queue at start-up, ahead of newer ones, with a line in their log that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import string
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.parser import isoparse

from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.db import Database, JobRow, iso, now_iso
from qjob_tui.service.errors import CODE_EXECUTION_FAILED
from qjob_tui.service.pool import WorkerGone, WorkerLost, WorkerPool
from qjob_tui.service.pools import JobPool, has_room
from qjob_tui.service.worker import Outcome, RawJob, Task

log = logging.getLogger("qjob_tui.service")

_ID_ALPHABET = string.ascii_lowercase + string.digits

# Programs whose params may name another job (``raw_job``) whose result is their input.
READS_RAW_JOB = frozenset({"random-extractor"})


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
        pool: JobPool | None = None,
    ) -> None:
        self.db = db
        self.backends = backends
        self.pool: JobPool = pool if pool is not None else WorkerPool(workers)
        self._lost: set[str] = set()  # jobs re-queued once because their worker was lost
        self._queues: dict[str, deque[str]] = {name: deque() for name in backends}
        self._shots: dict[str, int] = {}
        self._running: dict[str, tuple[str, datetime]] = {}  # backend -> (job id, started)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._durations: dict[str, float] = {}
        self._arrival: dict[str, int] = {}  # job id -> seq, the order of arrival

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Recover what a previous run left, then start dispatching."""
        pending = await asyncio.to_thread(self.db.pending)
        at = now_iso()
        for row in pending:
            if row.backend not in self._queues:
                await asyncio.to_thread(
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
                await asyncio.to_thread(
                    self.db.requeue,
                    row.id,
                    at,
                    "re-queued: the service stopped while this job was running",
                )
            self._enqueue(row)
        for name in self.backends:
            self._durations[name] = await asyncio.to_thread(self._mean_overhead, name)
        if any(self._queues.values()):
            self.pool.prestart(1)
        self._loop_task = asyncio.create_task(self._dispatch_loop(), name="scheduler")

    async def stop(self) -> None:
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

    # --- jobs ----------------------------------------------------------------------------

    async def submit(self, row: JobRow) -> JobRow:
        """Store a new job and queue it on its backend."""
        row.id = new_job_id()
        row.status = "Queued"
        row.created = row.queued = now_iso()
        row.log = f"{row.created} queued on {row.backend}\n"
        spec = self.backends[row.backend]
        row.estimated_seconds = round(self._expected(spec, row.shots), 3)
        await asyncio.to_thread(self.db.insert, row)
        self._enqueue(row)
        self._wake.set()
        return row

    async def cancel(self, row: JobRow) -> bool:
        """Cancel a queued or running job; False if it was already final."""
        done = await asyncio.to_thread(
            self.db.finish, row.id, "Cancelled", now_iso(), reason="cancelled by the user"
        )
        if not done:
            return False
        queue = self._queues.get(row.backend)
        if queue is not None and row.id in queue:
            queue.remove(row.id)
            self._shots.pop(row.id, None)
            self._arrival.pop(row.id, None)
        self.pool.kill(row.id)
        self._wake.set()
        return True

    def wake(self) -> None:
        """Look at the queues again: the pool has room now (a cluster's worker came back)."""
        self._wake.set()

    def _enqueue(self, row: JobRow) -> None:
        self._queues[row.backend].append(row.id)
        self._shots[row.id] = row.shots
        self._arrival[row.id] = row.seq

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
            self._dispatch()
            self._wake.clear()
            await self._wake.wait()

    def _dispatch(self) -> None:
        """Start the oldest queued job of every free backend, while workers are free."""
        while has_room(self.pool, len(self._running)):
            heads = [
                (queue[0], name)
                for name, queue in self._queues.items()
                if queue and name not in self._running
            ]
            if not heads:
                return
            # Oldest job first across backends: ids are random, so order by arrival time.
            name = min(heads, key=lambda head: self._arrival.get(head[0], 0))[1]
            job_id = self._queues[name].popleft()
            self._running[name] = (job_id, datetime.now(UTC))
            task = asyncio.create_task(self._run(name, job_id), name=f"job-{job_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, backend: str, job_id: str) -> None:
        spec = self.backends[backend]
        requeued = False
        try:
            if not await asyncio.to_thread(self.db.mark_running, job_id, now_iso()):
                return  # cancelled or deleted meanwhile
            params = await asyncio.to_thread(self.db.params, job_id)
            row = await asyncio.to_thread(self.db.get, job_id, with_params=False)
            if params is None or row is None:
                return
            raw_job = None
            if row.program in READS_RAW_JOB:
                raw_job = await asyncio.to_thread(self._read_raw_job, params)
            task = Task(
                job_id=job_id, program=row.program, params=params, backend=spec, raw_job=raw_job
            )
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
            await self._record(row, outcome)
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
            self._wake.set()

    async def _requeue_lost(self, row: JobRow, reason: str) -> bool:
        """Put a job whose worker was lost back at the head of its queue, once."""
        if row.id in self._lost:
            return False
        note = f"re-queued: the worker running this job was lost ({reason})"
        if not await asyncio.to_thread(self.db.requeue, row.id, now_iso(), note):
            return False  # cancelled or deleted meanwhile: recording the failure is a no-op
        self._lost.add(row.id)
        self._queues[row.backend].appendleft(row.id)
        return True

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
        if outcome.ok:
            charged = max(outcome.ended - outcome.started, 0.0)
            done = await asyncio.to_thread(
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
            await asyncio.to_thread(
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
