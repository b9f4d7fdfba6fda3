"""The engines that run the service's jobs: its own worker processes, or a Dask cluster."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from qjob_tui.service.cluster.address import parse_cluster_address
from qjob_tui.service.worker import Outcome, Started, Task

if TYPE_CHECKING:
    from qjob_tui.service.cluster.pool import DaskPool


class JobPool(Protocol):
    """What the scheduler needs of an engine; ``run`` raises WorkerGone (or WorkerLost).

    An engine may also offer ``run_batch(tasks)`` (an async iterator of each job's ``Started``
    and ``Outcome``), ``batch_size`` and ``slots``; ``run_batch`` and ``batch_size`` below fall
    back to one ``run`` per job for an engine without them (the Dask pool).
    """

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
    """Whether the scheduler may start one more batch while ``running`` are dispatched.

    A pool's ``has_capacity`` counts only the batches that reached ``run``; those dispatched in
    the same turn have not, so the dispatched ones count against its ``slots``: the process
    pool's size (never more processes than ``--workers``), a cluster's free workers.
    """
    slots = getattr(pool, "slots", None)
    return pool.has_capacity and (slots is None or running < slots)


def batch_size(pool: JobPool) -> int:
    """How many jobs of one backend the pool takes at once (1 unless it runs batches)."""
    size = getattr(pool, "batch_size", 1)
    return size if isinstance(size, int) and size > 1 else 1


async def run_batch(pool: JobPool, tasks: Sequence[Task]) -> AsyncIterator[Started | Outcome]:
    """Each job's ``Started`` and ``Outcome`` in turn, through the pool's own batches if it has
    them, else one ``run`` after the other (a cluster pins each job to a worker)."""
    own = getattr(pool, "run_batch", None)
    if own is not None:
        async for message in own(tasks):
            yield message
        return
    for task in tasks:
        yield Started(task.job_id, time.time())
        outcome = await pool.run(task)
        yield replace(outcome, job_id=task.job_id)


def dask_pool(address: str, wake: Callable[[], None], memory_limit: int | None = None) -> DaskPool:
    """The pool of ``--dask ADDRESS``; ``wake`` tells the scheduler that workers came free.
    ``memory_limit`` (``--job-memory``) is each worker's of a ``local:N`` cluster; an existing
    cluster's workers keep the limit they were started with."""
    from qjob_tui.service.cluster.pool import DaskPool

    return DaskPool(parse_cluster_address(address), wake=wake, memory_limit=memory_limit)
