"""Durations of finished jobs listed from history: a job list answer has no running or
finished time (only a job's metrics do), so such a row would show no duration until its details
were read. The rows in view have them read, a few at a time and once each: what a person
scrolls past costs requests, the thousands of rows never shown cost none."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from qjob_tui.model import Job
from qjob_tui.store.changes import JobKey
from qjob_tui.store.errors import StoreError
from qjob_tui.ui.formatting import duration_bounds

if TYPE_CHECKING:
    from qjob_tui.store import JobStore

AT_ONCE = 4  # requests in flight for durations, per dashboard


class DurationReader:
    """Which jobs in view still lack a duration, and reading their details."""

    def __init__(self) -> None:
        self._asked: set[JobKey] = set()  # a job that never ran has none: asked once only

    def wanted(self, jobs: Iterable[Job]) -> list[JobKey]:
        """The finished jobs among ``jobs`` without running times, not asked for before."""
        keys = [
            job.key
            for job in jobs
            if job.status.is_final and duration_bounds(job) is None and job.key not in self._asked
        ]
        self._asked.update(keys)
        return keys

    @staticmethod
    async def read(store: JobStore, keys: list[JobKey]) -> None:
        """Read the jobs' details into the store (which publishes them to the list)."""
        limit = asyncio.Semaphore(AT_ONCE)

        async def one(key: JobKey) -> None:
            async with limit:
                with contextlib.suppress(StoreError):  # the status line says what failed
                    await store.details(key)

        await asyncio.gather(*(one(key) for key in keys))
