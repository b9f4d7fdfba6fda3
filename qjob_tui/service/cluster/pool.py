"""DaskPool: the service's worker pool on a Dask cluster, with WorkerPool's interface.

Each job is pinned to one idle worker (``workers=[address]``), so the service knows where every
job runs: a worker that leaves the cluster loses exactly its job (``WorkerLost``, which the
scheduler re-queues once), and cancelling restarts exactly that worker through its nanny,
which stops a simulation within a second or two. Results come back from the worker to the
service directly (``direct_to_workers``), not through the scheduler. A watcher asks the
scheduler for its workers twice a second; while it cannot reach it the pool has no capacity,
jobs wait in their queues, and it reconnects when the scheduler returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError as FutureCancelled  # Dask's, not asyncio's
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qjob_tui.service.cluster.address import ClusterAddress
from qjob_tui.service.cluster.status import ClusterStatus, WorkerLoad
from qjob_tui.service.cluster.task import run_on_worker, warm_up
from qjob_tui.service.pool import WorkerGone, WorkerLost
from qjob_tui.service.worker import Outcome, Task

log = logging.getLogger("qjob_tui.service")

CONNECT_TIMEOUT = 5.0
RESTART_TIMEOUT = 60.0


@dataclass
class _Running:
    """A job on a worker, and how its wait ends early (lost worker, or killed by us)."""

    job_id: str
    worker: str
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    killed: bool = False
    lost: str = ""
    future: Any = None


class DaskPool:
    """Runs tasks on the workers of one Dask cluster, one job per worker at a time."""

    def __init__(
        self,
        address: ClusterAddress,
        *,
        memory_limit: int | str | None = None,
        wake: Callable[[], None] = lambda: None,
        poll_interval: float = 0.5,
    ) -> None:
        self.address = address
        self.memory_limit = memory_limit
        self.wake = wake
        self.poll_interval = poll_interval
        self._cluster: Any = None
        self._client: Any = None
        self._scheduler = address.scheduler or ""
        self._workers: dict[str, dict[str, Any]] = {}
        self._busy: dict[str, _Running] = {}
        self._restarting: set[str] = set()
        self._unreachable_since: datetime | None = None
        self._error = ""
        self._watcher: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[Any]] = set()
        self._closing = False

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the LocalCluster (for local:N) and the watcher; connect once if possible."""
        if self.address.is_local:
            from distributed import LocalCluster

            self._cluster = await LocalCluster(
                n_workers=self.address.local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                memory_limit=self.memory_limit or "auto",
                silence_logs=logging.ERROR,
                asynchronous=True,
            )
            self._scheduler = self._cluster.scheduler_address
        await self._check()
        self._watcher = asyncio.create_task(self._watch(), name="dask-watcher")

    async def stop(self) -> None:
        """Close the client and any LocalCluster; running jobs stay Running on disk."""
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for chore in list(self._chores):
            chore.cancel()
        await self._disconnect()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(RESTART_TIMEOUT):
                    await self._cluster.close()
            self._cluster = None

    def prestart(self, count: int = 1) -> None:
        """Workers belong to the cluster; they are warmed up when the pool connects."""

    def close(self) -> None:
        """End the waits of running jobs; ``stop`` closes the connection."""
        self._closing = True
        for running in self._busy.values():
            running.killed = True
            running.ended.set()

    # --- jobs ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._workers)

    @property
    def slots(self) -> int:
        """How many jobs may run at once now: the workers in use plus the free ones."""
        return len(self._busy) + len(self._free())

    @property
    def has_capacity(self) -> bool:
        return bool(self._free())

    def _free(self) -> list[str]:
        if self._client is None or self._closing:
            return []
        taken = {running.worker for running in self._busy.values()} | self._restarting
        return [
            address
            for address, info in sorted(self._workers.items())
            if address not in taken and info.get("status", "running") == "running"
        ]

    async def run(self, task: Task) -> Outcome:
        free = self._free()
        client = self._client
        if not free or client is None:
            raise WorkerLost("no Dask worker was free when the job was dispatched")
        worker = free[0]
        running = _Running(task.job_id, worker)
        self._busy[task.job_id] = running
        try:
            return await self._run_on(client, running, task)
        finally:
            self._busy.pop(task.job_id, None)
            self.wake()

    async def _run_on(self, client: Any, running: _Running, task: Task) -> Outcome:
        future = client.submit(
            run_on_worker,
            task,
            key=f"qjob-{task.job_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
            workers=[running.worker],
            allow_other_workers=False,
        )
        running.future = future
        result = asyncio.ensure_future(_result_of(future))
        ended = asyncio.ensure_future(running.ended.wait())
        try:
            await asyncio.wait({result, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if not result.done():
            result.cancel()
            self._spawn(_cancel(client, future))
        elif not result.cancelled() and result.exception() is None:
            outcome = result.result()
            if isinstance(outcome, Outcome):
                return outcome
            raise WorkerGone(f"unexpected answer {type(outcome).__name__} from the worker")
        if running.killed:
            raise WorkerGone("stopped by the service")
        if running.lost:
            raise WorkerLost(running.lost)
        if result.cancelled() or _is_loss(result.exception()):
            problem = "the task was cancelled" if result.cancelled() else _describe(result)
            raise WorkerLost(f"Dask worker {running.worker}: {problem}")
        # The task itself failed on the worker (e.g. it cannot import qjob_tui): no retry.
        raise WorkerGone(f"Dask worker {running.worker}: {_describe(result)}")

    def pid(self, job_id: str) -> int | None:
        """None: a cluster worker is not a local process; its own memory limit applies."""
        return None

    def kill(self, job_id: str) -> bool:
        """Stop the job now: restart its worker's process (through the worker's nanny)."""
        running = self._busy.get(job_id)
        if running is None:
            return False
        running.killed = True
        running.ended.set()
        self._restarting.add(running.worker)
        self._spawn(self._restart(running))
        return True

    async def _restart(self, running: _Running) -> None:
        client = self._client
        try:
            if client is None:
                return
            if running.future is not None:
                with contextlib.suppress(Exception):
                    await client.cancel(running.future, force=True)
            answer: dict[str, str] = {}
            with contextlib.suppress(Exception):
                answer = await client.restart_workers(
                    [running.worker], timeout=RESTART_TIMEOUT, raise_for_error=False
                )
            if answer.get(running.worker) != "OK":
                # No nanny to restart it: the worker stays out of use until its task ends.
                log.warning(
                    "Dask worker %s could not be restarted (%s); it is used again once the "
                    "cancelled job's task ends",
                    running.worker,
                    answer.get(running.worker, "no answer"),
                )
                if running.future is not None:
                    with contextlib.suppress(Exception):
                        await _result_of(running.future)
        finally:
            self._restarting.discard(running.worker)
            self.wake()

    def _spawn(self, coroutine: Any) -> None:
        chore = asyncio.ensure_future(coroutine)
        self._chores.add(chore)
        chore.add_done_callback(self._chores.discard)

    # --- the cluster -----------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        jobs = {running.worker: running.job_id for running in self._busy.values()}
        workers = tuple(
            WorkerLoad(
                address=address,
                job_id=jobs.get(address),
                cpu_percent=float(info.get("metrics", {}).get("cpu", 0.0) or 0.0),
                memory_bytes=int(info.get("metrics", {}).get("memory", 0) or 0),
                memory_limit=int(info.get("memory_limit") or 0),
            )
            for address, info in sorted(self._workers.items())
        )
        return ClusterStatus(
            address=self._scheduler or str(self.address),
            connected=self._client is not None,
            workers=workers,
            unreachable_since=self._unreachable_since,
            error=self._error,
        )

    async def _watch(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.poll_interval)
            await self._check()

    async def _check(self) -> None:
        """Connect if needed, then read the scheduler's workers; never raises."""
        try:
            if self._client is None:
                await self._connect()
            async with asyncio.timeout(CONNECT_TIMEOUT):
                info = await self._client.scheduler.identity(n_workers=-1)
        except Exception as exc:  # unreachable, refused, timed out, closed
            await self._lost_scheduler(exc)
            return
        before = set(self._workers)
        self._workers = dict(info.get("workers") or {})
        for running in list(self._busy.values()):
            if running.worker not in self._workers and not running.ended.is_set():
                running.lost = f"Dask worker {running.worker} left the cluster"
                running.ended.set()
        self._restarting &= set(self._workers)
        new = set(self._workers) - before
        if new:
            self._spawn(self._warm(list(new)))
            self.wake()

    async def _connect(self) -> None:
        from distributed import Client

        async with asyncio.timeout(CONNECT_TIMEOUT * 2):
            client = await Client(
                self._scheduler,
                asynchronous=True,
                timeout=CONNECT_TIMEOUT,
                direct_to_workers=True,
                set_as_default=False,
            )
        self._client = client
        if self._unreachable_since is not None:
            log.warning("Dask scheduler %s is back; jobs run again", self._scheduler)
        self._unreachable_since = None
        self._error = ""

    async def _warm(self, workers: list[str]) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.run(warm_up, workers=workers)

    async def _lost_scheduler(self, exc: Exception) -> None:
        reason = str(exc) or type(exc).__name__
        if self._unreachable_since is None:
            log.warning("Dask scheduler %s unreachable: %s", self._scheduler, reason)
            self._unreachable_since = datetime.now(UTC)
        self._error = reason[:300]
        for running in self._busy.values():
            if not running.ended.is_set():
                running.lost = f"the Dask scheduler {self._scheduler} went away ({reason})"[:300]
                running.ended.set()
        self._workers = {}
        await self._disconnect()

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await client.close()


async def _result_of(future: Any) -> Any:
    return await future


async def _cancel(client: Any, future: Any) -> None:
    with contextlib.suppress(Exception):
        await client.cancel(future, force=True)


def _is_loss(exc: BaseException | None) -> bool:
    """Whether an exception from a task's future means its worker or scheduler went away."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    lost = KilledWorker | CommClosedError | OSError | TimeoutError | FutureCancelled
    return isinstance(exc, lost)


def _describe(result: asyncio.Future[Any]) -> str:
    exc = result.exception()
    return f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "no answer"
