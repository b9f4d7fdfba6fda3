"""``StepReads``: the steps of finished jobs listed from history, read for the jobs in view.

A job list answer carries no running or finished time (only a job's metrics do), so a finished
job from history shows no duration until its metrics are read. The jobs a list shows are told
to the store (``JobStore.in_view``); each source's ``StepReads`` reads the metrics of those that
lack steps, each once per server (the memory is the source's ``SourceState``, so a switch to
another server drops it), under one bound on requests in flight for the whole store. A job
scrolled out of view before its turn costs no request. What is read goes through the state and
into the cache with its batch save, one transaction for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NetworkError, NotFound, RateLimited
from qjob_tui.model import Job
from qjob_tui.store.cached_history import CachedHistory
from qjob_tui.store.changes import ChangeSet
from qjob_tui.store.state import Delta, SourceState

log = logging.getLogger("qjob_tui.store")


class Polled(Protocol):
    """What the reads need of their source: the client, the state they fill, its cache, a
    way to publish, and to wake the poller when another server answers."""

    name: str
    client: JobClient
    state: SourceState
    cached: CachedHistory

    def publish(self, changes: ChangeSet, state: SourceState) -> None: ...

    def wake(self) -> None: ...

    def answered_by_another(self) -> bool: ...


class StepReads:
    """One source's reads of missing steps; ``bound`` is shared by every source of a store."""

    def __init__(self, poller: Polled, bound: asyncio.Semaphore) -> None:
        self.poller = poller
        self.bound = bound
        self.viewed: frozenset[str] = frozenset()  # the job ids a list shows now
        self._reading: dict[str, tuple[SourceState, asyncio.Task[Job | None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def in_view(self, job_ids: Iterable[str]) -> None:
        """The jobs a list shows now: those lacking steps are read soon (a cheap call)."""
        self.viewed = frozenset(job_ids)
        self.look()

    def look(self) -> None:
        """Read now the steps that jobs in view lack and that no read is under way for (after
        a round too: its jobs may be new, the server new, a read unanswered)."""
        state = self.poller.state
        wanted = [
            job_id
            for job_id in sorted(self.viewed)
            if state.lacks_steps(job_id) and not self._under_way(state, job_id)
        ]
        if wanted:
            task = asyncio.create_task(
                self.read(state, wanted, in_view=True), name=f"steps-{self.poller.name}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _under_way(self, state: SourceState, job_id: str) -> bool:
        reading = self._reading.get(job_id)
        return reading is not None and reading[0] is state

    async def stop(self) -> None:
        tasks = [*self._tasks, *(task for _, task in self._reading.values())]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def job(self, job_id: str) -> Job | None:
        """The job, its steps read first if it is finished and lacks them: for a relay's
        viewers, who ask its metrics. However many ask at once, one request goes upstream."""
        state = self.poller.state
        await self.read(state, [job_id], in_view=False)
        return self.poller.state.jobs.get(job_id)

    async def read(self, state: SourceState, job_ids: list[str], *, in_view: bool) -> None:
        """Read the steps these jobs lack (with ``in_view``, only while they are in view),
        joining the reads already under way; then publish and save what changed, at once."""
        mine: list[asyncio.Task[Job | None]] = []
        joined: list[asyncio.Task[Job | None]] = []
        for job_id in job_ids:
            if self._under_way(state, job_id):
                joined.append(self._reading[job_id][1])
                continue
            if not state.lacks_steps(job_id):
                continue
            task = asyncio.create_task(self._read_one(state, job_id, in_view))
            reading = self._reading[job_id] = (state, task)
            task.add_done_callback(lambda _, key=job_id, r=reading: self._done(key, r))
            mine.append(task)
        if not (mine or joined):
            return
        # Shielded: a caller that goes away (a viewer's request cut short) must not cancel
        # a read that other callers wait for.
        results = await asyncio.gather(
            *(asyncio.shield(task) for task in (*mine, *joined)), return_exceptions=True
        )
        changed = tuple(r for r in results[: len(mine)] if isinstance(r, Job))
        if not changed or state is not self.poller.state:
            return
        self.poller.publish(ChangeSet(changed=changed), state)
        if not state.cursors.rest_due:  # (else the first round saves them, with the rest)
            await self.poller.cached.save(state)

    def _done(self, job_id: str, reading: tuple[SourceState, asyncio.Task[Job | None]]) -> None:
        if self._reading.get(job_id) is reading:
            del self._reading[job_id]

    async def _read_one(self, state: SourceState, job_id: str, in_view: bool) -> Job | None:
        """One job's metrics into the state; the job if its steps changed there."""
        async with self.bound:
            if state is not self.poller.state or not state.lacks_steps(job_id):
                return None
            if in_view and job_id not in self.viewed:
                return None  # scrolled past before its turn: no request
            state.steps_asking(job_id)
            started = state.revision
            try:
                metrics = await self.poller.client.metrics(job_id)
            except NotFound:
                return None
            except (NetworkError, RateLimited) as exc:
                state.steps_unanswered(job_id)
                log.info("steps of %s on %s: %s", job_id, self.poller.name, exc)
                return None
            except ApiError as exc:
                log.info("steps of %s on %s: %s", job_id, self.poller.name, exc)
                return None
            except asyncio.CancelledError:
                state.steps_unanswered(job_id)
                raise
        if state is not self.poller.state:
            return None
        if self.poller.answered_by_another():
            self.poller.wake()  # the next round finds out and switches
            return None
        delta = Delta()
        state.apply_metrics(job_id, metrics, started, delta)
        return delta.changed.get(job_id)
