"""Each server's jobs stay its own: caches and state are keyed by who the server is."""

from __future__ import annotations

from pathlib import Path

import httpx

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.convergence import SHORT_RETRIES, faulty, until
from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess, free_port


def _config(tmp_path: Path) -> StoreConfig:
    return StoreConfig(
        interval=0.1,
        calm_interval=0.1,
        backend_interval=3600.0,
        max_backoff=0.5,
        cache_dir=tmp_path / "cache",
    )


def _service(
    tmp_path: Path, name: str, jobs: int, port: int | None = None
) -> tuple[ServiceProcess, set[str]]:
    proc = ServiceProcess(tmp_path / name, "--latency-scale", "0", port=port).start()
    with httpx.Client(base_url=proc.url) as http:
        ids = {submit(http, tags=[name]) for _ in range(jobs)}
    return proc, ids


def test_the_service_publishes_who_it_is(tmp_path: Path) -> None:
    proc = ServiceProcess(tmp_path / "a", "--latency-scale", "0").start()
    try:
        first = httpx.get(f"{proc.url}/version").json()
        assert first["service"] == "qjob-tui" and first["version"]
        answer = httpx.get(f"{proc.url}/backends")
        assert answer.headers["x-qjob-tui-instance"] == first["instance_id"]
        proc.stop()
        proc.start()  # the same data folder is the same service
        assert httpx.get(f"{proc.url}/version").json()["instance_id"] == first["instance_id"]
    finally:
        proc.stop()
    other = ServiceProcess(tmp_path / "b", "--latency-scale", "0").start()
    try:
        assert httpx.get(f"{other.url}/version").json()["instance_id"] != first["instance_id"]
    finally:
        other.stop()


async def test_services_watched_in_turn_each_show_only_their_own_jobs(tmp_path: Path) -> None:
    port = free_port()
    first, first_ids = _service(tmp_path, "first", 3)
    second, second_ids = _service(tmp_path, "second", 2)
    try:
        for proc, ids in ((first, first_ids), (second, second_ids), (first, first_ids)):
            # Always the same nickname ("local") and the same cache folder.
            store = JobStore([JobClient(Source.local(proc.root))], _config(tmp_path))
            await store.start(poll=False)
            try:
                cached = {job.id for job in store.all_jobs()}
                assert cached <= ids
                await store.poll_once()
                assert {job.id for job in store.all_jobs()} == ids
            finally:
                await store.stop()
        first.stop()
        # A fresh service (a new demo) on the port the first one used: an empty list.
        fresh = ServiceProcess(tmp_path / "fresh", "--latency-scale", "0", port=port).start()
        try:
            store = JobStore([JobClient(Source.local(fresh.root))], _config(tmp_path))
            await store.start(poll=False)
            try:
                await store.poll_once()
                assert list(store.all_jobs()) == []
            finally:
                await store.stop()
        finally:
            fresh.stop()
    finally:
        first.stop()
        second.stop()


async def test_the_cache_of_a_server_watched_under_another_name_is_that_name_s(
    tmp_path: Path,
) -> None:
    """One server, watched first as ``local`` and then by its URL (``ls --watch`` and then
    ``qjob-tui --source URL``): the cache file is the server's, and its jobs come back under
    the name watching now, each once and each selectable (they came back under the old name:
    listed twice, and a cached row that no key of the store could find)."""
    proc, ids = _service(tmp_path, "named", 3)
    try:
        with httpx.Client(base_url=proc.url) as http:
            for job_id in ids:
                wait_status(http, job_id)
        for name in ("local", proc.root):
            store = JobStore([JobClient(Source.local(proc.root, name=name))], _config(tmp_path))
            await store.start(poll=False)
            try:
                cached = list(store.all_jobs())
                if name != "local":  # the second start reads what the first one saved
                    assert {job.id for job in cached} == ids
                assert all(job.source == name for job in cached)
                assert all(store.job(job.key) == job for job in cached)
                await store.poll_once()
                shown = [job.id for job in store.all_jobs()]
                assert sorted(shown) == sorted(ids)  # each once
            finally:
                await store.stop()
    finally:
        proc.stop()


