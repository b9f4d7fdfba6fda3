"""``StreamListener``: one source's push stream of job changes, applied to the store.

Where the server offers ``GET /stream`` (the local service, the relay), changes arrive within
a moment and cost no request; the source's poller then only reconciles, on the slow
``streaming_interval``. Where it does not (IBM Quantum answers 404), the listener ends for good
and the poller polls as before. When a stream breaks, the poller polls at once and at its usual
pace again, and the listener tries to reopen the stream after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any, Protocol

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, NoAnswer, Unsupported
from qjob_tui.model import Job
from qjob_tui.store.changes import ChangeSet, SourceHealth
from qjob_tui.store.state import Delta, SourceState

if TYPE_CHECKING:
    from qjob_tui.api.stream import JobChange, UpstreamHealth


class Followed(Protocol):
    """What the listener needs of its source: the client, the state it feeds, the health it
    reports in, a way to publish and to wake the poller."""

    name: str
    client: JobClient
    state: SourceState
    health: SourceHealth
    paused: bool

    def publish(self, changes: ChangeSet, state: SourceState) -> None: ...

    def health_noted(self, **fields: Any) -> None: ...

    def not_answering(self, why: str) -> None: ...

    def streaming_changed(self) -> None: ...

    def backends_due(self) -> None: ...

    def served_by_another(self, instance: str | None) -> bool: ...

    def wake(self) -> None: ...


log = logging.getLogger("qjob_tui.store")

RETRY_FIRST = 2.0
RETRY_MAX = 60.0
BATCH_SECONDS = 0.05  # changes that arrive this close together are published as one set


class StreamListener:
    """Follows one source's change stream while the poller runs."""

    def __init__(self, poller: Followed) -> None:
        self.poller = poller
        self.live = False  # the stream is open: the poller only reconciles
        self.supported = True  # False once the server said it has no stream
        self._task: asyncio.Task[None] | None = None
        self._held: list[JobChange] = []  # pushed while paused: applied on resume

    def release(self) -> None:
        """Resumed: apply what was pushed while paused, at once."""
        held, self._held = self._held, []
        if held:
            self._apply(held)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"stream-{self.poller.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.live = False

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._follow()
            except Unsupported:
                self.supported = False
                self._set_live(False)
                return
            except NoAnswer as exc:  # took the stream, then went silent: stopped or hung
                log.info("stream of %s went silent: %s", self.poller.name, exc)
                self.poller.not_answering(str(exc))
            except ApiError as exc:
                log.info("stream of %s broke: %s", self.poller.name, exc)
            except Exception:  # a bug must not end the listener silently
                log.exception("stream of %s failed", self.poller.name)
            if self.live:
                failures = 0
            self._set_live(False)
            failures += 1
            delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def _follow(self) -> None:
        # Here, not at the top: the stream opens after the first frame, which needs none of it.
        from qjob_tui.api.stream import StreamOpened, UpstreamHealth

        pending: list[JobChange] = []
        flush: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        opened_by: str | None = None  # the server whose changes this stream carries

        def another() -> bool:
            """The stream is another server's than the state's: its changes are not the
            state's. The poller finds out who answers now; the stream opens again after."""
            known = self.poller.state.identity is not None  # else the first round names it
            if not known or not self.poller.served_by_another(opened_by):
                return False
            pending.clear()
            self.poller.wake()
            return True

        def publish() -> None:
            nonlocal flush
            flush = None
            if another():
                return
            batch = pending[:]
            pending.clear()
            if self.poller.paused:
                self._held += batch  # paused: shown as it was until resumed
            else:
                self._apply(batch)

        try:
            async for item in self.poller.client.changes():
                if isinstance(item, StreamOpened):
                    opened_by = item.served_by
                    if another():
                        return
                    self._set_live(True)
                    continue
                if isinstance(item, UpstreamHealth):
                    self._set_upstream(item)
                    continue
                if another():
                    return
                pending.append(item)
                if flush is None:
                    flush = loop.call_later(BATCH_SECONDS, publish)
        finally:
            if flush is not None:
                flush.cancel()
                publish()

    def _set_live(self, live: bool) -> None:
        if self.live == live:
            return
        self.live = live
        # Opened: catch up on what happened before it (and re-arm the slow reconcile).
        # Broken: poll now, and at the usual pace from then on.
        self.poller.streaming_changed()

    def _set_upstream(self, upstream: UpstreamHealth) -> None:
        """A relay's source: show its upstream's health beside the relay's own."""
        if upstream.error:
            summary = f"stale: {upstream.error}"
        elif upstream.ok:
            summary = "live" if upstream.streaming else "ok"
        else:
            summary = "connecting…"
        poller = self.poller
        poller.health_noted(upstream=summary)

    def _apply(self, batch: list[JobChange]) -> None:
        """The changes, into the source's state and cache, as one change set."""
        state = self.poller.state
        delta = Delta()
        finished: list[Job] = []
        moved = False
        for change in batch:
            before = state.jobs.get(change.job_id)
            if state.apply_streamed(change.job_id, change.job, delta) and change.job:
                finished.append(change.job)
            after = change.job
            moved |= before is None or after is None or before.status != after.status
        if moved:
            self.poller.backends_due()  # the queue lengths beside the places moved too
        if finished and state.cache is not None:
            cache = state.cache
            task = asyncio.get_running_loop().run_in_executor(None, cache.put, finished)
            task.add_done_callback(_log_failure)
        jobs, name = state.jobs, state.name
        changes = ChangeSet(
            added=tuple(jobs[k] for k in delta.added if k in jobs),
            changed=tuple(jobs[k] for k in delta.changed if k not in delta.added and k in jobs),
            removed=tuple((name, k) for k in delta.removed),
        )
        self.poller.publish(changes, state)


def _log_failure(future: asyncio.Future[object]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("caching streamed jobs failed: %s", future.exception())
