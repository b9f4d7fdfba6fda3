"""``JobStore``: the state of every job of every source, kept fresh at the lowest cost.

The store is the only code that decides when to poll. Per source, one poll is: one
``GET /jobs?pending=true`` for the active jobs, one ``GET /jobs?created_after=<newest seen>`` for
new ones, then details and metrics only for jobs whose status changed and for the job the user is
looking at. Final jobs are never polled again; they live in the cache. Each source polls in its
own loop, which re-arms its timer only after a poll finishes, so polls never stack and a failing
source never stalls the others. Subscribers receive one ``ChangeSet`` per poll or action.

The store knows nothing of Textual; ``qjob-tui ls --watch`` or a test can drive it as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NotFound, RateLimited
from qjob_tui.api.extractor import ExtractorResult, extractor_params
from qjob_tui.cache import JobCache
from qjob_tui.changes import ActionResult, ChangeSet, JobKey, SourceHealth
from qjob_tui.model import Backend, Job, JobResult, JobStatus, QueueInfo, tag_problem

log = logging.getLogger("qjob_tui.store")

Subscriber = Callable[[ChangeSet], None]
EXTRACTOR = "random-extractor"

# Jobs created within this margin of the newest seen are fetched again: two jobs can share a
# timestamp, and ``created_after`` is strict. Duplicates are dropped by id.
_CREATED_MARGIN = timedelta(milliseconds=1)


@dataclass(frozen=True)
class StoreConfig:
    """How often to poll, and how far back to look on a cold start."""

    interval: float = 2.0
    calm_interval: float = 10.0
    backend_interval: float = 30.0
    max_backoff: float = 300.0
    history: int = 1000
    queue_samples: int = 720
    use_cache: bool = True
    cache_dir: Path | None = None


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
        for job_id, job in fetched.items():
            old = self.jobs.get(job_id)
            merged = _merge(old, job)
            if old is not None and old.status != merged.status:
                # A transition we saw: its steps and usage come with the metrics. Jobs first
                # seen already final get theirs on demand (``JobStore.details``).
                merged = await self._with_metrics(merged)
            if old is None:
                added.append(merged)
            elif merged != old:
                changed.append(merged)
            self.jobs[job_id] = merged
            if merged.status.is_final and (old is None or old.status.is_active):
                finished.append(merged)
            if self.newest is None or merged.created > self.newest:
                self.newest = merged.created

        # The job on screen, and queued jobs' places on the slow cadence.
        refresh = set()
        if self.watched in self.jobs and self.jobs[self.watched].status.is_active:
            refresh.add(self.watched)
        loop_time = asyncio.get_running_loop().time()
        if loop_time >= self._next_queue_metrics:
            self._next_queue_metrics = loop_time + self.config.backend_interval
            queued = [j.id for j in self.jobs.values() if j.status is JobStatus.QUEUED]
            refresh.update(queued[:50])
        for job_id in refresh - {j.id for j in added + changed if j.id in refresh}:
            old = self.jobs[job_id]
            fresh = await self._with_metrics(old)
            if fresh != old:
                self.jobs[job_id] = fresh
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


def _draw_circuits(params: dict[str, object], width: int) -> list[str]:
    from qjob_tui.api.codec import decode_circuits

    return [str(c.draw("text", fold=width)) for c in decode_circuits(params)]


class JobStore:
    """Every job of every source, the actions on them, and the subscribers that watch."""

    def __init__(self, clients: Iterable[JobClient], config: StoreConfig | None = None) -> None:
        self.config = config or StoreConfig()
        self.pollers: dict[str, SourcePoller] = {}
        for client in clients:
            self.pollers[client.source.name] = SourcePoller(self, client)
        self._subscribers: list[Subscriber] = []
        self._queue_history: dict[tuple[str, str], deque[tuple[datetime, int]]] = {}
        self._intents: dict[JobKey, str] = {}
        self._results: dict[JobKey, JobResult] = {}
        self._extracted: dict[JobKey, ExtractorResult] = {}
        self.paused = False

    # --- subscribers ---------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every ChangeSet from now on; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def _publish(self, changes: ChangeSet) -> None:
        if changes.empty:
            return
        for subscriber in list(self._subscribers):
            try:
                subscriber(changes)
            except Exception:
                log.exception("a subscriber failed")

    # --- life cycle ----------------------------------------------------------------------

    async def start(self, *, poll: bool = True) -> None:
        """Show cached history, then start one polling loop per source (unless ``poll`` is
        False: then the owner calls ``poll_once``, as tests and one-shot commands do)."""
        for poller in self.pollers.values():
            self._publish(await poller.open_cache())
        # The cached history lives as long as the app: keep the collector from scanning it.
        gc.freeze()
        if poll:
            for poller in self.pollers.values():
                poller.start()

    async def stop(self) -> None:
        await asyncio.gather(*(poller.stop() for poller in self.pollers.values()))

    async def poll_once(self) -> None:
        """Poll every source once now (headless use and tests)."""
        await asyncio.gather(*(poller.poll_once() for poller in self.pollers.values()))

    def refresh_now(self) -> None:
        for poller in self.pollers.values():
            poller.wake()

    def pause(self) -> None:
        self.paused = True
        for poller in self.pollers.values():
            poller._set_paused(True)

    def resume(self) -> None:
        self.paused = False
        for poller in self.pollers.values():
            poller._set_paused(False)
            poller.wake()

    # --- state ---------------------------------------------------------------------------

    @property
    def jobs(self) -> Mapping[JobKey, Job]:
        return {(name, jid): job for name, p in self.pollers.items() for jid, job in p.jobs.items()}

    def all_jobs(self) -> Iterator[Job]:
        """Every known job, without building a mapping."""
        for poller in self.pollers.values():
            yield from poller.jobs.values()

    def job(self, key: JobKey) -> Job | None:
        poller = self.pollers.get(key[0])
        return poller.jobs.get(key[1]) if poller else None

    @property
    def backends(self) -> list[Backend]:
        return [b for p in self.pollers.values() for b in p.backends.values()]

    @property
    def health(self) -> list[SourceHealth]:
        return [p.health for p in self.pollers.values()]

    def queue_history(self, source: str, backend: str) -> list[int]:
        return [n for _, n in self._queue_history.get((source, backend), ())]

    def intent(self, key: JobKey) -> str | None:
        """The action in flight on a job ("cancelling…"), shown until the server confirms."""
        return self._intents.get(key)

    def watch(self, key: JobKey | None) -> None:
        """The job on screen: kept fully fresh (details and metrics) on every poll."""
        for name, poller in self.pollers.items():
            poller.watched = key[1] if key and key[0] == name else None

    def client(self, source: str) -> JobClient:
        return self.pollers[source].client

    # --- details -------------------------------------------------------------------------

    async def details(self, key: JobKey) -> Job:
        """The job with fresh metrics (steps, queue place, usage)."""
        poller = self.pollers[key[0]]
        job = await poller.client.job_details(key[1])
        old = poller.jobs.get(key[1])
        poller.jobs[key[1]] = job
        if old != job:
            self._publish(ChangeSet(changed=(job,)) if old else ChangeSet(added=(job,)))
        if job.status.is_final and poller.cache is not None and (old is None or old != job):
            await asyncio.to_thread(poller.cache.put, [job])
        return job

    async def extracted_bits(self, key: JobKey) -> ExtractorResult | None:
        """A finished random-extractor job's bits and checks (kept in memory once read)."""
        if key in self._extracted:
            return self._extracted[key]
        job = self.job(key)
        if job is None or job.status is not JobStatus.DONE or job.program != EXTRACTOR:
            return None
        result = await self.pollers[key[0]].client.extractor_result(key[1])
        if result is not None:
            self._extracted[key] = result
        return result

    async def result(self, key: JobKey) -> JobResult | None:
        """A final sampler job's counts: from memory, the cache, or the service once."""
        if self.job(key) is not None and self.job(key).program == EXTRACTOR:  # type: ignore[union-attr]
            return None
        if key in self._results:
            return self._results[key]
        poller = self.pollers[key[0]]
        job = poller.jobs.get(key[1])
        if job is None or job.status is not JobStatus.DONE:
            return None
        result = None
        if poller.cache is not None:
            result = await asyncio.to_thread(poller.cache.result, key[1])
        if result is None:
            result = await poller.client.results(key[1])
            if result is not None and poller.cache is not None:
                await asyncio.to_thread(poller.cache.put_result, key[1], result)
        if result is not None:
            self._results[key] = result
        return result

    async def circuit_diagrams(self, key: JobKey, width: int = 80) -> list[str]:
        """Text diagrams of the job's circuits, decoded and drawn in a thread (Qiskit is slow
        to import and to draw); empty when the service does not return the job's params."""
        params = await self.pollers[key[0]].client.params(key[1])
        if not params:
            return []
        return await asyncio.to_thread(_draw_circuits, params, width)

    # --- actions -------------------------------------------------------------------------

    def _set_intent(self, key: JobKey, intent: str | None) -> None:
        if intent is None:
            self._intents.pop(key, None)
        else:
            self._intents[key] = intent
        self._publish(ChangeSet(intents=(key,)))

    async def cancel(self, keys: Iterable[JobKey]) -> list[ActionResult]:
        """Cancel jobs: shown as "cancelling…" at once, confirmed or rolled back by the server."""
        return list(await asyncio.gather(*(self._cancel_one(key) for key in keys)))

    async def _cancel_one(self, key: JobKey) -> ActionResult:
        job = self.job(key)
        if job is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        if job.status.is_final:
            return ActionResult(key, False, f"{key[1]} is already {job.status.value.lower()}")
        if self._intents.get(key) == "cancelling…":
            return ActionResult(key, True, f"{key[1]}: already cancelling")
        self._set_intent(key, "cancelling…")
        poller = self.pollers[key[0]]
        try:
            await poller.client.cancel(key[1])
            fresh = await self.details(key)
        except ApiError as exc:
            self._set_intent(key, None)
            with contextlib.suppress(ApiError):
                await self.details(key)
            return ActionResult(key, False, f"cancel {key[1]} refused: {exc.detail}")
        self._set_intent(key, None)
        return ActionResult(key, True, f"{key[1]} {fresh.status.value.lower()}")

    async def extract(self, key: JobKey) -> ActionResult:
        """Submit a random-extractor job over a finished sampler job's measured bits."""
        job = self.job(key)
        if job is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        if job.program != "sampler" or job.status is not JobStatus.DONE:
            return ActionResult(key, False, "random bits come from a finished sampler job")
        poller = self.pollers[key[0]]
        try:
            new_id = await poller.client.submit_extractor(
                extractor_params("both", raw_job=job.id),
                tags=("qrng",),
                name=f"bits of {job.id}",
            )
        except ApiError as exc:
            return ActionResult(key, False, f"extraction from {job.id} refused: {exc.detail}")
        poller.wake()
        return ActionResult(key, True, f"extracting random bits from {job.id}: job {new_id}")

    async def set_tags(self, key: JobKey, tags: list[str]) -> ActionResult:
        """Replace a job's tags: shown at once, rolled back if the server refuses."""
        unique = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        problem = tag_problem(unique)
        if problem is not None:
            return ActionResult(key, False, problem)
        return await self._optimistic(key, "tagging…", {"tags": tuple(unique)}, "tags")

    async def rename(self, key: JobKey, name: str) -> ActionResult:
        clean = name.strip() or None
        return await self._optimistic(key, "renaming…", {"name": clean}, "name")

    async def _optimistic(
        self, key: JobKey, intent: str, fields: dict[str, object], what: str
    ) -> ActionResult:
        poller = self.pollers.get(key[0])
        old = self.job(key)
        if poller is None or old is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        poller.jobs[key[1]] = replace(old, **fields)  # type: ignore[arg-type]
        self._intents[key] = intent
        self._publish(ChangeSet(changed=(poller.jobs[key[1]],), intents=(key,)))
        try:
            if what == "tags":
                await poller.client.set_tags(key[1], list(fields["tags"]))  # type: ignore[arg-type]
            else:
                await poller.client.rename(key[1], fields["name"])  # type: ignore[arg-type]
        except ApiError as exc:
            current = poller.jobs.get(key[1])
            if current is not None:
                poller.jobs[key[1]] = replace(current, **{k: getattr(old, k) for k in fields})  # type: ignore[arg-type]
            self._intents.pop(key, None)
            self._publish(ChangeSet(changed=(poller.jobs[key[1]],), intents=(key,)))
            return ActionResult(key, False, f"{what} of {key[1]} refused: {exc.detail}")
        self._intents.pop(key, None)
        confirmed = poller.jobs[key[1]]
        if confirmed.status.is_final and poller.cache is not None:
            await asyncio.to_thread(poller.cache.put, [confirmed])
        self._publish(ChangeSet(intents=(key,)))
        return ActionResult(key, True, f"{what} of {key[1]} saved")
