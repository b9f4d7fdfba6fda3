"""``SourcePoller``: the polling loop and the known jobs of one source."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NotFound, RateLimited
from qjob_tui.model import Backend, Job, JobStatus, QueueInfo
from qjob_tui.store.cache import JobCache
from qjob_tui.store.changes import ChangeSet, JobKey, SourceHealth

if TYPE_CHECKING:
    from qjob_tui.store.store import JobStore

log = logging.getLogger("qjob_tui.store")

# Jobs created within this margin of the newest seen are fetched again: two jobs can share a
# timestamp, and ``created_after`` is strict. Duplicates are dropped by id.
_CREATED_MARGIN = timedelta(milliseconds=1)


def _merge(old: Job | None, new: Job) -> Job:
    """A listed job keeps the steps and queue place its last details gave, until they change."""
    if old is None:
        return new
    steps = new.steps if len(new.steps) >= len(old.steps) else old.steps
    queue = new.queue
    if new.status is JobStatus.QUEUED and queue == QueueInfo():
        queue = old.queue
    elif new.status is not JobStatus.QUEUED:
        queue = QueueInfo()
    usage = new.usage if new.usage.quantum_seconds or not old.usage.quantum_seconds else old.usage
    return replace(new, steps=steps, queue=queue, usage=usage)


class SourcePoller:
    """The polling loop and the known jobs of one source."""

    def __init__(self, store: JobStore, client: JobClient) -> None:
        self.store = store
        self.client = client
        self.name = client.source.name
        self.config = store.config
        self.jobs: dict[str, Job] = {}
        self.backends: dict[str, Backend] = {}
        self.cache: JobCache | None = None
        self.newest: datetime | None = None
        self.health = SourceHealth(source=self.name)
        self.watched: str | None = None
        self.polls = 0
        self._primed = False
        self._remembered_active: list[str] = []
        self._wake = asyncio.Event()
        self._next_backends = 0.0
        self._next_queue_metrics = 0.0
        self._task: asyncio.Task[None] | None = None

    # --- life cycle ----------------------------------------------------------------------

    async def open_cache(self) -> ChangeSet:
        """Show the cached history at once, before the first request."""
        if not self.config.use_cache:
            return ChangeSet()
        self.cache = await asyncio.to_thread(JobCache.for_source, self.name, self.config.cache_dir)
        jobs = await asyncio.to_thread(self.cache.load)
        self._remembered_active = await asyncio.to_thread(self.cache.active_ids)
        for job in jobs:
            self.jobs[job.id] = job
            if self.newest is None or job.created > self.newest:
                self.newest = job.created
        notices = (f"{self.name}: {self.cache.problem}",) if self.cache.problem else ()
        return ChangeSet(added=tuple(jobs), notices=notices)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"poll-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.cache is not None:
            await asyncio.to_thread(self._remember_and_close)
        await self.client.aclose()

    def _remember_and_close(self) -> None:
        assert self.cache is not None
        self.cache.set_active_ids([j.id for j in self.jobs.values() if j.status.is_active])
        self.cache.close()

    def wake(self) -> None:
        self._wake.set()

    @property
    def has_active(self) -> bool:
        return any(job.status.is_active for job in self.jobs.values())

    def _interval(self) -> float:
        return self.config.interval if self.has_active else self.config.calm_interval

    def _backoff(self, retry_after: float | None = None) -> float:
        """Exponential backoff with jitter, at least what the server's Retry-After asked."""
        base = min(self.config.interval * 2**self.health.failures, self.config.max_backoff)
        delay = random.uniform(base / 2, base)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.config.max_backoff))
        return delay

    async def _loop(self) -> None:
        while True:
            if self.store.paused:
                delay = self.config.calm_interval
            else:
                delay = await self.poll_once()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def poll_once(self) -> float:
        """One poll; failures become health, never exceptions. Returns the delay to the next."""
        try:
            changes = await self.poll()
        except ApiError as exc:
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            return self._failed(str(exc), retry_after)
        except Exception as exc:  # a bug must not end the loop
            log.exception("poll of %s failed", self.name)
            return self._failed(f"{self.name}: internal error ({type(exc).__name__})", None)
        self.polls += 1
        delay = self._interval()
        now = datetime.now(UTC)
        self.health = replace(
            self.health,
            last_success=now,
            failures=0,
            interval=delay,
            next_poll=now + timedelta(seconds=delay),
            paused=self.store.paused,
        )
        self.store._publish(replace(changes, health=(self.health,)))
        return delay

    def _failed(self, message: str, retry_after: float | None) -> float:
        now = datetime.now(UTC)
        self.health = replace(
            self.health, last_error=message, last_error_at=now, failures=self.health.failures + 1
        )
        delay = self._backoff(retry_after)
        self.health = replace(self.health, interval=delay, next_poll=now + timedelta(seconds=delay))
        self.store._publish(ChangeSet(health=(self.health,)))
        return delay

    def _set_paused(self, paused: bool) -> None:
        if self.health.paused != paused:
            self.health = replace(self.health, paused=paused)
            self.store._publish(ChangeSet(health=(self.health,)))

    # --- one poll ------------------------------------------------------------------------

    async def _list_all(self, **filters: object) -> list[Job]:
        return [job async for job in self.client.iter_jobs(**filters)]  # type: ignore[arg-type]

    async def _prime(self) -> list[Job]:
        """The first poll: the history (cold start) or what is new since the cache (warm)."""
        if self.newest is None:
            jobs: list[Job] = []
            async for job in self.client.iter_jobs():
                jobs.append(job)
                if len(jobs) >= self.config.history:
                    break
            return jobs
        jobs = []
        for job_id in self._remembered_active:
            if job_id in self.jobs:
                continue
            with contextlib.suppress(NotFound):
                jobs.append(await self.client.job(job_id))
        return jobs

    async def poll(self) -> ChangeSet:
        fetched: dict[str, Job] = {}
        priming = not self._primed
        if priming:
            for job in await self._prime():
                fetched[job.id] = job
        pending = await self._list_all(pending=True)
        pending_ids = {job.id for job in pending}
        for job in pending:
            fetched[job.id] = job
        if self.newest is not None:
            for job in await self._list_all(created_after=self.newest - _CREATED_MARGIN):
                fetched.setdefault(job.id, job)
        elif not priming:
            # Nothing known yet (an empty source): the newest page, so that a job that
            # starts and ends between two polls is still seen.
            for job in (await self.client.jobs()).jobs:
                fetched.setdefault(job.id, job)
        self._primed = True

        removed: list[JobKey] = []
        # Jobs we knew active that left the pending list: they finished (or were deleted).
        for job_id, job in list(self.jobs.items()):
            if job.status.is_active and job_id not in pending_ids:
                latest = fetched.get(job_id)
                if latest is None or latest.status.is_active:
                    try:
                        fetched[job_id] = await self.client.job(job_id)
                    except NotFound:
                        del self.jobs[job_id]
                        removed.append((self.name, job_id))

        added: list[Job] = []
        changed: list[Job] = []
        finished: list[Job] = []
        measured: set[str] = set()  # jobs whose metrics this poll already read
        for job_id, job in fetched.items():
            old = self.jobs.get(job_id)
            merged = _merge(old, job)
            if old is not None and old.status != merged.status:
                # A transition we saw: its steps and usage come with the metrics. Jobs first
                # seen already final get theirs on demand (``JobStore.details``).
                merged = await self._with_metrics(merged)
                measured.add(job_id)
            if old is None:
                added.append(merged)
            elif merged != old:
                changed.append(merged)
            self.jobs[job_id] = merged
            if merged.status.is_final and (old is None or old.status.is_active):
                finished.append(merged)
            if self.newest is None or merged.created > self.newest:
                self.newest = merged.created

        # The job on screen, queued jobs seen for the first time (their place in the queue
        # comes only with the metrics), and every queued job's place on the slow cadence.
        refresh = {j.id for j in added if j.status is JobStatus.QUEUED}
        refresh = set(sorted(refresh)[:50])  # bounded, as on the slow cadence below
        if self.watched in self.jobs and self.jobs[self.watched].status.is_active:
            refresh.add(self.watched)
        loop_time = asyncio.get_running_loop().time()
        if loop_time >= self._next_queue_metrics:
            self._next_queue_metrics = loop_time + self.config.backend_interval
            queued = [j.id for j in self.jobs.values() if j.status is JobStatus.QUEUED]
            refresh.update(queued[:50])
        just_added = {j.id: i for i, j in enumerate(added)}
        for job_id in refresh - measured:
            old = self.jobs[job_id]
            fresh = await self._with_metrics(old)
            if fresh != old:
                self.jobs[job_id] = fresh
                if job_id in just_added:
                    added[just_added[job_id]] = fresh  # still news: announce it with its place
                else:
                    changed = [j for j in changed if j.id != job_id]
                    changed.append(fresh)

        if finished and self.cache is not None:
            await asyncio.to_thread(self.cache.put, finished)
        backends = await self._poll_backends()
        return ChangeSet(
            added=tuple(added), changed=tuple(changed), removed=tuple(removed), backends=backends
        )

    async def _with_metrics(self, job: Job) -> Job:
        from qjob_tui.api.parse import with_metrics

        try:
            metrics = await self.client.metrics(job.id)
        except NotFound:
            return job
        return with_metrics(job, metrics)

    async def _poll_backends(self) -> tuple[Backend, ...]:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._next_backends:
            return ()
        self._next_backends = loop_time + self.config.backend_interval
        fresh = await self.client.backends()
        now = datetime.now(UTC)
        changed = []
        for backend in fresh:
            history = self.store._queue_history.setdefault(
                (self.name, backend.name), deque(maxlen=self.config.queue_samples)
            )
            history.append((now, backend.queue_length))
            if self.backends.get(backend.name) != backend:
                changed.append(backend)
            self.backends[backend.name] = backend
        return tuple(changed)
