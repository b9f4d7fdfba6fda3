"""What the store does not keep, read upstream when a viewer asks, once for all viewers.

A finished job's result and a job's params never change, so each is read once and kept (a
bounded number of them). A log grows while its job runs, so it is kept for a few seconds: the
Log tabs of many viewers following one job cost upstream one read per few seconds. Viewers who
ask at the same moment share one upstream request. What is kept is keyed by the identity of the
server it came from, never by the source's nickname, and dropped when another server answers
at that source's address.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from qjob_tui.model import Job, JobStatus
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet

# (the identity of the server, job id): a nickname can name another server tomorrow.
KeptKey = tuple[str, str]

KEPT = 64  # results and params kept, each
LOG_SECONDS = 2.0  # how long a running job's log is served before it is read again

T = TypeVar("T")


class Kept(OrderedDict[KeptKey, tuple[float, Any]]):
    """A least-recently-used map of values with the time they were read."""

    def fresh(self, key: KeptKey, max_age: float | None) -> tuple[bool, Any]:
        entry = self.get(key)
        if entry is None or (max_age is not None and time.monotonic() - entry[0] > max_age):
            return False, None
        self.move_to_end(key)
        return True, entry[1]

    def keep(self, key: KeptKey, value: Any) -> None:
        self[key] = (time.monotonic(), value)
        self.move_to_end(key)
        while len(self) > KEPT:
            self.popitem(last=False)


class Forwarded:
    """Upstream reads on a viewer's demand; ``ApiError`` from upstream passes through."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._results = Kept()
        self._params = Kept()
        self._running_logs = Kept()
        self._final_logs = Kept()
        self._pending: dict[tuple[str, KeptKey], asyncio.Future[Any]] = {}
        # The identity each source had when its entries were kept.
        self._identities: dict[str, str] = {}
        store.subscribe(self._heard)

    def _heard(self, changes: ChangeSet) -> None:
        for source in changes.switched:
            self.forget(source)

    def forget(self, source: str) -> None:
        """Another server answers at ``source``: nothing read from the old one is served."""
        identity = self._identities.pop(source, None)
        if identity is None:
            return
        for kept in (self._results, self._params, self._running_logs, self._final_logs):
            for key in [k for k in kept if k[0] == identity]:
                del kept[key]

    def _key(self, job: Job) -> KeptKey | None:
        """The job's key by its server's identity; None while the server is not known."""
        identity = self.store.identity(job.source)
        if identity is None:
            return None
        if self._identities.get(job.source) not in (None, identity):
            self.forget(job.source)
        self._identities[job.source] = identity
        return (identity, job.id)

    async def _once(
        self,
        kind: str,
        kept: Kept,
        key: KeptKey | None,
        read: Callable[[], Awaitable[T]],
        max_age: float | None = None,
    ) -> T:
        if key is None:
            return await read()  # who answers is not known yet: nothing to key it by
        found, value = kept.fresh(key, max_age)
        if found:
            return value  # type: ignore[no-any-return]
        task = self._pending.get((kind, key))
        if task is None:
            # A task of its own: a viewer who hangs up does not cancel the others' answer.
            task = asyncio.ensure_future(read())
            self._pending[(kind, key)] = task
            task.add_done_callback(lambda done: self._settle(kind, kept, key, done))
        return await asyncio.shield(task)  # type: ignore[no-any-return]

    def _settle(self, kind: str, kept: Kept, key: KeptKey, done: asyncio.Future[Any]) -> None:
        self._pending.pop((kind, key), None)
        if done.cancelled() or done.exception() is not None:
            return  # retrieved: the next asker reads again
        if done.result() is not None:
            kept.keep(key, done.result())

    async def results(self, job: Job) -> str | None:
        """A finished job's result text (None until it has one)."""
        if job.status is not JobStatus.DONE:
            return None
        client = self.store.client(job.source)
        return await self._once(
            "results", self._results, self._key(job), lambda: client.results_text(job.id)
        )

    async def params(self, job: Job) -> dict[str, Any] | None:
        """The params the job was submitted with, where the upstream returns them."""
        client = self.store.client(job.source)
        return await self._once(
            "params", self._params, self._key(job), lambda: client.params(job.id)
        )

    async def log(self, job: Job) -> str:
        """The job's log: a final job's is read once, a running job's every ``LOG_SECONDS``."""
        client = self.store.client(job.source)
        if job.status.is_final:
            return await self._once(
                "log", self._final_logs, self._key(job), lambda: client.logs(job.id)
            )
        return await self._once(
            "log", self._running_logs, self._key(job), lambda: client.logs(job.id), LOG_SECONDS
        )
