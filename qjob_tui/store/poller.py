"""``SourcePoller``: when and what to ask one source (timers, cursors, backoff, health).

One poll is a round of steps (the pending list, the new jobs, jobs to fetch by id, the queued
jobs' places, a reconciliation now and then, a page of older history, the backends). Each step
hands what it received to the source's ``SourceState``, which applies it and only it: a step
that fails leaves its part unconfirmed for the next round (the ``created_after`` cursor moves
only past jobs really listed, a job whose fetch failed stays due), and what the other steps
received is still shown. Every change goes into the round's change set, published on the bus
even when the round fails, so a subscriber never misses a change the store made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NetworkError, NotFound, RateLimited
from qjob_tui.model import Backend, Job, JobStatus
from qjob_tui.store.bus import ChangeBus
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cache.job_cache import CachePosition
from qjob_tui.store.changes import ChangeSet, SourceHealth
from qjob_tui.store.state import Delta, SourceState
from qjob_tui.store.store_config import StoreConfig
from qjob_tui.store.stream_listener import StreamListener

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
# Queued jobs whose places are read by id per round, where the listing does not carry them.
_PLACES_PER_ROUND = 20
# How long ``open_cache`` waits to learn who the server is before showing nothing cached.
_IDENTIFY_TIMEOUT = 5.0
QJOB_TUI = "qjob-tui "

# What ``prefetch`` found: the identity, and the cache opened with its newest jobs (no cache
# when the store keeps none).
_Early = tuple[str, JobCache | None, list[Job], CachePosition | None]


def instance_of(identity: str | None) -> str | None:
    """The qjob-tui service instance an identity names, if it names one."""
    if identity is not None and identity.startswith(QJOB_TUI):
        return identity.removeprefix(QJOB_TUI)
    return None


class _Abort(Exception):
    """The source cannot be reached or asks us to slow down: the round ends here."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Round:
    """What one poll changed and what went wrong, gathered as the steps run."""

    state: SourceState
    delta: Delta = field(default_factory=Delta)
    backends: tuple[Backend, ...] = ()
    errors: list[ApiError] = field(default_factory=list)
    answered: int = 0
    started: int = 0  # the state's ``revision`` when the round began

    def change_set(self) -> ChangeSet:
        """What the round changed, each job as it is now: the stream may have moved it on
        while the round waited for answers, and a subscriber must never get an older one."""
        jobs, name, delta = self.state.jobs, self.state.name, self.delta
        return ChangeSet(
            added=tuple(jobs[k] for k in delta.added if k in jobs),
            changed=tuple(jobs[k] for k in delta.changed if k not in delta.added and k in jobs),
            removed=tuple((name, k) for k in delta.removed),
            backends=self.backends,
        )


