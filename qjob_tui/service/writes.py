"""Group commit: the scheduler's writes that arrive together go to SQLite in one transaction.

Under load a submit, a job's start and the previous job's end arrive within a millisecond of
each other; committing each alone costs a thread hand-over and a commit apiece. Every write is
queued here; one flush at a time takes everything queued so far and runs it in one transaction
(``Database.apply``), in the order the writes were queued. A write's future resolves only after
its transaction committed, so nothing is answered to a client before it is on disk, and the
first write after a quiet spell is flushed at once: grouping never waits for company.

A full (or failing) disk fails a group as a whole. The scheduler's own writes (a job starts,
ends, is re-queued) are kept, at the head of the queue and in their order, and tried again
with a growing pause until the disk takes them: once space is back, every job moves on where
it was, without a restart. A client's write (a submit, a cancel) is refused with
``StorageFull`` instead (answered 507): at once while job changes wait for space, else after
its own try, so the first write after space is back succeeds and clears ``failing``. Asked
whether the disk takes writes (``GET /health``), a writer that knows it full and has nothing
waiting checks again (``recheck``): the answer is the disk's now, not its last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from qjob_tui.service.db import Database, StorageFull, has_room, storage_failure

T = TypeVar("T")
log = logging.getLogger("qjob_tui.service")

# Pauses between tries of a group the disk refused: short at first, then every few seconds.
FIRST_RETRY = 0.05
LAST_RETRY = 2.0


class _Queued:
    __slots__ = ("future", "retry", "write")

    def __init__(
        self, write: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any], retry: bool
    ) -> None:
        self.write = write
        self.future = future
        self.retry = retry


class GroupWriter:
    """Queues writes and commits them in groups, one flush after the other."""

    def __init__(self, db: Database, executor: Executor | None = None) -> None:
        self.db = db
        self.executor = executor
        self._queued: list[_Queued] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self.flushes = 0  # transactions committed, for tests and benchmarks
        self.writes = 0
        # Why writes fail now (the disk is full), None while they succeed: GET /health says it.
        self.failing: StorageFull | None = None
        self._recheck: asyncio.Future[Any] | None = None  # one at a time, for every asker

    def write(
        self, write: Callable[[sqlite3.Connection], T], *, retry: bool = True
    ) -> asyncio.Future[T]:
        """Queue a write; the future holds its result once its transaction committed.

        ``retry=False`` for a client's write: on a full disk it fails with ``StorageFull``
        (at once while the disk is known to be full) rather than wait for space.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not retry and self.failing is not None and self._queued:
            # Job changes wait for space at the head of the queue: this would wait behind them.
            future.set_exception(StorageFull(self.db.path.parent))
            return future
        self._queued.append(_Queued(write, future, retry))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="group-writer")
        return future

    async def recheck(self) -> StorageFull | None:
        """Why writes fail now, checked again if the disk was full. While job changes wait
        for space, their own retries are the check; callers at once share one try."""
        if self.failing is not None and not self._queued and not self._stopping:
            if self._recheck is None or self._recheck.done():
                self._recheck = asyncio.ensure_future(self._try_again())
            with contextlib.suppress(Exception):
                await asyncio.shield(self._recheck)
        return self.failing

    async def _try_again(self) -> None:
        """Room for a write (``ROOM`` bytes can be taken), then one write that changes
        nothing, through the queue like any other: it clears ``failing`` if it commits."""
        folder = self.db.path.parent
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self.executor, has_room, folder):
            self.failing = await loop.run_in_executor(self.executor, StorageFull, folder)
            return
        await self.write(_same_version, retry=False)

    async def drain(self) -> None:
        """Wait until everything queued so far is committed, or refused if the disk is full
        (the service is stopping: a job whose change is lost is recovered at the next start)."""
        self._stopping = True
        while self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        pause = FIRST_RETRY
        while self._queued:
            group, self._queued = self._queued, []
            writes = [queued.write for queued in group]
            try:
                results = await loop.run_in_executor(self.executor, self.db.apply, writes)
            except Exception as exc:  # the commit failed: every write of the group did
                if not storage_failure(exc):
                    _fail(group, exc)
                    continue
                if self.failing is None:
                    log.warning("%s; job changes wait for space and are tried again", exc)
                self.failing = StorageFull(self.db.path.parent)
                kept = [queued for queued in group if queued.retry and not self._stopping]
                _fail([queued for queued in group if queued not in kept], self.failing)
                self._queued = kept + self._queued
                if kept:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, LAST_RETRY)
                continue
            if self.failing is not None:
                log.warning("the disk takes writes again: job changes are saved")
            self.failing = None
            pause = FIRST_RETRY
            self.flushes += 1
            self.writes += len(group)
            for queued, result in zip(group, results, strict=True):
                if queued.future.done():
                    continue  # its waiter gave up; the write itself is committed
                if isinstance(result, BaseException):
                    queued.future.set_exception(result)
                else:
                    queued.future.set_result(result)


def _same_version(conn: sqlite3.Connection) -> None:
    """A write that changes nothing and still needs the disk: SQLite rewrites its header."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute(f"PRAGMA user_version = {int(version)}")


def _fail(group: list[_Queued], exc: Exception) -> None:
    for queued in group:
        if not queued.future.done():
            queued.future.set_exception(exc)
