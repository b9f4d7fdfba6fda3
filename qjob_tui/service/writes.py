"""Group commit: the scheduler's writes that arrive together go to SQLite in one transaction.

Under load a submit, a job's start and the previous job's end arrive within a millisecond of
each other; committing each alone costs a thread hand-over and a commit apiece. Every write is
queued here; one flush at a time takes everything queued so far and runs it in one transaction
(``Database.apply``), in the order the writes were queued. A write's future resolves only after
its transaction committed, so nothing is answered to a client before it is on disk, and the
first write after a quiet spell is flushed at once: grouping never waits for company.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from qjob_tui.service.db import Database

T = TypeVar("T")


class GroupWriter:
    """Queues writes and commits them in groups, one flush after the other."""

    def __init__(self, db: Database, executor: Executor | None = None) -> None:
        self.db = db
        self.executor = executor
        self._queued: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0  # transactions committed, for tests and benchmarks
        self.writes = 0

    def write(self, write: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue a write; the future holds its result once its transaction committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queued.append((write, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="group-writer")
        return future

    async def drain(self) -> None:
        """Wait until everything queued so far is committed."""
        while self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queued:
            group, self._queued = self._queued, []
            writes = [write for write, _ in group]
            try:
                results = await loop.run_in_executor(self.executor, self.db.apply, writes)
            except Exception as exc:  # the commit failed: every write of the group did
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.flushes += 1
            self.writes += len(group)
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue  # its waiter gave up; the write itself is committed
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
