"""Every demo circuit on every backend the service offers, through the service's own run path.

A dependency update that breaks a device (Qiskit 2.5's transpiler broke GHZ circuits on
``fake_cairo``: see ``service/programs/translation.py``) fails here, not on a user's first screen.
The backends come from the service's ``GET /backends``, the circuits from the demo's own builders;
each circuit runs on every backend it fits. Devices run at no latency so the matrix takes seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from qiskit_ibm_runtime import RuntimeDecoder

from qjob_tui.service.demo import ghz, qft
from tests.http_helpers import sampler_body, wait_status
from tests.service_process import ServiceProcess

SHOTS = 400

# The demo's circuits, by name: a Bell pair (GHZ-2), GHZ-5, GHZ-12 and QFT-6.
CIRCUITS: dict[str, tuple[int, Callable[[int], str]]] = {
    "bell": (2, ghz),
    "ghz5": (5, ghz),
    "ghz12": (12, ghz),
    "qft6": (6, qft),
}


@pytest.fixture(scope="module")
def matrix_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("matrix")
    proc = ServiceProcess(data, "--latency-scale", "0").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def finished(matrix_service: ServiceProcess) -> dict[tuple[str, str], dict[str, object]]:
    """Every (backend, circuit) pair that fits, submitted at once and waited for."""
    with httpx.Client(base_url=matrix_service.url, timeout=30) as client:
        devices = client.get("/backends").json()["devices"]
        submitted: dict[tuple[str, str], str] = {}
        for device in devices:
            for name, (width, build) in CIRCUITS.items():
                if width > device["qubits"]:
                    continue
                body = sampler_body(device["name"], build(width), SHOTS)
                response = client.post("/jobs", json=body)
                assert response.status_code == 200, response.text
                submitted[(device["name"], name)] = response.json()["id"]
        jobs = {}
        for key, job_id in submitted.items():
            job = wait_status(client, job_id, timeout=110)
            if job["status"] == "Completed":
                text = client.get(f"/jobs/{job_id}/results").text
                job["counts"] = json.loads(text, cls=RuntimeDecoder)[0].data.c.get_counts()
            jobs[key] = job
    return jobs


# The first test waits for the whole matrix. fake_fez's every run converts its 156-qubit noise
# model for Aer again (seconds each, tens of seconds on a busy machine), so it gets room.
@pytest.mark.timeout(300)
def test_the_matrix_covers_every_backend(finished: dict[tuple[str, str], dict[str, object]]):
    backends = {backend for backend, _ in finished}
    assert {"basic_simulator", "fake_lima", "fake_perth", "fake_cairo", "fake_fez"} <= backends
    # Each backend runs at least the Bell pair and GHZ-5; the wider ones all four.
    for backend in backends:
        assert {"bell", "ghz5"} <= {name for b, name in finished if b == backend}
    assert {name for b, name in finished if b == "fake_cairo"} == set(CIRCUITS)


def test_every_demo_circuit_completes_on_every_backend(
    finished: dict[tuple[str, str], dict[str, object]],
):
    failed = {
        key: (job["status"], job.get("state", {}).get("reason_code"), job["state"].get("reason"))
        for key, job in finished.items()
        if job["status"] != "Completed"
    }
    assert failed == {}


def test_ghz_outcomes_are_mostly_all_zeros_or_all_ones(
    finished: dict[tuple[str, str], dict[str, object]],
):
    """A wrong translation of the circuit would spread the counts; noise only blurs them."""
    for (backend, name), job in finished.items():
        if name == "qft6" or job["status"] != "Completed":
            continue
        width = CIRCUITS[name][0]
        counts = Counter(job["counts"])
        assert sum(counts.values()) == SHOTS
        top_two = {outcome for outcome, _ in counts.most_common(2)}
        assert top_two == {"0" * width, "1" * width}, (backend, name, counts.most_common(4))