async def test_nothing_shown_through_the_proxy_belongs_to_another_server(
    tmp_path: Path,
) -> None:
    first, first_ids = _service(tmp_path, "first", 4)
    second, second_ids = _service(tmp_path, "second", 3)
    proxy = faulty(first.root, seed=21)
    store = JobStore([JobClient(Source.local(proxy.root), policy=SHORT_RETRIES)], _config(tmp_path))
    view: set[str] = set()
    mixed: list[set[str]] = []

    def follow(changes: ChangeSet) -> None:
        view.difference_update(job_id for _, job_id in changes.removed)
        view.update(job.id for job in (*changes.added, *changes.changed))
        if not (view <= first_ids or view <= second_ids):
            mixed.append(set(view))

    store.subscribe(follow)
    try:
        await store.start()
        await until(lambda: view == first_ids)
        proxy.retarget(second.root)
        await until(lambda: view == second_ids)
        proxy.retarget(first.root)
        await until(lambda: view == first_ids)
        assert mixed == []
        assert {job.id for job in store.all_jobs()} == first_ids
    finally:
        await store.stop()
        proxy.stop()
        first.stop()
        second.stop()


async def test_a_switch_leaves_nothing_of_the_old_server_in_the_store(tmp_path: Path) -> None:
    """Everything read from the first server (jobs, a session, usage, the own user, results,
    backends and their queue history, the jobs submitted through the store) is gone once the
    second answers at the same address, from every part of the store."""
    first, _ = _service(tmp_path, "first", 0)
    second, second_ids = _service(tmp_path, "second", 2)
    with httpx.Client(base_url=second.url) as http:
        for job_id in second_ids:  # finished: its usage is what the store and the test read
            wait_status(http, job_id)
    with httpx.Client(base_url=first.url) as http:
        session = http.post("/sessions", json={"mode": "batch", "backend": "basic_simulator"})
        session_id = session.json()["id"]
        done = submit(http, session_id=session_id)
        wait_status(http, done)
    proxy = faulty(first.root, seed=5)
    proxy.calm()  # no faults: only the switch
    store = JobStore([JobClient(Source.local(proxy.root))], _config(tmp_path))
    try:
        await store.start(poll=False)
        await store.poll_once()
        await store.poll_sessions(usage=True)
        key = ("local", done)
        assert await store.result(key) is not None
        made = await store.extract(key)
        assert made.ok, made.message
        extracted = made.message.rsplit("job ", 1)[1]
        assert store.submitted == {("local", extracted)}
        assert store.sessions and "local" in store.usage
        assert store.own_user("local") is not None
        assert store.backends and store.queue_history("local", "basic_simulator")
        old_identity = store.identity("local")
        old_state = store.pollers["local"].state

        proxy.retarget(second.root)
        await store.poll_once()  # the switch
        await store.poll_once()  # the second server, read afresh
        await store.poll_sessions(usage=True)
        assert store.identity("local") not in (None, old_identity)
        assert {job.id for job in store.all_jobs()} == second_ids
        assert store.job(key) is None and await store.result(key) is None
        assert ("local", session_id) not in store.sessions
        # The second server's own readings, not the first one's kept.
        async with JobClient(Source.local(second.root)) as direct:
            usage = await direct.usage()
            assert store.usage["local"].consumed_seconds == usage.consumed_seconds
            own = await direct.workloads(mine=True, limit=1)
        assert store.own_user("local") == next((w.user_id for w in own.workloads), None)
        # One reading of the backends since the switch: the queue history starts again.
        assert len(store.queue_history("local", "basic_simulator")) == 1
        assert store.submitted == set()
        # Nothing of the first server in any field of the source's state: a new one.
        state = store.pollers["local"].state
        assert state is not old_state
        kept = repr([vars(state), vars(state.cursors)])
        for old in (done, session_id, extracted, old_identity):
            assert old is not None and old not in kept
    finally:
        await store.stop()
        proxy.stop()
        first.stop()
        second.stop()
