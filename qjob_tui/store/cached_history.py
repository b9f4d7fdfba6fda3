"""``CachedHistory``: one source's job cache from open to close.

The cache is opened for the server's identity (each server has its own file), its newest
screenful shown at once, the older jobs read before the first poll, what each round learned
saved after it, and the file closed when the store stops or another server answers at the
address. The poller only polls: it calls ``load_all`` once it learns who the server is,
``save`` after a round and ``close`` at its stop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any, Protocol

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.model import Job
from qjob_tui.store.bus import ChangeBus
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cache.job_cache import CachePosition
from qjob_tui.store.changes import ChangeSet, SourceHealth
from qjob_tui.store.state import SourceState
from qjob_tui.store.store_config import StoreConfig

log = logging.getLogger("qjob_tui.store")

# How long ``open`` waits to learn who the server is before showing nothing cached.
IDENTIFY_TIMEOUT = 5.0

# What ``prefetch`` found: the identity, and the cache opened with its newest jobs (no cache
# when the store keeps none).
_Early = tuple[str, JobCache | None, list[Job], CachePosition | None]


class Polled(Protocol):
    """What the cache needs of its source: the client, the state it fills, the health it
    reports a failed write in, a way to publish, and whether the store stopped."""

    name: str
    client: JobClient
    config: StoreConfig
    state: SourceState
    health: SourceHealth
    bus: ChangeBus

    @property
    def stopped(self) -> bool: ...

    def publish(self, changes: ChangeSet, state: SourceState) -> None: ...

    def health_noted(self, **fields: Any) -> None: ...


class CachedHistory:
    """Opens, reads, saves and closes one source's cache, into the source's state."""

    def __init__(self, poller: Polled) -> None:
        self.poller = poller
        self._prefetch: concurrent.futures.Future[_Early | None] | None = None
        self._failed = False  # the last write failed (said once, until one succeeds)

    # --- opening ---------------------------------------------------------------------------

    async def open(self) -> ChangeSet:
        """Show the newest screenful of this server's cached history at once, after one quick
        question: who are you? ``load_rest`` brings the older jobs. A server that does not
        answer yet gets its cache opened by the first poll that reaches it (``load_all``)."""
        poller = self.poller
        early = await self._prefetched()
        if early is not None:
            return self._show_early(early)
        try:
            async with asyncio.timeout(IDENTIFY_TIMEOUT):
                identity = await poller.client.identity()
        except (ApiError, TimeoutError):
            return ChangeSet()
        poller.state.identity_learned(identity)
        return await self._open_first()

    def prefetch(self) -> None:
        """Start ``open``'s work in a thread now, before the event loop runs: who the server
        is (where that needs no httpx) and the newest screenful of its cache, read while the
        dashboard still imports its widgets."""
        if self._prefetch is not None or self.poller.state.identity is not None:
            return
        future: concurrent.futures.Future[_Early | None] = concurrent.futures.Future()

        def work() -> None:
            try:
                future.set_result(self._early_open())
            except BaseException as exc:  # handed to open, which falls back
                future.set_exception(exc)

        self._prefetch = future
        name = f"prefetch-{self.poller.name}"
        threading.Thread(target=work, name=name, daemon=True).start()

    def _early_open(self) -> _Early | None:
        identity = self.poller.client.quick_identity()
        if identity is None:
            return None
        if not self.poller.config.use_cache:
            return identity, None, [], None
        return identity, *self._read_first(identity)

    def ready_early(self) -> bool:
        """True if ``opened_early`` has an answer now: ``prefetch`` is done and found one."""
        future = self._prefetch
        return (
            future is not None
            and future.done()
            and future.exception() is None
            and future.result() is not None
        )

    def opened_early(self) -> ChangeSet | None:
        """``open``'s answer without waiting, if ``prefetch`` has it ready; else None (then
        ``open`` waits for it, or asks the usual way)."""
        future = self._prefetch
        if future is None or not self.ready_early():
            return None
        early = future.result()
        assert early is not None  # ready_early
        self._prefetch = None
        return self._show_early(early)

    async def _prefetched(self) -> _Early | None:
        """What ``prefetch`` found; None if it found nothing sure (the usual path asks)."""
        future, self._prefetch = self._prefetch, None
        if future is None:
            return None
        try:
            async with asyncio.timeout(IDENTIFY_TIMEOUT):
                return await asyncio.wrap_future(future)
        except Exception:
            log.warning("%s: the early look failed; asking again", self.poller.name, exc_info=True)
            return None

    def _read_first(self, identity: str) -> tuple[JobCache, list[Job], CachePosition | None]:
        """Open the cache of ``identity`` and read its newest jobs (blocks)."""
        config = self.poller.config
        cache = JobCache.for_source(self.poller.name, config.cache_dir, identity=identity)
        return (cache, *cache.newest(config.first_page))

    async def _open_first(self) -> ChangeSet:
        """Open the cache and read its newest ``first_page`` jobs, in one trip to a thread."""
        state = self.poller.state
        if not self.poller.config.use_cache or state.identity is None:
            return ChangeSet()
        first = await asyncio.to_thread(self._read_first, state.identity)
        if state is not self.poller.state:
            await asyncio.to_thread(first[0].close)
            return ChangeSet()
        return self._show_first(*first)

    def _show_early(self, early: _Early) -> ChangeSet:
        identity, *first = early
        self.poller.state.identity_learned(identity)
        return self._show_first(*first)

    def _show_first(
        self, cache: JobCache | None, jobs: list[Job], after: CachePosition | None
    ) -> ChangeSet:
        if cache is None:
            return ChangeSet()
        shown = self.poller.state.cache_opened(cache, jobs, after)
        notices = (f"{self.poller.name}: {cache.problem}",) if cache.problem else ()
        return ChangeSet(added=shown, notices=notices)

    async def load_rest(self) -> ChangeSet:
        """The rest of the cached history (older than the first screenful), what was active
        at the last stop and how far the history is known: all before the first poll."""
        poller = self.poller
        state = poller.state
        cursors, cache = state.cursors, state.cache
        if not cursors.rest_due or cache is None:
            return ChangeSet()
        after = cursors.rest_after

        def rest() -> tuple[list[Job], list[str], dict[str, str]]:
            return cache.older(after), cache.active_ids(), cache.marks()

        try:
            jobs, active, marks = await asyncio.to_thread(rest)
        except ValueError:  # closed under the read: the store stopped
            if not poller.stopped:
                raise
            return ChangeSet()
        if poller.stopped or state is not poller.state:
            return ChangeSet()  # stopped, or another server answers now: not this history
        added = state.rest_loaded(jobs, active, marks, backfill=poller.config.backfill)
        return ChangeSet(added=added)

    async def load_all(self) -> ChangeSet:
        """The whole cache at once (a server first reached by a poll)."""
        first = await self._open_first()
        rest = await self.load_rest()
        return ChangeSet(added=first.added + rest.added, notices=first.notices)

    # --- saving and closing ----------------------------------------------------------------

    async def save(self, state: SourceState) -> None:
        """Write the final jobs not yet in the cache, the active ones and the history marks,
        all in one transaction; a failed write is reported once and tried again next poll."""
        cache = state.cache
        unsaved = state.unsaved() if cache is not None else None
        if cache is None or unsaved is None:
            return
        ids, jobs, active = unsaved
        ok = await asyncio.to_thread(cache.save, jobs, active, state.marks())
        poller = self.poller
        if ok:
            state.cache_saved(ids, active)
            if self._failed:
                self._failed = False
                poller.health_noted(cache_problem=None)
            return
        if not self._failed:
            self._failed = True
            problem = f"{poller.name}: {cache.problem or 'the cache could not be written'}"
            log.warning("%s (the jobs stay on screen; the next start fetches them again)", problem)
            poller.health_noted(cache_problem=problem)
            poller.bus.publish(ChangeSet(notices=(problem,)))

    async def close(self) -> None:
        """The store stops: what is unsaved is written, and the file closed."""
        state = self.poller.state
        if state.cache is not None and not state.cursors.rest_due:
            # (While the older cached jobs are still unread, a save would overwrite the list
            # of active jobs the file holds with an empty one.)
            await self.save(state)
            await asyncio.to_thread(state.cache.close)

    async def retire(self, old: SourceState) -> None:
        """Another server answers now: the old one's cache is closed, unsaved (its news is
        not this server's), and a failed write of it is no longer this source's problem."""
        if self._failed:
            self._failed = False
            self.poller.health_noted(cache_problem=None)
        if old.cache is not None:
            await asyncio.to_thread(old.cache.close)