class SourcePoller:
    """When and what to ask one source; its state lives in ``self.state``."""

    def __init__(self, client: JobClient, config: StoreConfig, bus: ChangeBus) -> None:
        self.client = client
        self.name = client.source.name
        self.config = config
        self.bus = bus
        self.state = self._fresh_state()
        self.health = SourceHealth(source=self.name)
        self.watched: str | None = None
        self.paused = False
        self.polls = 0
        self._hard_failures = 0  # rounds in a row that got no answer at all
        self._stopped = False
        self._prefetch: concurrent.futures.Future[_Early | None] | None = None
        self._cache_failed = False
        self._wake = asyncio.Event()
        self._next_places = 0.0
        self._task: asyncio.Task[None] | None = None
        self._backends_task: asyncio.Task[None] | None = None
        self.stream = StreamListener(self)  # pushed changes, where the server offers them
        self._rounds = 0

    def _fresh_state(self, identity: str | None = None) -> SourceState:
        return SourceState(
            self.name, identity, backfill=self.config.backfill, samples=self.config.queue_samples
        )

    # --- what the rest of the store reads -------------------------------------------------

    @property
    def jobs(self) -> dict[str, Job]:
        return self.state.jobs

    @property
    def backends(self) -> dict[str, Backend]:
        return self.state.backends

    @property
    def cache(self) -> JobCache | None:
        return self.state.cache

    @property
    def identity(self) -> str | None:
        return self.state.identity

    @property
    def newest(self) -> datetime | None:
        return self.state.cursors.newest

    @property
    def history_complete(self) -> bool:
        """True once every job the server had when this began is known."""
        return self.state.cursors.history_complete

    def publish(self, changes: ChangeSet, state: SourceState) -> None:
        """Publish what ``state`` changed, unless another server's state replaced it since."""
        if state is self.state:
            self.bus.publish(changes)

    # --- life cycle ----------------------------------------------------------------------

    async def open_cache(self) -> ChangeSet:
        """Show the newest screenful of this server's cached history at once, after one quick
        question: who are you? ``load_rest`` brings the older jobs. A server that does not
        answer yet gets its cache opened by the first poll that reaches it."""
        early = await self._prefetched()
        if early is not None:
            self.state.identity, *first = early
            return self._show_first(*first)
        try:
            self.state.identity = await asyncio.wait_for(self.client.identity(), _IDENTIFY_TIMEOUT)
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
        self.state.identity, *first = early
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
        state = self.state
        first = await asyncio.to_thread(self._read_first, state.identity)  # type: ignore[arg-type]
        if state is not self.state:
            await asyncio.to_thread(first[0].close)
            return ChangeSet()
        return self._show_first(*first)

    def _show_first(
        self, cache: JobCache | None, jobs: list[Job], after: CachePosition | None
    ) -> ChangeSet:
        if cache is None:
            return ChangeSet()
        state = self.state
        state.cache, state.cursors.rest_after, state.cursors.rest_due = cache, after, True
        notices = (f"{self.name}: {cache.problem}",) if cache.problem else ()
        return ChangeSet(added=state.take_cached(jobs), notices=notices)

    async def load_rest(self) -> ChangeSet:
        """The rest of the cached history (older than the first screenful), what was active
        at the last stop and how far the history is known: all before the first poll."""
        state = self.state
        cursors, cache = state.cursors, state.cache
        if not cursors.rest_due or cache is None:
            return ChangeSet()
        after = cursors.rest_after

        def rest() -> tuple[list[Job], list[str], dict[str, str]]:
            return cache.older(after), cache.active_ids(), cache.marks()

        try:
            jobs, active, marks = await asyncio.to_thread(rest)
        except ValueError:  # closed under the read: the store stopped
            if not self._stopped:
                raise
            return ChangeSet()
        if self._stopped or state is not self.state:
            return ChangeSet()  # stopped, or another server answers now: not this history
        cursors.rest_due = False
        cursors.due.update(active)
        if (jobs or state.jobs) and self.config.backfill:
            # Only what a whole write recorded counts: a cache without marks may have gaps,
            # so its history is read again from the top (known jobs merge by id).
            cursors.history_complete = marks.get("history") == "complete"
            before = marks.get("history_before")
            with contextlib.suppress(ValueError, TypeError):
                cursors.history_before = datetime.fromisoformat(before)  # type: ignore[arg-type]
        return ChangeSet(added=state.take_cached(jobs))

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
        served_by = self.client.served_by
        if served_by is not None and instance_of(identity) is None:
            # However it was reached (an IBM account's URL, a proxy), a qjob-tui service is
            # known by its instance id.
            identity = QJOB_TUI + served_by
        self.state.identity = identity
        cached = await self._load_cache()
        for job in cached.added:
            work.delta.added[job.id] = job
        if cached.notices:
            self.bus.publish(ChangeSet(notices=cached.notices))

    def _answered_by_another(self) -> bool:
        """Whether the last answer came from a server other than the known one."""
        expected = instance_of(self.identity)
        served_by = self.client.served_by
        if expected is None:
            # Known as IBM Quantum or a plain URL: only a qjob-tui service that says so (its
            # instance id) is another server; the next identification names it.
            return served_by is not None
        return served_by != expected

    async def _switch(self, work: _Round) -> None:
        """Another server answers at this source's URL (a fresh demo on the same port, a
        proxy pointed elsewhere): the old server's state is replaced whole, then start over."""
        old = self.state
        learned = instance_of(old.identity) is None and self.client.served_by is not None
        log.warning("%s: another server answers now; reloading", self.name)
        self.state = self._fresh_state()
        self._next_places = 0.0
        if old.cache is not None:
            await asyncio.to_thread(old.cache.close)
        removed = tuple((self.name, job_id) for job_id in old.jobs)
        work.state, work.delta = self.state, Delta()
        self.bus.publish(ChangeSet(removed=removed, switched=(self.name,)))
        if learned:
            # The same address, now known by its instance id: read again under that name.
            message = f"{self.name} is the qjob-tui service {self.client.served_by}; reloading"
        else:
            message = "another server answers at this address now; reloading"
        error = ApiError(message, source=self.name)
        work.errors.append(error)
        raise _Abort(error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"poll-{self.name}")
        if self.config.use_stream:
            self.stream.start()

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._task, self._backends_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.stream.stop()
        state = self.state
        if state.cache is not None and not state.cursors.rest_due:
            # (While the older cached jobs are still unread, a save would overwrite the list
            # of active jobs the file holds with an empty one.)
            await self._save(state)
            await asyncio.to_thread(state.cache.close)
        await self.client.aclose()

    def wake(self) -> None:
        self._wake.set()

    def backends_due(self) -> None:
        """Jobs moved in a way no poll saw (a push): read the queue lengths now, alone (a
        whole round would ask again what the push just said)."""
        if self._backends_task is None or self._backends_task.done():
            self._backends_task = asyncio.create_task(
                self._read_backends(), name=f"backends-{self.name}"
            )

    async def _read_backends(self) -> None:
        state = self.state
        try:
            fresh = await self.client.backends()
        except ApiError as exc:
            log.info("backends of %s: %s", self.name, exc)
            return
        if self._answered_by_another():
            self.wake()  # the next round finds out and switches
            return
        changed = state.apply_backends(fresh, datetime.now(UTC))
        if changed:
            self.publish(ChangeSet(backends=changed), state)

    @property
    def has_active(self) -> bool:
        return any(job.status.is_active for job in self.jobs.values())

    def _interval(self) -> float:
        cursors = self.state.cursors
        pending_work = cursors.due or cursors.needs_metrics or not self._history_moving()
        if self.stream.live and not pending_work:
            return self.config.streaming_interval  # the stream brings changes; polls reconcile
        busy = self.has_active or pending_work
        return self.config.interval if busy else self.config.calm_interval

    def _history_moving(self) -> bool:
        """False while older history is still to read (a reason to poll at the busy pace)."""
        cursors = self.state.cursors
        return cursors.history_complete or cursors.history_stuck is not None

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
            if self.paused:
                delay = self.config.calm_interval
            else:
                delay = await self.poll_once()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def poll_once(self) -> float:
        """One poll; failures become health, never exceptions. Returns the delay to the next."""
        work = _Round(state=self.state, started=self.state.revision)
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
                self.state.streamed.clear()  # rounds from now on begin after all of it
        self.polls += 1
        cursors = self.state.cursors
        total = None if cursors.history_complete or cursors.history_stuck else cursors.total
        self.health = replace(
            self.health, loaded=len(self.jobs), total=total, history=cursors.history_stuck
        )
        changes = work.change_set() if work.state is self.state else ChangeSet()
        delay = self._failed(work) if work.errors else self._succeeded()
        self.bus.publish(replace(changes, health=(self.health,)))
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
            paused=self.paused,
        )
        return delay

    def _failed(self, work: _Round) -> float:
        """A round with errors: stale. Back off when nothing got through or the source is
        unreachable or rate limited; a round that got most of its answers keeps the pace."""
        error = work.errors[0]
        now = datetime.now(UTC)
        self.state.cursors.reconcile_due = True
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

    def set_paused(self, paused: bool) -> ChangeSet:
        """Pause or resume polling; the health change to announce."""
        self.paused = paused
        if self.health.paused == paused:
            return ChangeSet()
        self.health = replace(self.health, paused=paused)
        return ChangeSet(health=(self.health,))

    # --- asking ----------------------------------------------------------------------------

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
        if self.identity is not None and self._answered_by_another():
            await self._switch(work)  # this answer is not the known server's: dropped
        if work.state is not self.state:
            raise _Abort(ApiError("the source was reset", source=self.name))
        work.answered += 1
        return answer

    # --- one poll --------------------------------------------------------------------------

    async def _poll(self, work: _Round) -> None:
        if self.identity is None:
            await self._identify(work)
        state = work.state
        cursors = state.cursors
        priming = not cursors.primed and cursors.newest is None  # a cold start
        if not cursors.primed:
            await self._prime(work)
        pending_ids = await self._list_pending(work)
        await self._list_new(work)
        if pending_ids is not None:
            for job_id, job in state.jobs.items():
                if job.status.is_active and job_id not in pending_ids:
                    cursors.due.add(job_id)
        await self._fetch_due(work)
        await self._refresh_metrics(work, pending_ids)
        await self._reconcile(work)
        if not work.errors and not priming:
            await self._backfill(work)
        await self._save(state)
        work.backends = await self._poll_backends(work)

    async def _backfill(self, work: _Round) -> None:
        """One page of older history per poll, newest first, until every job is known;
        gentle on a rate-limited API, and done once: the cache keeps what it fetched. A page
        that brings nothing older (a server that ignores ``created_before``) turns to
        ``offset`` paging; a server that pages neither way is said once."""
        cursors = work.state.cursors
        if cursors.history_complete or cursors.history_stuck is not None:
            return
        if cursors.history_offset is not None:
            await self._backfill_by_offset(work)
            return
        before = cursors.history_before
        page = await self._ask(
            work,
            self.client.jobs(created_before=before + _CREATED_MARGIN if before else None),
        )
        if page is None:
            return
        known = len(work.state.jobs)
        for job in page.jobs:
            work.state.apply_listed(job, work.started, work.delta)
        older = [job.created for job in page.jobs if before is None or job.created < before]
        cursors.total = len(work.state.jobs) + max(page.count - len(page.jobs), 0)
        cursors.marks_dirty = True
        if len(page.jobs) < page.limit or page.count <= len(page.jobs):
            cursors.history_complete = True
        elif older:
            cursors.history_before = min(older)
        elif len(work.state.jobs) == known:
            # Nothing older and nothing new: ``created_before`` is not honoured. Page by
            # offset from what is known (every known job is among the newest).
            cursors.history_offset = known
        else:
            cursors.history_before = before - _CREATED_MARGIN  # type: ignore[operator]

    async def _backfill_by_offset(self, work: _Round) -> None:
        cursors = work.state.cursors
        offset = cursors.history_offset or 0
        page = await self._ask(work, self.client.jobs(offset=offset))
        if page is None:
            return
        known = len(work.state.jobs)
        for job in page.jobs:
            work.state.apply_listed(job, work.started, work.delta)
        cursors.history_offset = offset + len(page.jobs)
        cursors.total = max(page.count, len(work.state.jobs))
        if len(page.jobs) < page.limit or cursors.history_offset >= page.count:
            cursors.history_complete = True
        elif len(work.state.jobs) == known:
            # A whole page of jobs already known: offsets are not honoured either.
            cursors.history_stuck = (
                f"{self.name}: older history cannot be paged (the server ignores "
                "created_before and offset); showing the newest jobs only"
            )
            self.bus.publish(ChangeSet(notices=(cursors.history_stuck,)))
        cursors.marks_dirty = True

    def load_more(self) -> None:
        """The user reached the end of the list: the next page of history now."""
        if not self._history_moving():
            self.wake()

    async def _prime(self, work: _Round) -> None:
        """The first poll of a cold start: the history, newest first, up to ``history``."""
        state = work.state
        cursors = state.cursors
        cursors.next_reconcile = self._now() + self.config.reconcile_interval
        if cursors.newest is not None:
            cursors.primed = True  # warm: the cache's history, what is new comes next
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
            state.apply_listed(job, work.started, work.delta)
        if jobs:
            cursors.newest = max(job.created for job in jobs)
        cursors.total = max(page.count, len(jobs))
        if len(page.jobs) < page.limit or len(jobs) >= page.count:
            cursors.history_complete = True
        elif jobs:
            cursors.history_before = min(job.created for job in jobs)
        cursors.marks_dirty = True
        cursors.primed = True
        cursors.next_reconcile = self._now() + self.config.reconcile_interval

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
                work.state.apply_listed(job, work.started, work.delta)
            offset += len(page.jobs)
            if len(page.jobs) < page.limit or offset >= page.count:
                work.state.cursors.due -= ids  # listed as pending: the list keeps them fresh
                return ids

    async def _list_created(self, work: _Round, since: datetime | None, advance: bool) -> None:
        """Apply everything created after ``since``, page by page: with ``advance`` oldest
        first, the cursor following each page received and never further; without it (a
        reconciliation) newest first, a few pages at most."""
        after = since - _CREATED_MARGIN if since is not None else None
        offset = 0
        state = work.state
        for _ in range(_MAX_PAGES if advance else _RECONCILE_PAGES):
            page = await self._ask(
                work, self.client.jobs(created_after=after, descending=not advance, offset=offset)
            )
            if page is None:
                return
            for job in page.jobs:
                state.apply_listed(job, work.started, work.delta)
                if advance:
                    state.see_created(job)
            offset += len(page.jobs)
            if len(page.jobs) < page.limit or offset >= page.count:
                return

    async def _list_new(self, work: _Round) -> None:
        await self._list_created(work, work.state.cursors.newest, advance=True)

    async def _fetch_due(self, work: _Round) -> None:
        """Fetch by id every job whose final state is not known yet, and the one on screen."""
        state = work.state
        targets = sorted(state.cursors.due)
        if self.watched in state.jobs and state.jobs[self.watched].status.is_active:
            targets.append(self.watched)
        for job_id in dict.fromkeys(targets):
            try:
                job = await self._ask(work, self.client.job(job_id))
            except NotFound:
                state.forget(job_id, work.delta)
                continue
            if job is None:
                continue  # still due: the next round asks again
            _, merged = state.apply_listed(job, work.started, work.delta)
            if job_id == self.watched and merged.status.is_active:
                state.cursors.needs_metrics.add(job_id)
            # A fetched job still active stays due: it was missing from the pending list (a
            # race between pages), so only the pending list or a later fetch settles it.

    def _places_due(self, work: _Round, pending_ids: set[str] | None) -> list[str]:
        """Queued jobs whose places to read by id this round: every round, since a place
        moves whenever a job ahead starts, unless the pending list carried the places."""
        state = work.state
        queued = [j for j in state.jobs.values() if j.status is JobStatus.QUEUED]
        listed = pending_ids or set()
        if any(j.id in listed and j.queue.position is not None for j in queued):
            return []  # the listing carries each queued job's place: nothing to ask
        fresh = [j.id for j in queued if j.id in work.delta.added]
        if not state.cursors.places_by_metrics:
            return []  # the server gives no places (IBM Quantum): asking costs, shows nothing
        if self.stream.live or self._now() < self._next_places:
            return fresh
        self._next_places = self._now() + self.config.interval / 2
        return (fresh + sorted(j.id for j in queued))[:_PLACES_PER_ROUND]

    async def _refresh_metrics(self, work: _Round, pending_ids: set[str] | None) -> None:
        """Metrics for jobs whose status changed, and the queued jobs' places."""
        state = work.state
        state.cursors.needs_metrics.update(self._places_due(work, pending_ids))
        for job_id in sorted(state.cursors.needs_metrics):
            if job_id not in state.jobs:
                state.cursors.needs_metrics.discard(job_id)
                continue
            try:
                metrics = await self._ask(work, self.client.metrics(job_id))
            except NotFound:
                state.cursors.needs_metrics.discard(job_id)
                continue
            if metrics is None:
                continue  # retried next round
            state.apply_metrics(job_id, metrics, work.started, work.delta)

    async def _reconcile(self, work: _Round) -> None:
        """Now and then, and after a round with errors, list everything created since the
        oldest job still believed active: what any earlier round missed comes back."""
        cursors = work.state.cursors
        now = self._now()
        if not (cursors.reconcile_due and not work.errors) and now < cursors.next_reconcile:
            return
        active = [job.created for job in work.state.jobs.values() if job.status.is_active]
        since = min(active) if active else None
        if cursors.newest is not None:
            floor = cursors.newest - _RECONCILE_SLACK
            since = floor if since is None else min(since, floor)
        errors = len(work.errors)
        await self._list_created(work, since, advance=False)
        if len(work.errors) == errors:
            cursors.reconcile_due = False
            cursors.next_reconcile = now + self.config.reconcile_interval

    # --- the cache -------------------------------------------------------------------------

    async def _save(self, state: SourceState) -> None:
        """Write the final jobs not yet in the cache, the active ones and the history marks,
        all in one transaction; a failed write is reported once and tried again next poll."""
        cache, cursors = state.cache, state.cursors
        if cache is None:
            return
        active = state.active
        if not (cursors.unsaved or cursors.marks_dirty or active != cursors.saved_active):
            return
        ids = list(cursors.unsaved)
        jobs = [state.jobs[i] for i in ids if i in state.jobs]
        ok = await asyncio.to_thread(cache.save, jobs, active, state.marks())
        if ok:
            cursors.saved_active = active
            cursors.unsaved.difference_update(ids)
            cursors.marks_dirty = False
            if self._cache_failed:
                self._cache_failed = False
                self.health = replace(self.health, cache_problem=None)
            return
        if not self._cache_failed:
            self._cache_failed = True
            problem = f"{self.name}: {cache.problem or 'the cache could not be written'}"
            log.warning("%s (the jobs stay on screen; the next start fetches them again)", problem)
            self.health = replace(self.health, cache_problem=problem)
            self.bus.publish(ChangeSet(notices=(problem,)))

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def _poll_backends(self, work: _Round) -> tuple[Backend, ...]:
        """The backends and their queue lengths: whenever jobs moved (a queue length must
        agree with the places shown beside it), else on the slow cadence."""
        cursors = work.state.cursors
        now = self._now()
        moved = work.delta.added or work.delta.changed or work.delta.removed
        if now < cursors.next_backends and not moved:
            return ()
        fresh = await self._ask(work, self.client.backends())
        if fresh is None:
            return ()
        cursors.next_backends = now + self.config.backend_interval
        return work.state.apply_backends(fresh, datetime.now(UTC))
