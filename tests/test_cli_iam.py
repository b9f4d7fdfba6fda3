"""The command line, the dashboard's sources and the relay reach an IAM-protected service.

``qjob-tui serve`` with an IAM API key (the README's Qiskit set-up) accepts only the bearer
tokens it issues for the API key. The key given as ``$QJOB_TUI_IAM_APIKEY`` is exchanged for them as
qiskit-ibm-runtime does; without it the answer says how to get in.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.api.client import JobClient
from qjob_tui.cli.sources import resolve_source
from tests.http_helpers import BELL
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

APIKEY = "iam-cli-test-key-0123"


@pytest.fixture(scope="module")
def iam_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        tmp_path_factory.mktemp("iam-cli"), env={"QJOB_TUI_IAM_APIKEY": APIKEY}
    ).start()
    yield proc
    proc.stop()


def qjob(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "HOME": str(home), **env},
    )


def test_the_commands_exchange_the_api_key(iam_only: ServiceProcess, tmp_path: Path) -> None:
    circuit = tmp_path / "bell.qasm"
    circuit.write_text(BELL)
    key = {"QJOB_TUI_IAM_APIKEY": APIKEY, "QJOB_TUI_URL": iam_only.root}
    submitted = qjob("submit", str(circuit), "--shots", "16", home=tmp_path, **key)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    listed = qjob("ls", "--source", "local", home=tmp_path, **key)
    shown = qjob("show", job_id, "--source", iam_only.root, home=tmp_path, **key)
    for done in (listed, shown):
        assert done.returncode == 0, done.stderr
        assert job_id in done.stdout
        assert APIKEY not in done.stdout + done.stderr


def test_without_the_key_the_answer_says_how_to_get_in(
    iam_only: ServiceProcess, tmp_path: Path
) -> None:
    refused = qjob("ls", "--source", iam_only.root, home=tmp_path)
    assert refused.returncode == 1
    assert "missing bearer token" in refused.stderr
    assert "QJOB_TUI_IAM_APIKEY" in refused.stderr
    wrong = qjob("ls", "--source", iam_only.root, home=tmp_path, QJOB_TUI_IAM_APIKEY="wrong-key")
    assert wrong.returncode == 1 and "IAM refused the API key" in wrong.stderr
    assert "wrong-key" not in wrong.stderr


def submit(service: ServiceProcess, home: Path) -> str:
    circuit = home / "bell.qasm"
    circuit.write_text(BELL)
    key = {"QJOB_TUI_IAM_APIKEY": APIKEY}
    submitted = qjob("submit", str(circuit), "--source", service.root, home=home, **key)
    assert submitted.returncode == 0, submitted.stderr
    return submitted.stdout.strip()


def test_the_dashboards_source_lists_jobs(iam_only: ServiceProcess, tmp_path: Path) -> None:
    """The dashboard builds its sources with ``resolve_source``; its client gets a token."""
    job_id = submit(iam_only, tmp_path)
    env = {"QJOB_TUI_IAM_APIKEY": APIKEY, "QJOB_TUI_URL": iam_only.root}
    source = resolve_source("local", env=env)
    assert APIKEY not in repr(source)

    async def listed() -> list[str]:
        async with JobClient(source) as client:
            return [job.id for job in (await client.jobs(limit=200)).jobs]

    assert job_id in asyncio.run(listed())


def test_the_relay_reaches_the_service(iam_only: ServiceProcess, tmp_path: Path) -> None:
    job_id = submit(iam_only, tmp_path)
    relay = RelayProcess(
        tmp_path, "--source", iam_only.root, env={"QJOB_TUI_IAM_APIKEY": APIKEY}
    ).start()
    try:
        [source] = httpx.get(f"{relay.root}/sources").json()["sources"]
        answer = httpx.get(f"{relay.root}/sources/{source['name']}/api/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == job_id
    finally:
        relay.stop()


def test_a_saved_qiskit_account_reaches_the_service(
    iam_only: ServiceProcess, tmp_path: Path
) -> None:
    """The account qiskit-ibm-runtime saves for the local service works as it does for IBM."""
    job_id = submit(iam_only, tmp_path)
    saved = tmp_path / ".qiskit" / "qiskit-ibm.json"
    saved.parent.mkdir()
    account = {
        "channel": "ibm_quantum_platform",
        "token": APIKEY,
        "url": f"{iam_only.root}/experimental/api/v1",
        "instance": "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::",
    }
    saved.write_text(json.dumps({"lab": account}))
    listed = qjob("ls", "--source", "lab", home=tmp_path, IAM_URL=iam_only.root)
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout and APIKEY not in listed.stdout + listed.stderr


def test_the_job_library_takes_the_api_key(iam_only: ServiceProcess) -> None:
    from qjob_tui.jobs import JobService

    with JobService(iam_only.root, apikey=APIKEY) as service:
        assert APIKEY not in repr(service)
        job = service.run(BELL, backend="basic_simulator", shots=16)
        job.wait_for_final_state(timeout=120)
        assert job.done()
        assert sum(job.result().pubs[0].register("c").counts.values()) == 16
