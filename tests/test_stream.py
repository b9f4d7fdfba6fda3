"""Pushed changes: the service's ``GET /stream``, and the store that listens to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import Backend, JobStatus
from qjob_tui.store import JobStore, StoreConfig
from tests.http_helpers import sampler_body
from tests.service_process import ServiceProcess

SLOW = 3600.0  # no poll would come in the test's lifetime: what arrives was pushed


async def until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never met"
        await asyncio.sleep(0.02)


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict]]:  # type: ignore[type-arg]
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def test_service_streams_each_change_with_its_fields(service: ServiceProcess) -> None:
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=30) as http,
        http.stream("GET", "/stream") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        assert (await anext(stream))[0] == "hello"
        submitted = await http.post("/jobs", json=sampler_body("fake_cairo", shots=100_000))
        job_id = submitted.json()["id"]
        event, data = await anext(stream)
        # The feed sends each job's state when it publishes, so a job the scheduler started
        # in the meantime arrives as Running: the stream coalesces, it never replays.
        assert (event, data["id"]) == ("job", job_id)
        assert data["status"] in ("Queued", "Running")
        assert data["job"]["id"] == job_id and "timestamps" in data["metrics"]
        assert (await http.put(f"/jobs/{job_id}/tags", json={"tags": ["x"]})).status_code == 204
        status = data["status"]
        while data["job"]["tags"] != ["x"]:  # the scheduler may move it first
            status = data["status"]
            event, data = await anext(stream)
        # The fields that changed since the last event: the tags, and the status only if the
        # job started in the same moment (one event then carries both).
        assert data["changed"] == (["tags"] if data["status"] == status else ["status", "tags"])
        assert (await http.post(f"/jobs/{job_id}/cancel")).status_code == 204
        while data["status"] != "Cancelled":
            event, data = await anext(stream)
        assert "status" in data["changed"]


def store_for(url: str, tmp_path: Path, **overrides: object) -> JobStore:
    values: dict[str, object] = {
        "interval": SLOW,
        "calm_interval": SLOW,
        "backend_interval": SLOW,
        "streaming_interval": SLOW,
        "cache_dir": tmp_path / "cache",
    }
    values.update(overrides)
    client = JobClient(Source.local(url), policy=RetryPolicy(max_tries=1))
    return JobStore([client], StoreConfig(**values))  # type: ignore[arg-type]


async def test_store_gets_changes_without_polling(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_for(service.url, tmp_path)
    poller = store.pollers["local"]
    await store.start()
    try:
        await until(lambda: poller.health.streaming)
        await until(lambda: poller.polls == 1)  # the catch-up poll when the stream opened
        requests = poller.client.stats.requests
        # A pushed job that moves re-reads the backends' queue lengths (and nothing else).
        backend_reads = 0
        real_backends = poller.client.backends

        async def counted_backends() -> list[Backend]:
            nonlocal backend_reads
            backend_reads += 1
            return await real_backends()

        monkeypatch.setattr(poller.client, "backends", counted_backends)
        async with httpx.AsyncClient(base_url=service.url) as http:
            answer = await http.post("/jobs", json=sampler_body("fake_cairo", shots=100_000))
            job_id = answer.json()["id"]
            await until(lambda: store.job(("local", job_id)) is not None)
            await http.post(f"/jobs/{job_id}/cancel")
        await until(lambda: store.job(("local", job_id)).status is JobStatus.CANCELLED)  # type: ignore[union-attr]
        assert poller.polls == 1
        assert backend_reads >= 1
        # Pushed: not one request more for the jobs.
        assert poller.client.stats.requests == requests + backend_reads
    finally:
        await store.stop()


async def test_a_poll_answer_older_than_the_streams_news_is_dropped(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll asks while the job is active; before its answer arrives the stream says the job
    was cancelled. The store keeps Cancelled, and no subscriber is told of the older state."""
    store = store_for(service.url, tmp_path)
    poller = store.pollers["local"]
    key = ("local", "")
    told: list[JobStatus] = []
    await store.start()
    try:
        await until(lambda: poller.health.streaming)
        await until(lambda: poller.polls == 1)
        async with httpx.AsyncClient(base_url=service.url) as http:
            answer = await http.post("/jobs", json=sampler_body("fake_cairo", shots=100_000))
            key = ("local", answer.json()["id"])
            await until(lambda: store.job(key) is not None)
            store.subscribe(
                lambda changes: told.extend(
                    job.status for job in (*changes.added, *changes.changed) if job.key == key
                )
            )
            asked, release = asyncio.Event(), asyncio.Event()
            real_jobs = poller.client.jobs

            async def late_jobs(**filters: object):  # type: ignore[no-untyped-def]
                page = await real_jobs(**filters)  # type: ignore[arg-type]
                if "created_after" in filters and not release.is_set():
                    # The round's last listing of the job: held back on its way, so that
                    # nothing later in the round says otherwise.
                    asked.set()
                    await release.wait()
                return page

            monkeypatch.setattr(poller.client, "jobs", late_jobs)
            poll = asyncio.create_task(poller.poll_once())
            await asyncio.wait_for(asked.wait(), 30)  # the answer says: still active
            await http.post(f"/jobs/{key[1]}/cancel")
            await until(lambda: store.job(key).status is JobStatus.CANCELLED)  # type: ignore[union-attr]
            release.set()
            await poll
        assert store.job(key).status is JobStatus.CANCELLED  # type: ignore[union-attr]
        assert told and told[-1] is JobStatus.CANCELLED, told
        assert all(status is JobStatus.CANCELLED for status in told), told
    finally:
        await store.stop()


