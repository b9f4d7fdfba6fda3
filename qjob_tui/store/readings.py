"""Result readers by program kind: what a finished job's result is read with, and when.

A finished job's result never changes, so each is read once per server and kept in the
source's ``SourceState`` (a sampler's also in the cache, across runs). One table, so a program
kind is added in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from qjob_tui.api.client import JobClient
from qjob_tui.model import Job, JobStatus, ProgramId
from qjob_tui.store.state import SourceState


@dataclass(frozen=True)
class Reader:
    """How one kind of result is read from a finished job."""

    read: Callable[[JobClient, str], Awaitable[Any]]
    applies: Callable[[Job], bool] = lambda job: True
    cached: bool = False  # kept in the cache across runs, not only in memory


def _is_extractor(job: Job) -> bool:
    return job.program == ProgramId.RANDOM_EXTRACTOR


READERS: dict[str, Reader] = {
    "sampler": Reader(
        lambda client, job_id: client.results(job_id),
        applies=lambda job: not _is_extractor(job),
        cached=True,
    ),
    "estimator": Reader(lambda client, job_id: client.estimator_result(job_id)),
    "executor": Reader(lambda client, job_id: client.executor_result(job_id)),
    "extractor": Reader(lambda client, job_id: client.extractor_result(job_id), _is_extractor),
}


async def read_result(kind: str, state: SourceState, client: JobClient, job_id: str) -> Any:
    """The result of kind ``kind`` of a finished job: kept, cached, or read once; None for a
    job that is not done or has no result of that kind."""
    reader = READERS[kind]
    job = state.jobs.get(job_id)
    if job is None or job.status is not JobStatus.DONE or not reader.applies(job):
        return None
    kept = state.reading(kind, job_id)
    if kept is not None:
        return kept
    cache = state.cache if reader.cached else None
    result = await asyncio.to_thread(cache.result, job_id) if cache is not None else None
    if result is None:
        result = await reader.read(client, job_id)
        if result is not None and cache is not None:
            await asyncio.to_thread(cache.put_result, job_id, result)
    if result is not None:
        state.keep_reading(kind, job_id, result)
    return result
