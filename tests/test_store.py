"""The job store against the real local service: cost per poll, cache, actions, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.http_helpers import BELL, wait_status
from tests.ibm_fake import FakeIBM, Scripted
from tests.service_process import ServiceProcess, fill_finished, free_port

FAST = RetryPolicy(max_tries=1)
BIG = 100_000  # the most shots a device takes: fake_cairo is busy for minutes


def config(tmp_path: Path, **overrides: object) -> StoreConfig:
    values: dict[str, object] = {
        "interval": 0.05,
        "calm_interval": 0.05,
        "backend_interval": 3600.0,
        "max_backoff": 0.4,
        "cache_dir": tmp_path / "cache",
        "use_stream": False,  # these tests are about polling; tests/test_stream.py pushes
    }
    values.update(overrides)
    return StoreConfig(**values)  # type: ignore[arg-type]


def store_for(url: str, tmp_path: Path, **overrides: object) -> JobStore:
    client = JobClient(Source.local(url), policy=FAST)
    return JobStore([client], config(tmp_path, **overrides))


async def until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never met"
        await asyncio.sleep(0.02)


def busy_service(tmp_path: Path, finished: int, active: int) -> ServiceProcess:
    """A service holding ``finished`` completed jobs and ``active`` queued or running ones."""
    data = tmp_path / f"svc-{finished}"
    data.mkdir()
    fill_finished(data, finished)
    proc = ServiceProcess(data, "--latency-scale", "1").start()
    import httpx

    with httpx.Client(base_url=proc.url) as http:
        ids = []
        for _ in range(active):
            body = {
                "program_id": "sampler",
                "backend": "fake_cairo",
                "params": {"pubs": [[BELL, None, BIG]], "version": 2},
            }
            answer = http.post("/jobs", json=body)
            assert answer.status_code == 200
            ids.append(answer.json()["id"])
        # Steady: the first job's start (its worker may still be starting) is a change a
        # measured poll would see.
        wait_status(http, ids[0], ("Running",))
    return proc


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, ServiceProcess]]:
    base = tmp_path_factory.mktemp("store")
    procs = {n: busy_service(base, n, 20) for n in (50, 5000)}
    yield procs
    for proc in procs.values():
        proc.stop()


@pytest.mark.parametrize("finished", [50, 5000])
async def test_steady_poll_cost_does_not_grow_with_finished_jobs(
    services: dict[int, ServiceProcess], tmp_path: Path, finished: int
) -> None:
    store = store_for(services[finished].root, tmp_path, history=100_000)
    client = store.client("local")
    await store.start(poll=False)
    try:
        await store.poll_once()  # the first poll reads the history
        assert len(store.jobs) == finished + 20
        assert sum(j.status.is_active for j in store.jobs.values()) == 20
        before = client.stats.requests
        await store.poll_once()
        await store.poll_once()
        per_cycle = (client.stats.requests - before) / 2
    finally:
        await store.stop()
    # One pending list and one created_after list: nothing per finished job.
    assert per_cycle == 2


async def test_warm_restart_fetches_only_new_and_active(
    service: ServiceProcess, tmp_path: Path
) -> None:
    first = store_for(service.root, tmp_path)
    await first.start(poll=False)
    client = JobClient(Source.local(service.root))
    done = await client.submit([BELL], "basic_simulator", shots=10, tags=["warm"])
    for _ in range(600):
        await first.poll_once()
        if (job := first.job(("local", done))) is not None and job.status.is_final:
            break
        await asyncio.sleep(0.05)
    active = await client.submit([BELL], "fake_cairo", shots=BIG)
    await first.poll_once()
    known = len(first.jobs)
    await first.stop()

    later = await client.submit([BELL], "basic_simulator", shots=10)
    second = store_for(service.root, tmp_path)
    seen: list[ChangeSet] = []
    second.subscribe(seen.append)
    await second.start(poll=False)
    try:
        # The history is on screen after one request: who is the server?
        assert second.pollers["local"].client.stats.requests == 1
        assert ("local", done) in second.jobs and len(second.jobs) >= known - 1
        assert second.job(("local", done)).status is JobStatus.DONE  # type: ignore[union-attr]
        await second.poll_once()
        requests = second.pollers["local"].client.stats.requests
        # The identity question, the pending list (where the remembered active job still is,
        # so it needs no fetch of its own), the created_after list and the session's first
        # look at the backends: no history pages.
        assert requests == 4
        assert ("local", later) in second.jobs and ("local", active) in second.jobs
    finally:
        await second.stop()
        await client.cancel(active)
        await client.aclose()


async def test_cancel_is_shown_at_once_then_confirmed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    store = store_for(service.root, tmp_path, use_cache=False)
    intents: list[str | None] = []
    await store.start(poll=False)
    client = store.client("local")
    job_id = await client.submit([BELL], "fake_cairo", shots=BIG)
    key = ("local", job_id)
    await store.poll_once()
    store.subscribe(lambda ch: intents.append(store.intent(key)) if key in ch.intents else None)
    try:
        results = await store.cancel([key])
        assert results[0].ok, results[0].message
        assert intents[0] == "cancelling…" and intents[-1] is None
        assert store.job(key).status is JobStatus.CANCELLED  # type: ignore[union-attr]
        again = await store.cancel([key])
        # The one cancel rule (model.cancel_outcome): a job that ends cancelled is a success.
        assert again[0].ok and "was already cancelled" in again[0].message
    finally:
        await store.stop()


async def test_cancel_refused_by_the_server_rolls_back(
    service: ServiceProcess, tmp_path: Path
) -> None:
    store = store_for(service.root, tmp_path, use_cache=False)
    await store.start(poll=False)
    client = store.client("local")
    job_id = await client.submit([BELL], "fake_cairo", shots=BIG)
    key = ("local", job_id)
    await store.poll_once()
    await client.cancel(job_id)  # someone else cancels it first: the store's view is stale
    try:
        result = (await store.cancel([key]))[0]
        # Refused by the server, the intent is rolled back and the job read again: it ended
        # cancelled, which the one cancel rule counts as the wish fulfilled.
        assert result.ok and "was already cancelled" in result.message
        assert store.intent(key) is None
        assert store.job(key).status is JobStatus.CANCELLED  # type: ignore[union-attr]
    finally:
        await store.stop()


async def test_tags_and_rename_confirm_and_roll_back(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    proc = ServiceProcess(data, "--latency-scale", "0").start()
    store = store_for(proc.root, tmp_path, use_cache=False)
    await store.start(poll=False)
    client = store.client("local")
    job_id = await client.submit([BELL], "basic_simulator", shots=10, tags=["old"])
    key = ("local", job_id)
    await store.poll_once()
    try:
        ok = await store.set_tags(key, ["new", "tags"])
        assert ok.ok and store.job(key).tags == ("new", "tags")  # type: ignore[union-attr]
        assert (await client.job(job_id)).tags == ("new", "tags")
        refused = await store.set_tags(key, [str(i) for i in range(9)])
        assert not refused.ok and "at most 8 tags" in refused.message
        renamed = await store.rename(key, "  named  ")
        assert renamed.ok and store.job(key).name == "named"  # type: ignore[union-attr]
        proc.stop()  # the network goes away: the change is rolled back
        lost = await store.set_tags(key, ["never"])
        assert not lost.ok and "unreachable" in lost.message
        assert store.job(key).tags == ("new", "tags")  # type: ignore[union-attr]
        assert store.intent(key) is None
    finally:
        await store.stop()
        proc.stop()


async def test_a_dead_source_never_stalls_the_other_and_recovers(
    service: ServiceProcess, tmp_path: Path
) -> None:
    port = free_port()
    dead = JobClient(Source.local(f"http://127.0.0.1:{port}", name="later"), policy=FAST)
    live = JobClient(Source.local(service.root), policy=FAST)
    store = JobStore([dead, live], config(tmp_path, use_cache=False))
    await store.start()
    revived: ServiceProcess | None = None
    try:
        await until(lambda: store.pollers["later"].health.failures >= 2)
        health = store.pollers["later"].health
        assert health.stale and "unreachable" in (health.last_error or "") and health.no_answer
        polls = store.pollers["local"].polls
        await until(lambda: store.pollers["local"].polls >= polls + 3)
        assert store.pollers["local"].health.ok
        revived = ServiceProcess(tmp_path / "revived", port=port).start()
        await until(lambda: store.pollers["later"].health.ok, timeout=30)
        assert store.pollers["later"].health.last_error is not None
    finally:
        await store.stop()
        if revived is not None:
            revived.stop()


@pytest.fixture
def ibm() -> Iterator[FakeIBM]:
    with FakeIBM().running() as server:
        yield server


async def test_500s_and_429_back_off_and_honour_retry_after(ibm: FakeIBM, tmp_path: Path) -> None:
    from tests.test_client_ibm import ibm_source

    client = JobClient(ibm_source(ibm), policy=FAST)
    store = JobStore([client], config(tmp_path, use_cache=False, max_backoff=60))
    await store.start(poll=False)
    try:
        await store.poll_once()
        assert store.pollers["test"].health.ok
        ibm.script("/jobs", Scripted(500, {"errors": [{"message": "down"}]}))
        await store.poll_once()
        first = store.pollers["test"].health
        assert first.failures == 1 and "down" in (first.last_error or "")
        ibm.script("/jobs", Scripted(429, {"errors": [{"message": "slow"}]}, {"Retry-After": "42"}))
        await store.poll_once()
        limited = store.pollers["test"].health
        assert limited.failures == 2 and limited.interval >= 42
        await store.poll_once()
        assert store.pollers["test"].health.ok
        assert store.pollers["test"].health.interval == 0.05
    finally:
        await store.stop()


async def test_timeouts_mark_the_source_stale_then_recover(ibm: FakeIBM, tmp_path: Path) -> None:
    from tests.test_client_ibm import ibm_source

    client = JobClient(ibm_source(ibm), policy=FAST, read_timeout=0.1)
    store = JobStore([client], config(tmp_path, use_cache=False))
    await store.start(poll=False)
    try:
        ibm.script("/jobs", Scripted(200, {"jobs": []}, delay=1.0))
        await store.poll_once()
        assert store.pollers["test"].health.stale
        await store.poll_once()
        assert not store.pollers["test"].health.stale
    finally:
        await store.stop()


async def test_an_empty_source_still_sees_jobs_that_end_between_polls(tmp_path: Path) -> None:
    proc = ServiceProcess(tmp_path / "empty", "--latency-scale", "0").start()
    store = store_for(proc.root, tmp_path, use_cache=False)
    await store.start(poll=False)
    try:
        await store.poll_once()
        assert len(store.jobs) == 0
        client = store.client("local")
        job_id = await client.submit([BELL], "basic_simulator", shots=10)
        while not (await client.job(job_id)).status.is_final:
            await asyncio.sleep(0.05)
        await store.poll_once()
        assert store.job(("local", job_id)) is not None
    finally:
        await store.stop()
        proc.stop()
