"""The README's Qiskit set-up read as an account: ``QISKIT_IBM_TOKEN``, ``QISKIT_IBM_INSTANCE``,
``QISKIT_IBM_URL`` and ``IAM_URL`` at ``qjob-tui serve`` with ``QJOB_TUI_IAM_APIKEY``.

An account at a qjob-tui service is that service (its instance id), whatever route reached it:
the store, ``ls --watch`` and the relay show its jobs, a few hundred of them, with no reloading.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from qjob_tui.api import JobClient
from qjob_tui.cli.sources import resolve_source
from qjob_tui.store import JobStore, StoreConfig
from tests.convergence import until
from tests.http_helpers import sampler_body
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

APIKEY = "readme-key"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"
JOBS = 251  # more than one page of a listing, more than the first history page


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """``QJOB_TUI_IAM_APIKEY=readme-key qjob-tui serve`` holding ``JOBS`` jobs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QJOB_TUI_IAM_APIKEY", APIKEY)
        proc = ServiceProcess(tmp_path_factory.mktemp("readme"), "--latency-scale", "0").start()
    try:
        token = httpx.post(
            f"{proc.root}/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY},
        ).json()["access_token"]
        with httpx.Client(base_url=proc.url, headers={"Authorization": f"Bearer {token}"}) as http:
            for _ in range(JOBS):
                assert http.post("/jobs", json=sampler_body(shots=10)).status_code == 200
        yield proc
    finally:
        proc.stop()


def bearer(proc: ServiceProcess) -> dict[str, str]:
    token = httpx.post(
        f"{proc.root}/identity/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY},
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def account_env(proc: ServiceProcess, home: Path) -> dict[str, str]:
    """The environment of the README's set-up, and nothing else of the tester's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONUNBUFFERED="1",
        QISKIT_IBM_TOKEN=APIKEY,
        QISKIT_IBM_INSTANCE=CRN,
        QISKIT_IBM_URL=f"{proc.root}/experimental/api/v1",
        IAM_URL=proc.root,
    )
    return env


async def test_the_store_shows_every_job_of_the_account(
    serve: ServiceProcess, tmp_path: Path
) -> None:
    source = resolve_source(None, env=account_env(serve, tmp_path))
    config = StoreConfig(interval=0.2, calm_interval=0.2, cache_dir=tmp_path / "cache")
    store = JobStore([JobClient(source)], config)
    errors: list[str] = []
    store.subscribe(lambda c: errors.extend(h.last_error for h in c.health if h.failures))
    try:
        await store.start()
        poller = store.pollers[source.name]
        await until(lambda: len(store.jobs) == JOBS and poller.history_complete)
        identity = store.identity(source.name)
        version = httpx.get(f"{serve.url}/version", headers=bearer(serve)).json()
        assert identity == f"qjob-tui {version['instance_id']}"
        assert errors == []
    finally:
        await store.stop()


def test_ls_watch_shows_the_accounts_jobs(serve: ServiceProcess, tmp_path: Path) -> None:
    env = account_env(serve, tmp_path)
    watch = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", "ls", "--watch", "--limit", "5", "--refresh", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert watch.stdout is not None
        lines = [watch.stdout.readline() for _ in range(6)]
        assert lines[0].split()[:2] == ["ID", "STATUS"]
        assert all(len(line.split()) >= 5 for line in lines[1:])
    finally:
        watch.terminate()
        _, stderr = watch.communicate(timeout=30)
    assert "reloading" not in stderr and "another server" not in stderr


def test_the_relay_serves_the_accounts_jobs(serve: ServiceProcess, tmp_path: Path) -> None:
    env = account_env(serve, tmp_path) | {"QJOB_TUI_RELAY_TOKEN": "viewer-token"}
    relay = RelayProcess(tmp_path, "--refresh", "0.3", env=env).start()
    headers = {"Authorization": "Bearer viewer-token"}
    try:
        sources = httpx.get(f"{relay.root}/sources", headers=headers).json()
        name = sources["sources"][0]["name"] if isinstance(sources, dict) else sources[0]["name"]
        url = f"{relay.root}/sources/{quote(name, safe='')}/api/v1/jobs"

        def count() -> int:
            return int(httpx.get(url, params={"limit": 1}, headers=headers).json()["count"])

        import time

        deadline = time.monotonic() + 120
        while count() != JOBS:
            assert time.monotonic() < deadline, f"the relay shows {count()} of {JOBS} jobs"
            time.sleep(0.2)
        assert "reloading" not in relay.log.read_text()
    finally:
        relay.stop()
