"""A cache that cannot be written: said once, nothing lost on screen, refetched next start."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import httpx
import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.status.status_line import status_text
from tests.convergence import faulty
from tests.http_helpers import submit
from tests.service_process import ServiceProcess, fill_finished

JOBS = 1000


def _store(proc: ServiceProcess, cache: Path) -> JobStore:
    config = StoreConfig(
        interval=0.02, calm_interval=0.02, backend_interval=3600.0, cache_dir=cache
    )
    return JobStore([JobClient(Source.local(proc.root))], config)


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
async def test_a_failing_cache_is_reported_once_and_the_next_start_refetches(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    fill_finished(tmp_path / "svc", JOBS)
    proc = ServiceProcess(tmp_path / "svc", "--latency-scale", "0").start()
    try:
        store = _store(proc, tmp_path / "cache")
        notices: list[str] = []
        store.subscribe(lambda changes: notices.extend(changes.notices))
        await store.start(poll=False)
        poller = store.pollers["local"]
        await store.poll_once()
        assert poller.cache is not None and poller.cache._conn is not None
        conn = poller.cache._conn
        if fault == "disk full":  # SQLite's own "database or disk is full"
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        else:
            conn.execute("PRAGMA query_only = ON")
        caplog.set_level(logging.WARNING, logger="qjob_tui.store")
        while not poller.history_complete:
            await store.poll_once()
        assert len(poller.jobs) == JOBS  # in memory, everything
        assert len(notices) == 1 and "could not store jobs" in notices[0], notices
        assert len([r for r in caplog.records if "cache" in r.getMessage()]) == 1
        assert poller.health.cache_problem is not None
        line = status_text([poller.health], Counter(), False, 2.0).plain
        assert "cache not saved" in line
        await store.poll_once()
        assert len(notices) == 1  # said once
        await store.stop()

        # Space freed (a new connection has no limit): the history comes back in full.
        again = _store(proc, tmp_path / "cache")
        seen: list[ChangeSet] = []
        again.subscribe(seen.append)
        await again.start(poll=False)
        later = again.pollers["local"]
        try:
            assert len(later.jobs) < JOBS  # the cache is incomplete, never wrong
            for _ in range(JOBS // 200 + 3):
                await again.poll_once()
                if later.history_complete:
                    break
            assert later.history_complete and len(later.jobs) == JOBS
            assert later.health.cache_problem is None
        finally:
            await again.stop()
        third = _store(proc, tmp_path / "cache")
        await third.start(poll=False)
        try:
            assert len(third.pollers["local"].jobs) == JOBS
        finally:
            await third.stop()
    finally:
        proc.stop()


async def test_a_failed_write_of_a_server_that_left_is_not_the_next_ones(tmp_path: Path) -> None:
    """The cache of the server that answered before could not be written; once another server
    answers at the address, that problem is not shown as this one's, and a failure of the new
    server's cache would be said again."""
    first = ServiceProcess(tmp_path / "first", "--latency-scale", "0").start()
    second = ServiceProcess(tmp_path / "second", "--latency-scale", "0").start()
    proxy = faulty(first.root, seed=3)
    proxy.calm()  # no faults: only the switch
    config = StoreConfig(
        interval=0.1, calm_interval=0.1, backend_interval=3600.0, cache_dir=tmp_path / "cache"
    )
    store = JobStore([JobClient(Source.local(proxy.root))], config)
    notices: list[str] = []
    store.subscribe(lambda changes: notices.extend(changes.notices))
    poller = store.pollers["local"]

    async def fail_to_write(service: ServiceProcess) -> None:
        """The cache open now refuses writes; a new job of ``service`` must be written."""
        assert poller.cache is not None and poller.cache._conn is not None
        poller.cache._conn.execute("PRAGMA query_only = ON")
        with httpx.Client(base_url=service.url) as http:
            submit(http)
        while poller.health.cache_problem is None:
            await store.poll_once()

    try:
        with httpx.Client(base_url=first.url) as http:
            submit(http)
        await store.start(poll=False)
        await store.poll_once()
        await fail_to_write(first)
        assert len(notices) == 1
        proxy.retarget(second.root)
        await store.poll_once()  # the switch
        assert poller.health.cache_problem is None
        await store.poll_once()  # the second server, read afresh into its own cache
        await fail_to_write(second)
        assert len(notices) == 2, notices  # its own failure, said
    finally:
        await store.stop()
        proxy.stop()
        first.stop()
        second.stop()
