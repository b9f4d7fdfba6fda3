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
import contextlib
import logging
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NetworkError, NotFound, RateLimited
from qjob_tui.model import Backend, Job, JobStatus
from qjob_tui.store.bus import ChangeBus
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cached_history import CachedHistory
from qjob_tui.store.changes import ChangeSet, SourceHealth
from qjob_tui.store.state import CREATED_MARGIN, Delta, SourceState
from qjob_tui.store.step_reads import StepReads
from qjob_tui.store.store_config import StoreConfig
from qjob_tui.store.stream_listener import StreamListener

log = logging.getLogger("qjob_tui.store")

T = TypeVar("T")

# Jobs created within ``CREATED_MARGIN`` of the cursor are listed again: two jobs can share
# a timestamp, and ``created_after`` is strict. Duplicates are merged by id.
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
QJOB_TUI = "qjob-tui "


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

    def __init__(
        self,
        client: JobClient,
        config: StoreConfig,
        bus: ChangeBus,
        steps_bound: asyncio.Semaphore | None = None,
    ) -> None:
        self.client = client
        self.name = client.source.name
        self.config = config
        self.bus = bus
        self.state = self._fresh_state()
        # The pace it keeps until a round says another (a first round can take long to end).
        self.health = SourceHealth(source=self.name, interval=config.interval)
        self.watched: str | None = None
        self.paused = False
        self.polls = 0
        self._hard_failures = 0  # rounds in a row that got no answer at all
        self._unanswered = False  # said "not answering" since the last round ended
        self._stopped = False
        self._wake = asyncio.Event()
        self._next_places = 0.0
        self._task: asyncio.Task[None] | None = None
        self._backends_task: asyncio.Task[None] | None = None
        self.stream = StreamListener(self)  # pushed changes, where the server offers them
        self.cached = CachedHistory(self)  # the cache, from open to close
        # The steps of finished jobs in view; the bound is the store's, for all its sources.
        self.steps = StepReads(self, steps_bound or asyncio.Semaphore(config.steps_at_once))
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

    @property
    def stopped(self) -> bool:
        return self._stopped

    def publish(self, changes: ChangeSet, state: SourceState) -> None:
        """Publish what ``state`` changed, unless another server's state replaced it since."""
        if state is self.state:
            self.bus.publish(changes)

    # --- life cycle ----------------------------------------------------------------------

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
        self.state.identity_learned(identity)
        cached = await self.cached.load_all()
        for job in cached.added:
            work.delta.added[job.id] = job
        if cached.notices:
            self.bus.publish(ChangeSet(notices=cached.notices))

    def answered_by_another(self) -> bool:
        """Whether the last answer came from a server other than the known one."""
        return self.served_by_another(self.client.served_by)

    def served_by_another(self, served_by: str | None) -> bool:
        """Whether an answer that named ``served_by`` came from a server other than the
        known one."""
        expected = instance_of(self.identity)
        if expected is None:
            # Known as IBM Quantum or a plain URL: only a qjob-tui service that says so (its
            # instance id) is another server; the next identification names it.
            return served_by is not None
        return served_by != expected

    @property
    def listed(self) -> bool:
        """Whether this source's jobs have been listed (upstream, or from the cache of the
        server answering now) since the poller started or another server took its address."""
        return self.state.cursors.primed

    async def _switch(self, work: _Round) -> None:
        """Another server answers at this source's URL (a fresh demo on the same port, a
        proxy pointed elsewhere): the old server's state is replaced whole, then start over."""
        old = self.state
        learned = instance_of(old.identity) is None and self.client.served_by is not None
        log.warning("%s: another server answers now; reloading", self.name)
        self.state = self._fresh_state()
        self._next_places = 0.0
        await self.cached.retire(old)
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
        await self.steps.stop()
        await self.cached.close()
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
        if self.answered_by_another():
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
                async with asyncio.timeout(delay):
                    await self._wake.wait()

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
                self.state.rounds_settled()
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
        self._unanswered = False
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
        self.state.round_failed()
        self.health = replace(
            self.health,
            last_error=str(error),
            last_error_at=now,
            no_answer=isinstance(error, NetworkError),
            # A silence already said counted this round's failure.
            failures=self.health.failures + (0 if self._unanswered else 1),
        )
        self._unanswered = False
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

    def health_noted(self, **fields: Any) -> None:
        """The stream's, the cache's or an upstream's word on this source's health: the poller
        owns the health and publishes each change of it."""
        health = replace(self.health, **fields)
        if health != self.health:
            self.health = health
            self.publish(ChangeSet(health=(health,)), self.state)

    def streaming_changed(self) -> None:
        """The stream opened or broke: poll now, and say the pace that follows (a slow
        reconcile, or the usual pace again) at once, not after the round."""
        now = datetime.now(UTC)
        self.health_noted(streaming=self.stream.live, interval=self._interval(), next_poll=now)
        self.wake()

    def not_answering(self, why: str) -> None:
        """The source took a request and has said nothing for longer than it may (a request
        past its timeout, a live stream past its keep-alive): stale from now, not after the
        tries and backoffs still to come. A round's end says what comes next."""
        if self._unanswered:
            return
        self._unanswered = True
        self.health_noted(
            last_error=why,
            last_error_at=datetime.now(UTC),
            no_answer=True,
            failures=self.health.failures + 1,
            next_poll=None,  # the round in flight is still trying
        )

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
        rate limiting ends the round (``_Abort``): asking more would only make it worse. One
        left unanswered for the client's request timeout makes the source read as not
        answering at once, while the request is tried again."""
        waited = self.client.read_timeout
        silent = ApiError(f"not answering: no answer within {waited:g} s", source=self.name)
        watch = asyncio.get_running_loop().call_later(waited, self.not_answering, str(silent))
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
        finally:
            watch.cancel()
        if self.identity is not None and self.answered_by_another():
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
            state.missing_from_pending(pending_ids)
        await self._fetch_due(work)
        await self._refresh_metrics(work, pending_ids)
        await self._reconcile(work)
        if not work.errors and not priming:
            await self._backfill(work)
        await self.cached.save(state)
        work.backends = await self._poll_backends(work)
        self.steps.look()  # jobs in view that came with this round, or whose read failed

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
            self.client.jobs(created_before=before + CREATED_MARGIN if before else None),
        )
        if page is not None:
            work.state.apply_older_page(page, before, work.started, work.delta)

    async def _backfill_by_offset(self, work: _Round) -> None:
        offset = work.state.cursors.history_offset or 0
        page = await self._ask(work, self.client.jobs(offset=offset))
        if page is None:
            return
        stuck = work.state.apply_offset_page(page, offset, work.started, work.delta)
        if stuck is not None:
            self.bus.publish(ChangeSet(notices=(stuck,)))

    def load_more(self) -> None:
        """The user reached the end of the list: the next page of history now."""
        if not self._history_moving():
            self.wake()

    async def _prime(self, work: _Round) -> None:
        """The first poll of a cold start: the history, newest first, up to ``history``."""
        state = work.state
        state.reconcile_planned(self._now() + self.config.reconcile_interval)
        if state.primed_by_cache():
            return  # warm: the cache's history, what is new comes next
        jobs: list[Job] = []
        while len(jobs) < self.config.history:
            page = await self._ask(work, self.client.jobs(offset=len(jobs)))
            if page is None:
                raise _Abort(work.errors[-1])  # primed only once the newest page is in
            jobs += page.jobs
            if len(page.jobs) < page.limit or len(jobs) >= page.count:
                break
        state.apply_first_pages(jobs, page, work.started, work.delta)
        state.reconcile_planned(self._now() + self.config.reconcile_interval)

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
                work.state.pending_listed(ids)
                return ids

    async def _list_created(self, work: _Round, since: datetime | None, advance: bool) -> None:
        """Apply everything created after ``since``, page by page: with ``advance`` oldest
        first, the cursor following each page received and never further; without it (a
        reconciliation) newest first, a few pages at most."""
        after = since - CREATED_MARGIN if since is not None else None
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
                state.metrics_wanted([job_id])
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
        state.metrics_wanted(self._places_due(work, pending_ids))
        for job_id in sorted(state.cursors.needs_metrics):
            if job_id not in state.jobs:
                state.metrics_gone(job_id)
                continue
            try:
                metrics = await self._ask(work, self.client.metrics(job_id))
            except NotFound:
                state.metrics_gone(job_id)
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
            work.state.reconciled(now + self.config.reconcile_interval)

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
        next_reading = now + self.config.backend_interval
        return work.state.apply_backends(fresh, datetime.now(UTC), next_reading)
