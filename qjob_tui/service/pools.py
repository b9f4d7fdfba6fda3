"""The engines that run the service's jobs: its own worker processes, or a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from qjob_tui.service.cluster.address import parse_cluster_address
from qjob_tui.service.worker import Outcome, Task

if TYPE_CHECKING:
    from qjob_tui.service.cluster.pool import DaskPool


class JobPool(Protocol):
    """What the scheduler needs of an engine; ``run`` raises WorkerGone (or WorkerLost)."""

    @property
    def has_capacity(self) -> bool: ...

    def prestart(self, count: int = 1) -> None: ...

    async def run(self, task: Task) -> Outcome: ...

    def kill(self, job_id: str) -> bool: ...

    def pid(self, job_id: str) -> int | None:
        """The local process running this job, for the memory watch; None where it is remote."""
        ...

    def close(self) -> None: ...


def has_room(pool: JobPool, running: int) -> bool:
    """Whether the scheduler may start one more job while ``running`` are dispatched.

    A pool's ``has_capacity`` counts only the jobs that reached ``run``; jobs dispatched in
    the same turn have not. The process pool lets that be (it starts a process more), a
    cluster cannot: its ``slots`` are its free workers, so dispatched jobs count against them.
    """
    slots = getattr(pool, "slots", None)
    return pool.has_capacity and (slots is None or running < slots)


def dask_pool(address: str, wake: Callable[[], None], memory_limit: int | None = None) -> DaskPool:
    """The pool of ``--dask ADDRESS``; ``wake`` tells the scheduler that workers came free.
    ``memory_limit`` (``--job-memory``) is each worker's of a ``local:N`` cluster; an existing
    cluster's workers keep the limit they were started with."""
    from qjob_tui.service.cluster.pool import DaskPool

    return DaskPool(parse_cluster_address(address), wake=wake, memory_limit=memory_limit)
