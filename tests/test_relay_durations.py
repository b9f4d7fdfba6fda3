"""Through a relay, a finished job from history has its steps: the relay's store reads them
upstream when a viewer asks the job's metrics, once however many viewers ask."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess, fill_finished
from tests.test_relay import VIEWER, relay_source_name, upstream_requests

VIEWERS = 6
JOB = f"old{29:017d}"  # the newest of the history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("relay-history")
    fill_finished(data, 30)
    proc = ServiceProcess(data).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def relay(history: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("relay")
    env = {"QJOB_TUI_RELAY_TOKEN": VIEWER}
    proc = RelayProcess(home, "--source", history.root, "--refresh", "3600", env=env).start()
    yield proc.root
    proc.stop()


async def test_viewers_asking_metrics_cost_one_request_upstream(
    relay: str, history: ServiceProcess
) -> None:
    name = relay_source_name(relay, VIEWER)
    base = f"{relay}/sources/{name}/api/v1"
    headers = {"Authorization": f"Bearer {VIEWER}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as viewer:
        while (await viewer.get(f"/jobs/{JOB}")).status_code == 404:  # until the relay has it
            await asyncio.sleep(0.05)
        answers = await asyncio.gather(
            *(viewer.get(f"/jobs/{JOB}/metrics") for _ in range(VIEWERS))
        )
        again = await viewer.get(f"/jobs/{JOB}/metrics")
    for answer in (*answers, again):
        assert answer.status_code == 200, answer.text
        stamps = answer.json()["timestamps"]
        assert stamps.get("running") and stamps.get("finished"), stamps
    asked = [p for p in upstream_requests(history) if p == f"/api/v1/jobs/{JOB}/metrics"]
    assert len(asked) == 1, asked
