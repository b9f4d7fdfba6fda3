"""``GET /api/v1/stream``: the service's job changes, pushed as server-sent events.

Every write to the ``jobs`` table, whoever makes it (a submit, the scheduler, a cancel, a tag
edit), fires a temporary SQLite trigger on the writing connection, which calls back into Python
with the job's id. The feed then reads the committed row and sends each subscriber one event:

    event: job
    data: {"id": ..., "status": "Running", "changed": ["status"], "job": {...}, "metrics": {...}}

``job`` and ``metrics`` have the shapes of ``GET /jobs/{id}`` and ``/jobs/{id}/metrics``, so a
client needs no further request. A deleted job is ``{"id": ..., "deleted": true}``. The stream
opens with ``event: hello`` and sends a comment line every ``KEEPALIVE`` seconds, so that both
ends notice a dead connection. Nothing is read or sent while nobody listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from qjob_tui.service import views
from qjob_tui.service.db import Database, JobRow
from qjob_tui.service.scheduler import QueueEstimate
from qjob_tui.wire import rest
from qjob_tui.wire.events import drain, end_stream, sse

log = logging.getLogger("qjob_tui.service.stream")

MAX_SUBSCRIBERS = 64
SUBSCRIBER_BACKLOG = 1000  # events a slow subscriber may fall behind before it is dropped
_REMEMBERED = 20_000  # last views sent, to name the fields that changed

_TRIGGERS = """
CREATE TEMP TRIGGER IF NOT EXISTS qjob_stream_insert AFTER INSERT ON main.jobs
BEGIN SELECT qjob_job_changed(NEW.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS qjob_stream_update AFTER UPDATE ON main.jobs
BEGIN SELECT qjob_job_changed(NEW.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS qjob_stream_delete AFTER DELETE ON main.jobs
BEGIN SELECT qjob_job_changed(OLD.id); END;
"""


class FeedDatabase(Database):
    """The service's database, telling its feed about every job it writes."""

    def __init__(self, path: Any) -> None:
        self.feed = ChangeFeed(self)
        super().__init__(path)
        self._conn().executescript(_TRIGGERS)  # the first connection predates the schema

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.create_function("qjob_job_changed", 1, self.feed.touched, deterministic=False)
        with contextlib.suppress(sqlite3.OperationalError):  # no jobs table yet
            conn.executescript(_TRIGGERS)
        return conn

    def wait_for_writer(self) -> None:
        """Return once the write in progress (if any) has committed."""
        with self._write_lock:
            pass


class ChangeFeed:
    """Job ids touched by writes, turned into events for every subscriber."""

    def __init__(self, db: FeedDatabase) -> None:
        self.db = db
        self.estimate: Callable[[Any], QueueEstimate] = lambda row: QueueEstimate(None, None, None)
        # The jobs waiting on a backend, in the order they run: whose places move when a job
        # ahead of them leaves the queue.
        self.waiting: Callable[[str], list[str]] = lambda backend: []
        self._lock = threading.Lock()
        self._touched: set[str] = set()
        self._subscribers: set[asyncio.Queue[bytes | None]] = set()
        self.closed = False  # the service is stopping: no stream opens any more
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._sent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Queued jobs sent without a place (not in their queue yet): sent once more.
        self._unplaced: set[str] = set()
        self._sent_unplaced: set[str] = set()

    # --- from the writing thread ---------------------------------------------------------

    def touched(self, job_id: object) -> None:
        """Called by SQLite inside the write; only notes the id (the row is not committed)."""
        loop = self._loop
        if loop is None or not isinstance(job_id, str):
            return  # nobody listens
        with self._lock:
            first = not self._touched
            self._touched.add(job_id)
        if first:
            with contextlib.suppress(RuntimeError):  # the loop closed
                loop.call_soon_threadsafe(self._set_wake)

    def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # --- subscribers ---------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._publish_loop(), name="stream-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._subscribers.discard(queue)
        if not self._subscribers:
            self._loop = None  # writes stop noting ids
            with self._lock:
                self._touched.clear()
            self._sent.clear()
            if self._task is not None:
                self._task.cancel()
                self._task = None

    async def close(self) -> None:
        """End every open stream (the service is stopping) and refuse new ones."""
        self.closed = True
        for queue in list(self._subscribers):
            end_stream(queue)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- publishing ----------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                ids, self._touched = self._touched, set()
            if not ids:
                continue
            try:
                events = await asyncio.to_thread(self._events, sorted(ids))
            except Exception:
                log.exception("the change feed could not read %d jobs", len(ids))
                continue
            again, self._unplaced = self._unplaced - self._sent_unplaced, set()
            self._sent_unplaced = again  # once each: a job that never gets a place is polled
            for job_id in again:
                self.touched(job_id)
            for queue in list(self._subscribers):
                for event in events:
                    try:
                        queue.put_nowait(event)
                    except asyncio.QueueFull:
                        # Too far behind: end its stream; the client reconciles by polling.
                        self._subscribers.discard(queue)
                        end_stream(queue)
                        break

    def _events(self, ids: list[str]) -> list[bytes]:
        """The committed state of the touched jobs, as events (in a thread: SQLite reads)."""
        self.db.wait_for_writer()
        events = []
        rows = {job_id: self.db.get(job_id, with_params=False) for job_id in ids}
        # A job that left its queue (started, cancelled) moves the places of those behind it:
        # they are pushed in the same batch.
        left_queue = [
            row
            for row in rows.values()
            if row is not None
            and row.status != rest.QUEUED
            and self._sent.get(row.id, {}).get("status") in (None, rest.QUEUED)
        ]
        for left in left_queue:
            for job_id in self.waiting(left.backend)[:_MOVED_PER_BACKEND]:
                if job_id not in rows:
                    rows[job_id] = self.db.get(job_id, with_params=False)
        for job_id, row in rows.items():
            if row is None:
                self._sent.pop(job_id, None)
                events.append(sse(rest.JOB_EVENT, rest.deleted_event_body(job_id)))
                continue
            estimate = self.estimate(row)
            if row.status == rest.QUEUED and estimate.position is None:
                # Written, not yet in its queue (the scheduler queues it just after the write):
                # its place follows in one more event.
                self._unplaced.add(job_id)
            body, self._sent[job_id] = job_event(row, estimate, self._sent.pop(job_id, None))
            if len(self._sent) > _REMEMBERED:
                self._sent.popitem(last=False)
            events.append(sse(rest.JOB_EVENT, body))
        return events


_MOVED_PER_BACKEND = 200  # places pushed when a job leaves a queue: bounded, the rest poll


def job_event(
    row: JobRow, estimate: QueueEstimate, before: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored job as a ``job`` event, naming what changed since ``before`` (the summary of
    the last event sent for it); and the summary to compare the next one with."""
    view = views.job(row, with_params=False)
    body = rest.job_event_body(
        view, views.metrics(row, estimate), rest.changed_fields(before, view)
    )
    return body, rest.change_summary(view)


async def _events(feed: ChangeFeed, queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    try:
        yield sse(rest.HELLO_EVENT, rest.hello_body())
        async for item in drain(queue):
            yield item
    finally:
        feed.unsubscribe(queue)


def stream_route(feed: ChangeFeed) -> Callable[[Request], Any]:
    """The ``GET /stream`` handler over one feed."""

    async def stream(request: Request) -> Response:
        if feed.closed:
            return views.error(503, "stopping", "the service is stopping")
        if feed.subscribers >= MAX_SUBSCRIBERS:
            return views.error(503, "too_many_streams", "too many open streams; poll instead")
        queue = feed.subscribe()
        return StreamingResponse(
            _events(feed, queue),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return stream
