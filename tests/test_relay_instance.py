"""Through a relay, a source is known by who answers upstream: a viewer started after another
server took the upstream's address never shows the first server's cached jobs as its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from tests.http_helpers import submit, wait_status
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess, free_port


def _viewer(relay: RelayProcess, name: str, cache: Path) -> JobStore:
    source = Source.local(f"{relay.root}/sources/{name}/api/v1", None, name=name)
    return JobStore([JobClient(source)], StoreConfig(cache_dir=cache, use_stream=False))


def _relay_count(relay: RelayProcess, name: str) -> int:
    answer = httpx.get(f"{relay.root}/sources/{name}/api/v1/jobs")
    return int(answer.json()["count"]) if answer.status_code == 200 else -1


async def test_a_viewer_started_after_an_upstream_switch_shows_the_new_server(
    tmp_path: Path,
) -> None:
    port = free_port()
    first = ServiceProcess(tmp_path / "first", "--latency-scale", "0", port=port).start()
    relay = RelayProcess(tmp_path / "relay", "--source", first.root, "--no-web", "--refresh", "0.2")
    second: ServiceProcess | None = None
    try:
        with httpx.Client(base_url=first.url) as http:
            old = {submit(http) for _ in range(3)}
            for job_id in old:
                wait_status(http, job_id)
        relay.start()
        name = f"127.0.0.1-{port}"
        cache = tmp_path / "viewer-cache"
        viewer = _viewer(relay, name, cache)
        try:  # a first viewer session: the three jobs, saved in its cache
            await viewer.start(poll=False)
            while {job.id for job in viewer.all_jobs()} != old:
                await viewer.poll_once()
            first_identity = viewer.identity(name)
        finally:
            await viewer.stop()

        first.stop()  # another service (another data folder) at the same address
        second = ServiceProcess(tmp_path / "second", "--latency-scale", "0", port=port).start()
        with httpx.Client(base_url=second.url) as http:
            new = submit(http)
            wait_status(http, new)
        while _relay_count(relay, name) != 1:  # the relay has switched to the new server
            await asyncio.sleep(0.1)

        viewer = _viewer(relay, name, cache)
        try:
            await viewer.start(poll=False)
            assert not old & {job.id for job in viewer.all_jobs()}  # nothing cached shows
            await viewer.poll_once()
            assert {job.id for job in viewer.all_jobs()} == {new}
            assert viewer.identity(name) not in (None, first_identity)
        finally:
            await viewer.stop()
    finally:
        relay.stop()
        first.stop()
        if second is not None:
            second.stop()


def test_a_relay_source_says_who_answers_only_once_it_knows(tmp_path: Path) -> None:
    dead = free_port()
    relay = RelayProcess(
        tmp_path / "relay", "--source", f"http://127.0.0.1:{dead}", "--no-web"
    ).start()
    try:
        answer = httpx.get(f"{relay.root}/sources/127.0.0.1-{dead}/api/v1/version")
        assert answer.status_code == 503
        assert answer.json()["errors"][0]["code"] == "unknown_upstream"
        assert "x-qjob-tui-instance" not in answer.headers
    finally:
        relay.stop()


async def _until(viewer: JobStore, name: str, jobs: set[str], identity: str | None) -> None:
    """Wait until the live viewer shows exactly ``jobs``, under ``identity`` if given."""
    async with asyncio.timeout(90):
        while {job.id for job in viewer.all_jobs()} != jobs or (
            identity is not None and viewer.identity(name) != identity
        ):
            await asyncio.sleep(0.1)


async def test_a_live_viewer_follows_upstream_switches_without_mixing_servers(
    tmp_path: Path,
) -> None:
    """A viewer that streams from the relay while the upstream changes hands, and back: each
    time it shows only the jobs of the server answering, and keeps each server's cache its
    own (the relay's stream once carried the new server's jobs into the old one's state)."""
    port = free_port()
    name = f"127.0.0.1-{port}"
    flags = ("--latency-scale", "0")
    first = ServiceProcess(tmp_path / "first", *flags, port=port).start()
    relay = RelayProcess(tmp_path / "relay", "--source", first.root, "--no-web", "--refresh", "0.2")
    second: ServiceProcess | None = None
    cache = tmp_path / "viewer-cache"
    try:
        with httpx.Client(base_url=first.url) as http:
            old = {submit(http) for _ in range(2)}
            for job_id in old:
                wait_status(http, job_id)
        relay.start()
        source = Source.local(f"{relay.root}/sources/{name}/api/v1", None, name=name)
        viewer = JobStore([JobClient(source)], StoreConfig(cache_dir=cache, interval=0.5))
        await viewer.start()
        try:
            await _until(viewer, name, old, None)
            first_identity = viewer.identity(name)

            first.stop()
            second = ServiceProcess(tmp_path / "second", *flags, port=port).start()
            with httpx.Client(base_url=second.url) as http:
                new = submit(http)
                wait_status(http, new)
            await _until(viewer, name, {new}, None)
            assert viewer.identity(name) != first_identity

            second.stop()
            first = ServiceProcess(tmp_path / "first", *flags, port=port).start()
            await _until(viewer, name, old, first_identity)
        finally:
            await viewer.stop()

        # The first server's cache holds its own jobs only.
        again = _viewer(relay, name, cache)
        try:
            await again.start(poll=False)
            await again.poll_once()
            assert {job.id for job in again.all_jobs()} == old
        finally:
            await again.stop()
    finally:
        relay.stop()
        first.stop()
        if second is not None:
            second.stop()


async def test_a_relay_ends_its_viewers_streams_when_the_upstream_changes_hands(
    tmp_path: Path,
) -> None:
    """A stream opened under the first server's instance id never carries the second's jobs:
    it ends, and a viewer opens it again under the new id."""
    port = free_port()
    name = f"127.0.0.1-{port}"
    first = ServiceProcess(tmp_path / "first", "--latency-scale", "0", port=port).start()
    relay = RelayProcess(tmp_path / "relay", "--source", first.root, "--no-web", "--refresh", "0.2")
    second: ServiceProcess | None = None
    try:
        relay.start()
        url = f"{relay.root}/sources/{name}/api/v1"
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=120)) as http:
            while (await http.get(f"{url}/version")).status_code != 200:
                await asyncio.sleep(0.1)
            async with http.stream("GET", f"{url}/stream") as stream:
                assert stream.status_code == 200
                first_id = stream.headers["x-qjob-tui-instance"]
                lines = stream.aiter_lines()
                while "hello" not in await anext(lines):
                    pass
                first.stop()
                second = ServiceProcess(tmp_path / "second", "--latency-scale", "0", port=port)
                second.start()
                with httpx.Client(base_url=second.url) as upstream:
                    new = submit(upstream)
                heard = [line async for line in lines]  # until the relay ends the stream
            assert not any(new in line for line in heard), heard
            reopened = await http.get(f"{url}/version")
            assert reopened.status_code in (200, 503)
            if reopened.status_code == 200:
                assert reopened.json()["instance_id"] != first_id
    finally:
        relay.stop()
        first.stop()
        if second is not None:
            second.stop()
