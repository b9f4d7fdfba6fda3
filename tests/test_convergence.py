"""After faults, the store (and ``ls --watch``, and the dashboard) tell the server's truth.

A seeded fault proxy sits between the store and a real local service while a workload runs;
then the faults stop, and within two polls every job the server has is known, in its state.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

from qjob_tui.api import JobClient, Source
from qjob_tui.model import JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.convergence import SHORT_RETRIES, faulty, run_workload, server_state, until
from tests.service_process import ServiceProcess

STATUSES = {status.value for status in JobStatus}


def _store(url: str, tmp_path: Path) -> JobStore:
    client = JobClient(Source.local(url), policy=SHORT_RETRIES)
    config = StoreConfig(
        interval=0.2,
        calm_interval=0.2,
        backend_interval=0.5,
        max_backoff=1.0,
        cache_dir=tmp_path / "cache",
        use_stream=False,  # convergence of the polls; the stream's own faults: test_stream.py
    )
    return JobStore([client], config)


async def test_the_store_converges_after_faults_stop(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "svc", "--latency-scale", "0.2").start()
    proxy = faulty(service.root)
    store = _store(proxy.root, tmp_path)
    published: dict[str, JobStatus] = {}  # what a subscriber (the dashboard) was told

    def follow(changes: ChangeSet) -> None:
        for job in (*changes.added, *changes.changed):
            published[job.id] = job.status
        for _, job_id in changes.removed:
            published.pop(job_id, None)

    store.subscribe(follow)
    try:
        await store.start()
        await run_workload(service.root, jobs=40)
        truth = await server_state(service.url)
        assert proxy.stats.faulted > 10, proxy.stats
        proxy.calm()
        poller = store.pollers["local"]
        polls = poller.polls
        # A poll in flight when the faults stopped may still fail: two more, whole ones.
        await until(lambda: poller.polls >= polls + 3)
        shown = {job.id: job.status for job in store.all_jobs()}
        assert shown == truth
        assert published == truth
    finally:
        await store.stop()
        proxy.stop()
        service.stop()


async def test_ls_watch_converges_after_faults_stop(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "svc", "--latency-scale", "0.2").start()
    proxy = faulty(service.root, seed=11)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "qjob_tui", "ls", "--watch", "--source", proxy.root]
    watch = subprocess.Popen(
        [*command, "--refresh", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    seen: dict[str, str] = {}
    lines: list[str] = []

    def read() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            words = line.split()
            lines.append(line)
            # "HH:MM:SS  new|changed  ID  MARK STATUS BACKEND": the last word for a job wins.
            if len(words) >= 5 and words[1] in ("new", "changed"):
                seen[words[2]] = words[4]
            # The first table: "ID  MARK STATUS  BACKEND ...".
            elif len(words) >= 3 and words[2] in STATUSES:
                seen[words[0]] = words[2]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        await run_workload(service.root)
        truth = await server_state(service.url)
        proxy.calm()
        expected = {job_id: status.value for job_id, status in truth.items()}
        try:
            await until(lambda: seen == expected, timeout=60)
        except AssertionError:
            raise AssertionError("".join(lines[-40:])) from None
    finally:
        watch.terminate()
        watch.wait(10)
        proxy.stop()
        service.stop()


async def test_the_dashboard_converges_after_faults_stop(tmp_path: Path) -> None:
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.jobs.job_list import JobList

    service = ServiceProcess(tmp_path / "svc", "--latency-scale", "0.2").start()
    proxy = faulty(service.root, seed=13)
    store = _store(proxy.root, tmp_path)
    app = QJobApp(store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            workload = asyncio.create_task(run_workload(service.root))
            while not workload.done():
                await pilot.pause(0.1)
            await workload
            truth = await server_state(service.url)
            proxy.calm()
            poller = store.pollers["local"]
            polls = poller.polls
            while poller.polls < polls + 3:
                await pilot.pause(0.1)
            await pilot.pause()
            rows = app.query_one(JobList).rows
            on_screen: dict[str, JobStatus] = {}
            for index in range(len(rows)):
                key = rows.key_at(index)
                assert key is not None
                job = rows.job(key)
                assert job is not None
                on_screen[key[1]] = job.status
            assert on_screen == truth
    finally:
        proxy.stop()
        service.stop()


async def test_a_reconciliation_catches_a_job_listed_late_with_an_older_time(
    tmp_path: Path,
) -> None:
    """A job that appears after the cursor passed its creation time (committed late): only the
    reconciliation's listing can bring it, and it does."""
    from datetime import timedelta

    from qjob_tui.service.db import Database, JobRow, iso
    from tests.service_process import fill_finished

    data = tmp_path / "svc"
    fill_finished(data, 3)
    service = ServiceProcess(data, "--latency-scale", "0").start()
    stores = {
        every: JobStore(
            [JobClient(Source.local(service.root))],
            StoreConfig(
                backend_interval=3600.0,
                reconcile_interval=every,
                use_cache=False,
                use_stream=False,
            ),
        )
        for every in (0.0, 3600.0)
    }
    try:
        for store in stores.values():
            await store.start(poll=False)
            await store.poll_once()
            await store.poll_once()
            assert len(store.pollers["local"].jobs) == 3
        newest = stores[0.0].pollers["local"].newest
        assert newest is not None
        late = Database(data / "jobs.sqlite3")  # the database the service runs on
        job = JobRow.new("sampler", "basic_simulator", '{"pubs": [], "version": 2}', shots=1)
        job.id = "late0000000000000001"
        job.status = "Completed"
        job.created = job.queued = job.running = job.finished = iso(newest - timedelta(seconds=5))
        late.insert_many([job])
        late.close()
        for store in stores.values():
            await store.poll_once()
        assert ("local", job.id) in stores[0.0].jobs
        assert ("local", job.id) not in stores[3600.0].jobs  # the cursor alone never sees it
    finally:
        for store in stores.values():
            await store.stop()
        service.stop()
