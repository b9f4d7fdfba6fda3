"""A cancelled or timed-out job's worker process is gone at once, and a job that eats memory
ends with the documented code 2001, whichever simulator ran out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_helpers import sampler_body, wait_status
from tests.security.test_service_circuits import _descendants
from tests.service_process import ServiceProcess

CODE_OUT_OF_MEMORY = 2001


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path_factory.mktemp("limits"), "--job-memory", "400MiB").start()
    yield proc
    proc.stop()


def _worker_cpu(service: ServiceProcess) -> dict[int, int]:
    """Worker processes of the service and the CPU ticks each has used."""
    assert service.proc is not None
    found = {}
    for pid in _descendants(service.proc.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            found[pid] = int(fields[11]) + int(fields[12])
    return found


def _computing(service: ServiceProcess) -> list[int]:
    """Workers whose CPU time grows over half a second."""
    before = _worker_cpu(service)
    time.sleep(0.5)
    after = _worker_cpu(service)
    return [pid for pid in after if after[pid] > before.get(pid, after[pid])]


def _until_none_computes(service: ServiceProcess, timeout: float = 10.0) -> None:
    """No worker computes any more (a fresh one may import Qiskit for a moment first)."""
    deadline = time.monotonic() + timeout
    while busy := _computing(service):
        assert time.monotonic() < deadline, f"workers {busy} still compute"


def _until_one_is_gone(service: ServiceProcess, workers: set[int], timeout: float = 10.0) -> None:
    """One of ``workers`` has ended: the one that ran the stopped job (a sleeping worker
    computes nothing, so only its end shows that it was stopped)."""
    deadline = time.monotonic() + timeout
    while workers <= set(_worker_cpu(service)):
        assert time.monotonic() < deadline, f"workers {sorted(workers)} all still there"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["cancelled", "timed-out"])
def test_a_stopped_jobs_worker_is_gone(limited: ServiceProcess, how: str) -> None:
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        cost = {"cost": 8} if how == "timed-out" else {}
        body = sampler_body("fake_cairo", shots=100_000, name=f"long-{how}", **cost)
        job_id = http.post("/jobs", json=body).json()["id"]
        # Running from its worker's start: the device's time per shot is under way (or, timed
        # out, already over and its worker stopped).
        wait_status(http, job_id, ("Running",))
        workers = set(_worker_cpu(limited))
        if how == "cancelled":
            assert http.post(f"/jobs/{job_id}/cancel").status_code == 204
        job = wait_status(http, job_id, ("Cancelled", "Failed", "Completed"), timeout=120)
        assert job["status"] == "Cancelled"
        _until_one_is_gone(limited, workers)
        _until_none_computes(limited)


@pytest.mark.parametrize(("backend", "qubits"), [("aer_simulator", 29), ("basic_simulator", 24)])
def test_a_memory_eater_ends_with_code_2001(
    limited: ServiceProcess, backend: str, qubits: int
) -> None:
    circuit = (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{qubits}];\ncreg c[{qubits}];\n'
        "h q;\nt q;\ncx q[0],q[1];\nmeasure q -> c;\n"
    )
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        answer = http.post("/jobs", json=sampler_body(backend, circuit=circuit, shots=10))
        assert answer.status_code == 200, answer.text
        job = wait_status(http, answer.json()["id"], timeout=300)
    assert job["status"] == "Failed"
    assert job["state"]["reason_code"] == CODE_OUT_OF_MEMORY, job["state"]
    assert "memory" in job["state"]["reason"]