class CuttableProxy:
    """A TCP proxy in front of the service that can cut its connections and refuse streams."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refuse_streams = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.read(65536)
        if self.refuse_streams and first.startswith(b"GET /api/v1/stream"):
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}
        up_writer.write(first)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.close()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


async def test_store_falls_back_to_polling_when_the_stream_breaks(
    service: ServiceProcess, tmp_path: Path
) -> None:
    proxy = CuttableProxy(service.port)
    url = await proxy.start()
    store = store_for(url, tmp_path, interval=0.2, calm_interval=0.2)
    poller = store.pollers["local"]
    await store.start()
    try:
        await until(lambda: poller.health.streaming)
        proxy.refuse_streams = True
        proxy.cut()  # the stream breaks, and cannot be reopened
        await until(lambda: not poller.health.streaming)
        polls = poller.polls
        await until(lambda: poller.polls >= polls + 3)  # polling at the usual pace again
        async with httpx.AsyncClient(base_url=service.url) as http:
            answer = await http.post("/jobs", json=sampler_body("fake_cairo", shots=100_000))
            job_id = answer.json()["id"]
        await until(lambda: store.job(("local", job_id)) is not None)  # seen by polling
        proxy.refuse_streams = False  # the stream comes back: polls slow down again
        await until(lambda: poller.health.streaming)
    finally:
        await store.stop()
        await proxy.stop()


async def test_no_stream_on_a_server_without_one() -> None:
    """A server that answers 404 on /stream (as IBM does) is polled as before."""
    from tests.ibm_fake import FakeIBM

    with FakeIBM().running() as fake:
        fake.valid_tokens.add("token")
        client = JobClient(Source.local(fake.url, token="token"), policy=RetryPolicy(max_tries=1))
        config = StoreConfig(interval=0.05, calm_interval=0.05, use_cache=False)
        store = JobStore([client], config)
        poller = store.pollers["local"]
        await store.start()
        try:
            await until(lambda: not poller.stream.supported)
            polls = poller.polls
            await until(lambda: poller.polls >= polls + 3)
            assert not poller.health.streaming
            assert ("GET", "/stream") in [(m, p) for m, p, _ in fake.requests]
        finally:
            await store.stop()


def test_a_stream_is_held_to_the_keepalive_its_server_announces() -> None:
    """The hello says how often an idle stream hears from the server; a server that does not
    say (an older qjob-tui) or says nonsense is held to the period it always kept."""
    from qjob_tui.api.stream import UNANNOUNCED_KEEPALIVE, keepalive_of
    from qjob_tui.wire import rest

    assert keepalive_of(json.dumps(rest.hello_body())) == rest.KEEPALIVE
    assert keepalive_of(json.dumps(rest.hello_body("lab"))) == rest.KEEPALIVE
    unsaid = ('{"version": 1}', '{"keepalive": true}', '{"keepalive": -5}', '{"keepalive": 1e9}')
    broken = ("[]", "not json", '"text"', '{"keepalive": "5"}')
    for hello in (*unsaid, *broken):
        assert keepalive_of(hello) == UNANNOUNCED_KEEPALIVE
