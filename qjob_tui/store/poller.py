"""``SourcePoller``: the polling loop and the known jobs of one source.

One poll is a round of steps (the pending list, the new jobs, jobs to fetch by id, the queued
jobs' places, a reconciliation now and then, a page of older history, the backends). Each step
applies what it received at once, and only that: a step that fails leaves its part unconfirmed
for the next round (the ``created_after`` cursor moves only past jobs really listed, a job whose
fetch failed stays due), and what the other steps received is still shown. Every change to the
known jobs goes into the round's change set, which is published even when the round fails, so a
subscriber never misses a change the store made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
from collections import deque
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NetworkError, NotFound, RateLimited
from qjob_tui.model import Backend, Job, JobStatus, QueueInfo
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cache.job_cache import CachePosition
from qjob_tui.store.changes import ChangeSet, JobKey, SourceHealth
from qjob_tui.store.stream_listener import StreamListener

if TYPE_CHECKING:
    from qjob_tui.store.store import JobStore

log = logging.getLogger("qjob_tui.store")

T = TypeVar("T")

# Jobs created within this margin of the cursor are listed again: two jobs can share a
# timestamp, and ``created_after`` is strict. Duplicates are merged by id.
_CREATED_MARGIN = timedelta(milliseconds=1)
# A reconciliation lists everything created since the oldest job still believed active, or
# this long before the cursor: a job committed late, with an older timestamp, is caught.
_RECONCILE_SLACK = timedelta(seconds=60)
# Pages per step and round: a huge backlog is read over several rounds, never all at once.
_MAX_PAGES = 10
# A reconciliation reads the newest pages of its window only: it costs little, however old the
# oldest active job (a week in an IBM queue) is.
_RECONCILE_PAGES = 3
# How long ``open_cache`` waits to learn who the server is before showing nothing cached.
_IDENTIFY_TIMEOUT = 5.0


# What ``prefetch`` found: the identity, and the cache opened with its newest jobs (no cache
# when the store keeps none).
_Early = tuple[str, JobCache | None, list[Job], CachePosition | None]


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


class _Abort(Exception):
    """The source cannot be reached or asks us to slow down: the round ends here."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Round:
    """What one poll changed and what went wrong, gathered as the steps run."""

    added: dict[str, Job] = field(default_factory=dict)
    changed: dict[str, Job] = field(default_factory=dict)
    removed: list[JobKey] = field(default_factory=list)
    backends: tuple[Backend, ...] = ()
    errors: list[ApiError] = field(default_factory=list)
    answered: int = 0
    started: int = 0  # the poller's ``revision`` when the round began

    def change_set(self, jobs: Mapping[str, Job]) -> ChangeSet:
        """What the round changed, each job as it is now: the stream may have moved it on
        while the round waited for answers, and a subscriber must never get an older one."""
        return ChangeSet(
            added=tuple(jobs[k] for k in self.added if k in jobs),
            changed=tuple(jobs[k] for k in self.changed if k not in self.added and k in jobs),
            removed=tuple(self.removed),
            backends=self.backends,
        )


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
        # The ``created_after`` cursor: every job created before it has been listed.
        self.newest: datetime | None = None
        self.health = SourceHealth(source=self.name)
        self.watched: str | None = None
        # Who the server is (``JobClient.identity``): the key of its cache and state.
        self.identity: str | None = None
        self.polls = 0
        self._hard_failures = 0  # rounds in a row that got no answer at all
        self._primed = False
        # Jobs to fetch by id until their final state is known (left the pending list while
        # believed active, remembered active from the last run, or whose fetch failed).
        self._due: set[str] = set()
        # Jobs whose status changed but whose metrics (steps, usage) could not be read yet.
        self._needs_metrics: set[str] = set()
        # Final jobs not yet written to the cache.
        self._unsaved: set[str] = set()
        self._reconcile_due = False
        # The history below the newest page: everything created at or after
        # ``_history_before`` is known; ``_total`` is what the server counts.
        self._history_before: datetime | None = None
        self._history_complete = not self.config.backfill
        self._total: int | None = None
        self._marks_dirty = False
        self._saved_active: list[str] | None = None
        # The cached jobs older than the first screenful, read by ``load_rest``.
        self._rest_due = False
        self._rest_after: CachePosition | None = None
        self._stopped = False
        self._prefetch: concurrent.futures.Future[_Early | None] | None = None
        self._cache_failed = False
        self._wake = asyncio.Event()
        self._next_backends = 0.0
        self._next_queue_metrics = 0.0
        self._next_reconcile = 0.0
        self._task: asyncio.Task[None] | None = None
        self.stream = StreamListener(self)  # pushed changes, where the server offers them
        # Each job the stream changed, with the revision it did so at: a round that began
        # before then got answers that may be older than the stream's news, and drops them.
        self.revision = 0
        self._streamed: dict[str, int] = {}
        self._rounds = 0

    # --- life cycle ----------------------------------------------------------------------

    async def open_cache(self) -> ChangeSet:
        """Show the newest screenful of this server's cached history at once, after one quick
        question: who are you? (None for IBM Quantum.) ``load_rest`` brings the older jobs. A
        server that does not answer yet gets its cache opened by the first poll that reaches
        it."""
        early = await self._prefetched()
        if early is not None:
            self.identity, *first = early
            return self._show_first(*first)
        try:
            self.identity = await asyncio.wait_for(self.client.identity(), _IDENTIFY_TIMEOUT)
        except (ApiError, TimeoutError):
            return ChangeSet()
        return await self._open_first()

    def prefetch(self) -> None:
        """Start ``open_cache``'s work in a thread now, before the event loop runs: who the
        server is (where that needs no httpx) and the newest screenful of its cache, read
        while the dashboard still imports its widgets."""
        if self._prefetch is not None or self.identity is not None:
            return
        future: concurrent.futures.Future[_Early | None] = concurrent.futures.Future()

        def work() -> None:
            try:
                future.set_result(self._early_open())
            except BaseException as exc:  # handed to open_cache, which falls back
                future.set_exception(exc)

        self._prefetch = future
        threading.Thread(target=work, name=f"prefetch-{self.name}", daemon=True).start()

    def _early_open(self) -> _Early | None:
        identity = self.client.quick_identity()
        if identity is None:
            return None
        if not self.config.use_cache:
            return identity, None, [], None
        return identity, *self._read_first(identity)

    def opened_early(self) -> ChangeSet | None:
        """``open_cache``'s answer without waiting, if ``prefetch`` has it ready; else None
        (then ``open_cache`` waits for it, or asks the usual way)."""
        future = self._prefetch
        if future is None or not future.done() or future.exception() is not None:
            return None
        early = future.result()
        if early is None:
            return None
        self._prefetch = None
        self.identity, *first = early
        return self._show_first(*first)

    async def _prefetched(self) -> _Early | None:
        """What ``prefetch`` found; None if it found nothing sure (the usual path asks)."""
        future, self._prefetch = self._prefetch, None
        if future is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), _IDENTIFY_TIMEOUT)
        except Exception:
            log.warning("%s: the early look failed; asking again", self.name, exc_info=True)
            return None

    def _read_first(self, identity: str) -> tuple[JobCache, list[Job], CachePosition | None]:
        """Open the cache of ``identity`` and read its newest jobs (blocks)."""
        cache = JobCache.for_source(self.name, self.config.cache_dir, identity=identity)
        return (cache, *cache.newest(self.config.first_page))

    async def _open_first(self) -> ChangeSet:
        """Open the cache and read its newest ``first_page`` jobs, in one trip to a thread."""
        if not self.config.use_cache or self.identity is None:
            return ChangeSet()
        return self._show_first(*await asyncio.to_thread(self._read_first, self.identity))

    def _show_first(
        self, cache: JobCache | None, jobs: list[Job], after: CachePosition | None
    ) -> ChangeSet:
        if cache is None:
            return ChangeSet()
        self.cache, self._rest_after, self._rest_due = cache, after, True
        notices = (f"{self.name}: {cache.problem}",) if cache.problem else ()
        return ChangeSet(added=self._take_cached(jobs), notices=notices)

    async def load_rest(self) -> ChangeSet:
        """The rest of the cached history (older than the first screenful), what was active
        at the last stop and how far the history is known: all before the first poll."""
        cache = self.cache
        if not self._rest_due or cache is None:
            return ChangeSet()
        after = self._rest_after

        def rest() -> tuple[list[Job], list[str], dict[str, str]]:
            return cache.older(after), cache.active_ids(), cache.marks()

        try:
            jobs, active, marks = await asyncio.to_thread(rest)
        except ValueError:  # closed under the read: the store stopped
            if not self._stopped:
                raise
            return ChangeSet()
        if self._stopped or cache is not self.cache:
            return ChangeSet()  # stopped, or another server answers now: not this history
        self._rest_due = False
        self._due.update(active)
        if (jobs or self.jobs) and self.config.backfill:
            # Only what a whole write recorded counts: a cache without marks may have gaps,
            # so its history is read again from the top (known jobs merge by id).
            self._history_complete = marks.get("history") == "complete"
            before = marks.get("history_before")
            with contextlib.suppress(ValueError, TypeError):
                self._history_before = datetime.fromisoformat(before)  # type: ignore[arg-type]
        return ChangeSet(added=self._take_cached(jobs))

    def _take_cached(self, jobs: list[Job]) -> tuple[Job, ...]:
        """Cached jobs into the known ones (those not known yet); the newest moves the cursor."""
        taken = []
        for job in jobs:
            if job.id in self.jobs:
                continue
            self.jobs[job.id] = job
            taken.append(job)
            if self.newest is None or job.created > self.newest:
                self.newest = job.created
        return tuple(taken)

    async def _load_cache(self) -> ChangeSet:
        """The whole cache at once (a server first reached by a poll)."""
        first = await self._open_first()
        rest = await self.load_rest()
        return ChangeSet(added=first.added + rest.added, notices=first.notices)

    async def _identify(self, work: _Round) -> None:
        """Learn who the server is before trusting any of its answers; open its cache."""
        identity = await self._ask(work, self.client.identity())
        if identity is None:
            raise _Abort(work.errors[-1])
        self.identity = identity
        cached = await self._load_cache()
        for job in cached.added:
            work.added[job.id] = job
        if cached.notices:
            self.store._publish(ChangeSet(notices=cached.notices))

    def _expected_instance(self) -> str | None:
        if self.identity is not None and self.identity.startswith("qjob-tui "):
            return self.identity.removeprefix("qjob-tui ")
        return None

    async def _switch(self, work: _Round) -> None:
        """Another server answers at this source's URL (a fresh demo on the same port, a
        proxy pointed elsewhere): forget everything of the old one, then start over."""
        log.warning("%s: another server answers now; reloading", self.name)
        for job_id in list(self.jobs):
            self._forget(work, job_id)
        self.backends.clear()
        self.store._forget_source(self.name)
        if self.cache is not None:
            cache, self.cache = self.cache, None
            await asyncio.to_thread(cache.close)
        self.identity = None
        self.newest = None
        self._rest_due = False
        self._rest_after = None
        self._primed = False
        self._due.clear()
        self._needs_metrics.clear()
        self._unsaved.clear()
        self._history_before = None
        self._history_complete = not self.config.backfill
        self._total = None
        self._marks_dirty = False
        self._saved_active = None
        self._next_backends = 0.0
        error = ApiError("another server answers at this address now; reloading", source=self.name)
        work.errors.append(error)
        raise _Abort(error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"poll-{self.name}")
        if self.config.use_stream:
            self.stream.start()

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.stream.stop()
        if self.cache is not None and not self._rest_due:
            # (While the older cached jobs are still unread, a save would overwrite the list
            # of active jobs the file holds with an empty one.)
            await self._save()
            await asyncio.to_thread(self.cache.close)
        await self.client.aclose()

    def wake(self) -> None:
        self._wake.set()

    @property
    def has_active(self) -> bool:
        return any(job.status.is_active for job in self.jobs.values())

    def _interval(self) -> float:
        pending_work = self._due or self._needs_metrics or not self._history_complete
        if self.stream.live and not pending_work:
            return self.config.streaming_interval  # the stream brings changes; polls reconcile
        busy = self.has_active or pending_work
        return self.config.interval if busy else self.config.calm_interval

    def _backoff(self, retry_after: float | None = None) -> float:
        """Exponential backoff with jitter over the rounds in a row that got nothing through,
        at least what the server's Retry-After asked."""
        base = min(self.config.interval * 2**self._hard_failures, self.config.max_backoff)
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
        work = _Round(started=self.revision)
        self._rounds += 1
        try:
            await self._poll(work)
        except _Abort:
            pass
        except ApiError as exc:
            work.errors.append(exc)
        except Exception as exc:  # a bug must not end the loop
            log.exception("poll of %s failed", self.name)
            work.errors.append(ApiError(f"internal error ({type(exc).__name__})", source=self.name))
        finally:  # also when the round is cancelled (the store stops)
            self._rounds -= 1
            if not self._rounds:
                self._streamed.clear()  # rounds from now on begin after all of it
        self.polls += 1
        total = None if self._history_complete else self._total
        self.health = replace(self.health, loaded=len(self.jobs), total=total)
        changes = work.change_set(self.jobs)
        delay = self._failed(work) if work.errors else self._succeeded()
        self.store._publish(replace(changes, health=(self.health,)))
        return delay

    def _succeeded(self) -> float:
        self._hard_failures = 0
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
        return delay

    def _failed(self, work: _Round) -> float:
        """A round with errors: stale. Back off when nothing got through or the source is
        unreachable or rate limited; a round that got most of its answers keeps the pace."""
        error = work.errors[0]
        now = datetime.now(UTC)
        self._reconcile_due = True
        self.health = replace(
            self.health,
            last_error=str(error),
            last_error_at=now,
            failures=self.health.failures + 1,
        )
        limited = next((e for e in work.errors if isinstance(e, RateLimited)), None)
        if work.answered == 0 or isinstance(error, NetworkError):
            self._hard_failures += 1
            delay = self._backoff(limited.retry_after if limited else None)
        elif limited is not None:
            # Answers came, then a 429: wait what it asked, no more; nothing is down.
            self._hard_failures = 0
            wait = limited.retry_after if limited.retry_after is not None else self._interval()
            delay = max(min(wait, self.config.max_backoff), self._interval())
        else:
            self._hard_failures = 0
            delay = self._interval()
        self.health = replace(self.health, interval=delay, next_poll=now + timedelta(seconds=delay))
        return delay

    def _set_paused(self, paused: bool) -> None:
        if self.health.paused != paused:
            self.health = replace(self.health, paused=paused)
            self.store._publish(ChangeSet(health=(self.health,)))

    # --- applying what was received --------------------------------------------------------

    def streamed(self, job_id: str) -> None:
        """The stream just set (or deleted) this job: answers asked for before are older."""
        self.revision += 1
        if self._rounds:
            self._streamed[job_id] = self.revision

    def _apply(self, work: _Round, job: Job) -> tuple[Job | None, Job]:
        """Merge one received job into the known ones; returns (old, new)."""
        old = self.jobs.get(job.id)
        if self._streamed.get(job.id, -1) > work.started:
            return old, old if old is not None else job  # the stream's news is newer
        merged = _merge(old, job)
        if old is not None and old.status != merged.status:
            # A transition we saw: its steps and usage come with the metrics.
            self._needs_metrics.add(job.id)
        if old is None:
            work.added[job.id] = merged
        elif merged != old:
            work.changed[job.id] = merged
        self.jobs[job.id] = merged
        if merged.status.is_final:
            self._due.discard(job.id)
            if old is None or old != merged:
                self._unsaved.add(job.id)
        return old, merged

    def _forget(self, work: _Round, job_id: str) -> None:
        self._due.discard(job_id)
        self._needs_metrics.discard(job_id)
        if self.jobs.pop(job_id, None) is not None:
            work.removed.append((self.name, job_id))
            work.added.pop(job_id, None)
            work.changed.pop(job_id, None)

    async def _ask(self, work: _Round, request: Awaitable[T]) -> T | None:
        """One request: its answer, or None with the error noted. A source that is down or
        rate limiting ends the round (``_Abort``): asking more would only make it worse."""
        try:
            answer = await request
        except NotFound:
            raise
        except (NetworkError, RateLimited) as exc:
            work.errors.append(exc)
            raise _Abort(exc) from None
        except ApiError as exc:
            work.errors.append(exc)
            return None
        if self.identity is not None and self.client.served_by != self._expected_instance():
            await self._switch(work)  # this answer is not the known server's: dropped
        work.answered += 1
        return answer

    # --- one poll --------------------------------------------------------------------------

    async def _poll(self, work: _Round) -> None:
        if self.identity is None:
            await self._identify(work)
        priming = not self._primed and self.newest is None  # a cold start
        if not self._primed:
            await self._prime(work)
        pending_ids = await self._list_pending(work)
        await self._list_new(work)
        if pending_ids is not None:
            for job_id, job in self.jobs.items():
                if job.status.is_active and job_id not in pending_ids:
                    self._due.add(job_id)
        await self._fetch_due(work)
        await self._refresh_metrics(work)
        await self._reconcile(work)
        if not work.errors and not priming:
            await self._backfill(work)
        await self._save()
        work.backends = await self._poll_backends(work)

    async def _backfill(self, work: _Round) -> None:
        """One page of older history per poll, newest first, until every job is known;
        gentle on a rate-limited API, and done once: the cache keeps what it fetched."""
        if self._history_complete:
            return
        before = self._history_before
        page = await self._ask(
            work,
            self.client.jobs(created_before=before + _CREATED_MARGIN if before else None),
        )
        if page is None:
            return
        for job in page.jobs:
            self._apply(work, job)
        if page.jobs:
            oldest = min(job.created for job in page.jobs)
            if before is not None and oldest >= before:
                oldest = before - _CREATED_MARGIN  # a page of one instant: step past it
            self._history_before = oldest
        self._total = len(self.jobs) + max(page.count - len(page.jobs), 0)
        if len(page.jobs) < page.limit or page.count <= len(page.jobs):
            self._history_complete = True
        self._marks_dirty = True

    @property
    def history_complete(self) -> bool:
        """True once every job the server had when this began is known."""
        return self._history_complete

    def load_more(self) -> None:
        """The user reached the end of the list: the next page of history now."""
        if not self._history_complete:
            self.wake()

    async def _prime(self, work: _Round) -> None:
        """The first poll of a cold start: the history, newest first, up to ``history``."""
        self._next_reconcile = self._now() + self.config.reconcile_interval
        if self.newest is not None:
            self._primed = True  # warm: the cache's history, what is new comes next
            return
        jobs: list[Job] = []
        while len(jobs) < self.config.history:
            page = await self._ask(work, self.client.jobs(offset=len(jobs)))
            if page is None:
                raise _Abort(work.errors[-1])  # primed only once the newest page is in
            jobs += page.jobs
            if len(page.jobs) < page.limit or len(jobs) >= page.count:
                break
        for job in jobs:
            self._apply(work, job)
        if jobs:
            self.newest = max(job.created for job in jobs)
        self._total = max(page.count, len(jobs))
        if len(page.jobs) < page.limit or len(jobs) >= page.count:
            self._history_complete = True
        elif jobs:
            self._history_before = min(job.created for job in jobs)
        self._marks_dirty = True
        self._primed = True
        self._next_reconcile = self._now() + self.config.reconcile_interval

    async def _list_pending(self, work: _Round) -> set[str] | None:
        """Apply the pending list; its ids, or None when it did not arrive whole."""
        ids: set[str] = set()
        offset = 0
        while True:
            page = await self._ask(work, self.client.jobs(pending=True, offset=offset))
            if page is None:
                return None
            for job in page.jobs:
                ids.add(job.id)
                self._apply(work, job)
            offset += len(page.jobs)
            if len(page.jobs) < page.limit or offset >= page.count:
                self._due -= ids  # listed as pending: the list keeps them fresh
                return ids

    async def _list_created(self, work: _Round, since: datetime | None, advance: bool) -> None:
        """Apply everything created after ``since``, page by page: with ``advance`` oldest
        first, the cursor following each page received and never further; without it (a
        reconciliation) newest first, a few pages at most."""
        after = since - _CREATED_MARGIN if since is not None else None
        offset = 0
        for _ in range(_MAX_PAGES if advance else _RECONCILE_PAGES):
            page = await self._ask(
                work, self.client.jobs(created_after=after, descending=not advance, offset=offset)
            )
            if page is None:
                return
            for job in page.jobs:
                self._apply(work, job)
                if advance and (self.newest is None or job.created > self.newest):
                    self.newest = job.created
            offset += len(page.jobs)
            if len(page.jobs) < page.limit or offset >= page.count:
                return

    async def _list_new(self, work: _Round) -> None:
        await self._list_created(work, self.newest, advance=True)

    async def _fetch_due(self, work: _Round) -> None:
        """Fetch by id every job whose final state is not known yet, and the one on screen."""
        targets = sorted(self._due)
        if self.watched in self.jobs and self.jobs[self.watched].status.is_active:
            targets.append(self.watched)
        for job_id in dict.fromkeys(targets):
            try:
                job = await self._ask(work, self.client.job(job_id))
            except NotFound:
                self._forget(work, job_id)
                continue
            if job is None:
                continue  # still due: the next round asks again
            _, merged = self._apply(work, job)
            if job_id == self.watched and merged.status.is_active:
                self._needs_metrics.add(job_id)
            # A fetched job still active stays due: it was missing from the pending list (a
            # race between pages), so only the pending list or a later fetch settles it.

    async def _refresh_metrics(self, work: _Round) -> None:
        """Metrics for jobs whose status changed, queued jobs seen for the first time (their
        place in the queue comes only with the metrics), and queued jobs' places on a slow
        cadence."""
        new_queued = sorted(i for i, job in work.added.items() if job.status is JobStatus.QUEUED)
        self._needs_metrics.update(new_queued[:50])  # bounded, as on the slow cadence
        now = self._now()
        if now >= self._next_queue_metrics:
            self._next_queue_metrics = now + self.config.backend_interval
            queued = [j.id for j in self.jobs.values() if j.status is JobStatus.QUEUED]
            self._needs_metrics.update(queued[:50])
        from qjob_tui.api.parse import with_metrics

        for job_id in sorted(self._needs_metrics):
            job = self.jobs.get(job_id)
            if job is None:
                self._needs_metrics.discard(job_id)
                continue
            try:
                metrics = await self._ask(work, self.client.metrics(job_id))
            except NotFound:
                self._needs_metrics.discard(job_id)
                continue
            if metrics is None:
                continue  # retried next round
            self._needs_metrics.discard(job_id)
            if self._streamed.get(job_id, -1) > work.started:
                continue  # the stream's metrics came after these
            current = self.jobs.get(job_id, job)
            fresh = with_metrics(current, metrics)
            if fresh != current:
                self.jobs[job_id] = fresh
                if job_id in work.added:
                    work.added[job_id] = fresh
                else:
                    work.changed[job_id] = fresh
                if fresh.status.is_final:
                    self._unsaved.add(job_id)

    async def _reconcile(self, work: _Round) -> None:
        """Now and then, and after a round with errors, list everything created since the
        oldest job still believed active: what any earlier round missed comes back."""
        now = self._now()
        if not (self._reconcile_due and not work.errors) and now < self._next_reconcile:
            return
        active = [job.created for job in self.jobs.values() if job.status.is_active]
        since = min(active) if active else None
        if self.newest is not None:
            floor = self.newest - _RECONCILE_SLACK
            since = floor if since is None else min(since, floor)
        errors = len(work.errors)
        await self._list_created(work, since, advance=False)
        if len(work.errors) == errors:
            self._reconcile_due = False
            self._next_reconcile = now + self.config.reconcile_interval

    # --- the cache -------------------------------------------------------------------------

    def _marks(self) -> dict[str, str]:
        if self._history_complete:
            return {"history": "complete"}
        if self._history_before is not None:
            return {"history": "partial", "history_before": self._history_before.isoformat()}
        return {}

    async def _save(self) -> None:
        """Write the final jobs not yet in the cache, the active ones and the history marks,
        all in one transaction; a failed write is reported once and tried again next poll."""
        if self.cache is None:
            return
        active = sorted({j.id for j in self.jobs.values() if j.status.is_active} | self._due)
        if not (self._unsaved or self._marks_dirty or active != self._saved_active):
            return
        ids = list(self._unsaved)
        jobs = [self.jobs[i] for i in ids if i in self.jobs]
        marks = self._marks()
        cache = self.cache
        ok = await asyncio.to_thread(cache.save, jobs, active, marks)
        if ok:
            self._saved_active = active
            self._unsaved.difference_update(ids)
            self._marks_dirty = False
            if self._cache_failed:
                self._cache_failed = False
                self.health = replace(self.health, cache_problem=None)
            return
        if not self._cache_failed:
            self._cache_failed = True
            problem = f"{self.name}: {cache.problem or 'the cache could not be written'}"
            log.warning("%s (the jobs stay on screen; the next start fetches them again)", problem)
            self.health = replace(self.health, cache_problem=problem)
            self.store._publish(ChangeSet(notices=(problem,)))

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def _poll_backends(self, work: _Round) -> tuple[Backend, ...]:
        now = self._now()
        if now < self._next_backends:
            return ()
        fresh = await self._ask(work, self.client.backends())
        if fresh is None:
            return ()
        self._next_backends = now + self.config.backend_interval
        stamp = datetime.now(UTC)
        changed = []
        for backend in fresh:
            history = self.store._queue_history.setdefault(
                (self.name, backend.name), deque(maxlen=self.config.queue_samples)
            )
            history.append((stamp, backend.queue_length))
            if self.backends.get(backend.name) != backend:
                changed.append(backend)
            self.backends[backend.name] = backend
        return tuple(changed)
