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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.api.extractor import ExtractorResult, extractor_params
from qjob_tui.model import Backend, Job, JobResult, JobStatus, tag_problem
from qjob_tui.store.changes import ActionResult, ChangeSet, JobKey, SourceHealth
from qjob_tui.store.poller import SourcePoller
from qjob_tui.store.store_config import StoreConfig

log = logging.getLogger("qjob_tui.store")

Subscriber = Callable[[ChangeSet], None]
EXTRACTOR = "random-extractor"


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
        # Each source is asked who it is at the same time: a dead one delays none of the others.
        opened = await asyncio.gather(*(poller.open_cache() for poller in self.pollers.values()))
        for changes in opened:
            self._publish(changes)
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

    def load_more(self) -> None:
        """The user reached the end of the list: load the next page of older history now."""
        for poller in self.pollers.values():
            poller.load_more()

    def pause(self) -> None:
        self.paused = True
        for poller in self.pollers.values():
            poller._set_paused(True)

    def resume(self) -> None:
        self.paused = False
        for poller in self.pollers.values():
            poller._set_paused(False)
            poller.wake()

    def _forget_source(self, source: str) -> None:
        """Drop what is kept per job of a source whose server changed."""
        for kept in (self._results, self._extracted, self._intents):
            for key in [k for k in kept if k[0] == source]:
                del kept[key]
        for key in [k for k in self._queue_history if k[0] == source]:
            del self._queue_history[key]

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
