"""A proxy on loopback that holds every request for a job's metrics until the test lets them
go, and counts how many are in flight at once: a bound on requests is checked by counting,
never by timing."""

from __future__ import annotations

import asyncio

from tests.fault_proxy import FaultProxy

METRICS = "/metrics"


class HeldProxy(FaultProxy):
    """Forwards everything; a job's metrics only once ``release`` opened the gate."""

    def __init__(self, upstream: str, *, ignore: frozenset[str] = frozenset()) -> None:
        super().__init__(upstream, rate=0.0)
        self.ignore = ignore  # jobs whose metrics pass uncounted and unheld
        self.in_flight = 0  # metrics requests arrived and not answered yet
        self.most = 0  # the most ever in flight at once
        self.asked: list[str] = []  # the job ids whose metrics were asked, in order
        self._gate = asyncio.Event()  # (bound to the proxy's loop at its first wait)

    def _counted(self, target: str) -> str | None:
        """The job whose metrics ``target`` asks for, if counted."""
        path = target.split("?")[0]
        if not path.endswith(METRICS):
            return None
        job_id = path.split("/")[-2]
        return None if job_id in self.ignore else job_id

    async def forwarding(self, target: str) -> None:
        job_id = self._counted(target)
        if job_id is None:
            return
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.asked.append(job_id)
        await self._gate.wait()

    def answered(self, target: str) -> None:
        if self._counted(target) is not None:
            with self._lock:
                self.in_flight -= 1

    def release(self) -> None:
        """Let every held request go, and those to come."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._gate.set)
