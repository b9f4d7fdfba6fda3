"""The server's clock, learned from the ``Date`` header of its answers, so that durations and
ages of running jobs are measured on it, never "0 ms" for a job that started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx

from qjob_tui.api import JobClient, Source
from qjob_tui.api.server_clock import ServerClock
from qjob_tui.model import Job, JobStatus, Step
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.formatting import compact_duration, job_duration
from tests.service_process import ServiceProcess

SKEW = timedelta(seconds=42)


def test_answers_narrow_the_offset_down_to_a_second() -> None:
    clock = ServerClock()
    assert clock.offset == timedelta(0)
    local = datetime(2026, 1, 1, 12, 0, 0, 300_000, tzinfo=UTC)
    for step in range(10):  # answers a tenth of a second apart, each taking 50 ms
        sent = local + timedelta(milliseconds=100 * step)
        received = sent + timedelta(milliseconds=50)
        server = (received + SKEW).replace(microsecond=0)
        clock.heard(format_datetime(server, usegmt=True), sent, received)
    assert abs(clock.offset - SKEW) <= timedelta(seconds=0.5)


def test_a_clock_that_was_set_starts_the_estimate_anew() -> None:
    clock = ServerClock()
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    clock.heard(format_datetime(now + SKEW, usegmt=True), now, now)
    clock.heard(format_datetime(now, usegmt=True), now, now)  # set right meanwhile
    assert abs(clock.offset) <= timedelta(seconds=1)
    clock.heard("not a date", now, now)  # ignored
    clock.heard(None, now, now)
    assert abs(clock.offset) <= timedelta(seconds=1)


class Skewed(httpx.AsyncBaseTransport):
    """A real service whose clock runs ``SKEW`` ahead of this machine's."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        response.headers["date"] = format_datetime(datetime.now(UTC) + SKEW, usegmt=True)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_running_durations_are_measured_on_the_servers_clock(
    service: ServiceProcess, tmp_path: Path
) -> None:
    client = JobClient(Source.local(service.root), transport=Skewed())
    store = JobStore([client], StoreConfig(cache_dir=tmp_path / "cache"))
    try:
        await store.start(poll=False)
        await store.poll_once()
        offset = store.clock_offset("local")
        assert abs(offset - SKEW) <= timedelta(seconds=1)
        # A job the server says started a second ago, by its clock.
        server_now = datetime.now(UTC) + SKEW
        started = server_now - timedelta(seconds=1)
        job = Job(
            id="j",
            source="local",
            status=JobStatus.RUNNING,
            created=started - timedelta(seconds=5),
            steps=(Step("running", started),),
        )
        local_now = datetime.now(UTC)
        assert compact_duration(job_duration(job, local_now)) == "0 ms"  # the old reading
        seconds = job_duration(job, local_now + offset)
        assert seconds is not None and 0 < seconds < 3
    finally:
        await store.stop()
