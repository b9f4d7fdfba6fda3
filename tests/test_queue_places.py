"""Queue places follow the server: read from the store while a real service's queue moves,
they are never more than one poll behind the server's own, and where the server pushes, a
job's start moves the places behind it in the same change set."""

from __future__ import annotations

from pathlib import Path

import httpx

from qjob_tui.api import JobClient, Source
from qjob_tui.model import Job, JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.convergence import until
from tests.http_helpers import sampler_body
from tests.service_process import ServiceProcess

BACKEND = "fake_lima"  # 0.5 ms a shot: 3,000 shots keep each job about 1.5 s
QUEUED = 6


def _store(proc: ServiceProcess, tmp_path: Path, *, stream: bool) -> JobStore:
    config = StoreConfig(
        interval=0.2,
        calm_interval=0.2,
        cache_dir=tmp_path / "cache",
        use_stream=stream,
        streaming_interval=3600.0,  # with the stream, places come only from its pushes
    )
    return JobStore([JobClient(Source.local(proc.root))], config)


def _submit(http: httpx.Client) -> list[str]:
    body = sampler_body(BACKEND, shots=3000)
    return [http.post("/jobs", json=body).json()["id"] for _ in range(QUEUED)]


async def _server_places(http: httpx.AsyncClient, ids: list[str]) -> dict[str, int | None]:
    places = {}
    for job_id in ids:
        metrics = (await http.get(f"/jobs/{job_id}/metrics")).json()
        places[job_id] = metrics.get("position_in_queue")
    return places


def _places(store: JobStore, ids: list[str]) -> dict[str, int | None]:
    jobs = [store.job(("local", job_id)) for job_id in ids]
    return {j.id: j.queue.position for j in jobs if j is not None and j.status is JobStatus.QUEUED}


async def test_polled_places_are_never_more_than_one_poll_behind(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "svc", "--latency-scale", "1").start()
    store = _store(service, tmp_path, stream=False)
    try:
        await store.start(poll=False)
        with httpx.Client(base_url=service.url) as http:
            ids = _submit(http)
        checked = 0
        async with httpx.AsyncClient(base_url=service.url) as http:
            while True:
                before = await _server_places(http, ids)
                await store.poll_once()
                after = await _server_places(http, ids)
                shown = _places(store, ids)
                for job_id, place in shown.items():
                    # A queued job shows a place at once, and the one the server gave during
                    # the poll: places only move forward, so between what it said after and
                    # what it said before.
                    low, high = after[job_id], before[job_id]
                    assert place is not None, (job_id, before, shown)
                    assert (low or 0) <= place <= (high or place), (job_id, before, shown, after)
                    checked += 1
                if not shown and all(p is None for p in after.values()):
                    break
        assert checked >= QUEUED  # the queue moved under the polls
    finally:
        await store.stop()
        service.stop()


async def test_a_pushed_start_moves_the_places_behind_it_at_once(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "svc", "--latency-scale", "1").start()
    store = _store(service, tmp_path, stream=True)
    wrong: list[dict[str, int | None]] = []
    starts = 0

    def follow(changes: ChangeSet) -> None:
        nonlocal starts
        starts += sum(job.status is JobStatus.RUNNING for job in changes.changed)
        queued = sorted(
            (j for j in store.all_jobs() if j.backend == BACKEND and j.status is JobStatus.QUEUED),
            key=lambda j: j.created,
        )
        places = [j.queue.position for j in queued]
        # The server's places are 1, 2, 3 … in the order the jobs run; after every change
        # set the store shows the same, never the old places of a queue that moved.
        if places != list(range(1, len(queued) + 1)):
            wrong.append({j.id: j.queue.position for j in queued})

    try:
        await store.start()
        poller = store.pollers["local"]
        await until(lambda: poller.health.streaming)
        store.subscribe(follow)
        with httpx.Client(base_url=service.url) as http:
            ids = _submit(http)

        def finished(job: Job | None) -> bool:
            return job is not None and job.status.is_final

        await until(lambda: all(finished(store.job(("local", i))) for i in ids), timeout=120)
        assert starts >= QUEUED - 1
        assert wrong == []
        # The backends pane's queue length agrees with the jobs it shows.
        await until(lambda: next(b for b in store.backends if b.name == BACKEND).queue_length == 0)
    finally:
        await store.stop()
        service.stop()
