"""The pace a relay tells its viewers (``interval`` in ``GET /sources`` and in its stream's
health events) is the one it keeps now: when its upstream's stream breaks and it polls again,
its viewers are told so, not the once-a-minute reconcile of the stream it no longer has."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from qjob_tui.store import StoreConfig
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess
from tests.stream_cutter import StreamCutter

VIEWER = "viewer-token-0123456789"
HEADERS = {"Authorization": f"Bearer {VIEWER}"}
WAIT = 60.0


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def listed(http: httpx.AsyncClient) -> dict[str, Any]:
    [source] = (await http.get("/sources")).json()["sources"]
    return dict(source)


async def health_events(http: httpx.AsyncClient, name: str, told: list[dict[str, Any]]) -> None:
    """A viewer of the relay's stream: every health event it is told, in order."""
    async with http.stream("GET", f"/sources/{name}/api/v1/stream") as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "health":
                told.append(json.loads(line.removeprefix("data: ")))


async def test_viewers_are_told_the_pace_the_relay_polls_at_once_its_upstream_stream_breaks(
    service: ServiceProcess, tmp_path: Path
) -> None:
    streaming = StoreConfig().streaming_interval
    with StreamCutter(service.port) as cutter:
        relay = RelayProcess(
            tmp_path / "relay",
            *("--source", cutter.root, "--refresh", "1", "--no-web"),
            env={"QJOB_TUI_RELAY_TOKEN": VIEWER},
        ).start()
        told: list[dict[str, Any]] = []
        try:
            async with httpx.AsyncClient(base_url=relay.root, headers=HEADERS) as http:
                name = (await listed(http))["name"]
                viewer = asyncio.create_task(health_events(http, name, told))
                try:
                    # Streaming: the relay only reconciles, and says so.
                    await until(lambda: bool(told) and told[-1]["streaming"], "told streaming")
                    assert told[-1]["interval"] == streaming

                    await asyncio.to_thread(cutter.cut)
                    await until(lambda: not told[-1]["streaming"], "told the stream broke")
                    # The relay polls again at its own pace, and what its viewers are told is
                    # that pace, the same on the stream as in GET /sources.
                    deadline = asyncio.get_running_loop().time() + WAIT
                    while True:
                        source = await listed(http)
                        if told[-1]["interval"] == source["interval"] < streaming:
                            break
                        assert asyncio.get_running_loop().time() < deadline, (told[-1], source)
                        await asyncio.sleep(0.1)
                    assert not source["streaming"]
                finally:
                    viewer.cancel()
                    await asyncio.gather(viewer, return_exceptions=True)
        finally:
            relay.stop()
