"""The store's sessions, usage and session actions, against the real local service."""

from __future__ import annotations

from pathlib import Path

import httpx

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import JobStatus, Session, SessionMode, SessionState
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from tests.http_helpers import BELL, submit
from tests.service_process import ServiceProcess
from tests.test_client_sessions import wait_final


def make_store(service: ServiceProcess, tmp_path: Path) -> JobStore:
    client = JobClient(Source.local(service.url), policy=RetryPolicy(max_tries=1))
    config = StoreConfig(interval=0.05, calm_interval=0.05, cache_dir=tmp_path / "cache")
    return JobStore([client], config)


async def test_sessions_of_known_jobs_are_read_until_closed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    store = make_store(service, tmp_path)
    seen: list[ChangeSet] = []
    store.subscribe(seen.append)
    await store.start(poll=False)
    async with JobClient(Source.local(service.url)) as client:
        session_id = await client.open_session("basic_simulator", SessionMode.BATCH)
        job_id = await client.submit([BELL], "basic_simulator", session_id=session_id)
        await wait_final(client, job_id)
    try:
        await store.poll_once()
        changes = await store.poll_sessions(usage=True)
        key = ("local", session_id)
        session = store.session(key)
        assert session is not None and session.mode is SessionMode.BATCH
        assert session in changes.sessions and any(session in c.sessions for c in seen)
        assert [job.id for job in store.session_jobs(key)] == [job_id]
        assert "local" in store.usage and changes.usage[0][0] == "local"
        # Unchanged: nothing new to publish, and the usage waits for its own cadence.
        again = await store.poll_sessions()
        assert not again.sessions and not again.usage
        # Closed: read once more, then never again.
        result = await store.cancel_session(key)
        assert result.ok, result.message
        assert store.session(key).state is SessionState.CLOSED  # type: ignore[union-attr]
        assert key not in {(s, i) for s, ids in store.session_watch.wanted().items() for i in ids}
    finally:
        await store.stop()


async def test_close_is_shown_at_once_and_confirmed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    store = make_store(service, tmp_path)
    await store.start(poll=False)
    async with JobClient(Source.local(service.url)) as client:
        session_id = await client.open_session("basic_simulator", SessionMode.DEDICATED)
        job_id = await client.submit([BELL], "basic_simulator", session_id=session_id)
    key = ("local", session_id)
    shown: list[tuple[bool, str | None]] = []

    def record(changes: ChangeSet) -> None:
        for session in changes.sessions:
            if session.key == key:
                shown.append((session.accepting_jobs, store.session_intent(key)))

    try:
        await store.poll_once()
        await store.poll_sessions()
        assert store.session(key).accepting_jobs  # type: ignore[union-attr]
        store.subscribe(record)
        result = await store.close_session(key)
        assert result.ok, result.message
        assert shown[0] == (False, "closing…")  # before the server answered
        assert shown[-1] == (False, None)  # confirmed by the server's own answer
        assert not store.session(key).accepting_jobs  # type: ignore[union-attr]
        again = await store.close_session(key)
        assert not again.ok and "already" in again.message
        async with JobClient(Source.local(service.url)) as client:
            await wait_final(client, job_id)
            assert (await client.job(job_id)).status is JobStatus.DONE
    finally:
        await store.stop()


async def test_a_refused_session_action_is_rolled_back(
    service: ServiceProcess, tmp_path: Path
) -> None:
    store = make_store(service, tmp_path)
    await store.start(poll=False)
    # A session the store saw that the server no longer knows (deleted, or another server's).
    gone = Session("gone-session", "local", SessionMode.BATCH, SessionState.OPEN)
    store.pollers["local"].state.sessions[gone.id] = gone
    shown: list[tuple[bool, str | None]] = []
    store.subscribe(
        lambda changes: shown.extend(
            (s.accepting_jobs, store.session_intent(s.key)) for s in changes.sessions
        )
    )
    try:
        result = await store.cancel_session(gone.key)
        assert not result.ok and "refused" in result.message
        assert shown == [(False, "cancelling…"), (True, None)]
        assert store.session(gone.key) == gone
    finally:
        await store.stop()


async def test_a_read_only_store_refuses_every_action(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """Read-only is enforced where actions happen, whatever keys a dashboard draws."""
    from dataclasses import replace as with_fields

    from qjob_tui.store import JobStore

    with httpx.Client(base_url=service.url) as http:  # a job of its own, whatever ran before
        job_id = submit(http)
    plain = make_store(service, tmp_path)
    store = JobStore([plain.client("local")], with_fields(plain.config, readonly=True))
    await store.start(poll=False)
    try:
        await store.poll_once()
        await store.poll_sessions()
        job = next(j for j in store.all_jobs() if j.id == job_id)
        results = [
            *(await store.cancel([job.key])),
            await store.set_tags(job.key, ["x"]),
            await store.rename(job.key, "x"),
            await store.extract(job.key),
        ]
        assert all(not r.ok and "read-only" in r.message for r in results)
        assert store.job(job.key) == job  # nothing shown changed either
        for key in list(store.sessions):
            assert not (await store.close_session(key)).ok
            assert not (await store.cancel_session(key)).ok
    finally:
        await store.stop()
