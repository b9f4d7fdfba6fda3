"""History paging makes progress or says why: a server that ignores ``created_before`` is
paged by ``offset``; one that ignores both is reported once, and asked no more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.convergence import until
from tests.service_process import ServiceProcess, fill_finished

JOBS = 700


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("paging")
    fill_finished(data, JOBS)
    proc = ServiceProcess(data, "--latency-scale", "0").start()
    yield proc
    proc.stop()


class Ignoring(httpx.AsyncBaseTransport):
    """A server of the API that ignores some query parameters of ``GET /jobs``."""

    def __init__(self, *ignored: str) -> None:
        self.ignored = ignored
        self.inner = httpx.AsyncHTTPTransport()
        self.history_pages = 0  # listings with no filter but the page's place

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.path.endswith("/jobs"):
            params = url.params
            for name in self.ignored:
                params = params.remove(name)
            if not any(k in params for k in ("pending", "created_after")):
                self.history_pages += 1
            request.url = url.copy_with(params=params)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _store(proc: ServiceProcess, transport: Ignoring, cache: Path) -> JobStore:
    config = StoreConfig(
        interval=0.02,
        calm_interval=0.02,
        backend_interval=3600.0,
        cache_dir=cache,
        use_stream=False,  # polls only: the paging is what is tried
    )
    client = JobClient(
        Source.local(proc.root), transport=transport, policy=RetryPolicy(max_tries=2)
    )
    return JobStore([client], config)


async def test_a_server_without_created_before_is_paged_by_offset(
    old: ServiceProcess, tmp_path: Path
) -> None:
    transport = Ignoring("created_before")
    store = _store(old, transport, tmp_path / "cache")
    try:
        await store.start()
        poller = store.pollers["local"]
        await until(lambda: poller.history_complete, timeout=120)
        assert len(store.jobs) == JOBS
        assert poller.health.history is None
    finally:
        await store.stop()


async def test_a_server_that_pages_neither_way_is_said_once(
    old: ServiceProcess, tmp_path: Path
) -> None:
    transport = Ignoring("created_before", "offset")
    store = _store(old, transport, tmp_path / "cache")
    notices: list[str] = []

    def follow(changes: ChangeSet) -> None:
        notices.extend(changes.notices)

    store.subscribe(follow)
    try:
        await store.start()
        poller = store.pollers["local"]
        await until(lambda: poller.health.history is not None, timeout=120)
        asked = transport.history_pages
        polls = poller.polls
        await until(lambda: poller.polls >= polls + 20)
        assert transport.history_pages == asked  # given up: not asked again every poll
        assert len([n for n in notices if "older history" in n]) == 1
        assert poller.health.total is None  # no "loaded 200 of 700" for ever
        assert len(store.jobs) >= 200
    finally:
        await store.stop()
