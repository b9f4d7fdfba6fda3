"""The ``estimator`` program over plain HTTP: results in the runtime encoding, clear failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder

from tests.http_helpers import wait_status
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def bell_state() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def submit_estimator(client: httpx.Client, backend: str, params: dict[str, Any]) -> str:
    body = {"program_id": "estimator", "backend": backend, "params": params}
    response = client.post(
        "/jobs",
        content=json.dumps(body, cls=RuntimeEncoder),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_expectation_values_and_standard_errors(client: httpx.Client) -> None:
    params = {
        "pubs": [(bell_state(), [["ZZ"], ["XX"], ["ZI"]], np.zeros((0,)), 0.02)],
        "options": {},
        "version": 2,
    }
    job_id = submit_estimator(client, "aer_simulator", params)
    job = wait_status(client, job_id)
    assert job["status"] == "Completed", job
    assert job["program"] == {"id": "estimator"}
    result = json.loads(client.get(f"/jobs/{job_id}/results").text, cls=RuntimeDecoder)
    data = result[0].data
    assert data.evs.shape == data.stds.shape == (3, 1)
    assert np.allclose(data.evs[:, 0], [1.0, 1.0, 0.0], atol=0.1)
    assert np.all(data.stds < 0.03)
    assert result[0].metadata["shots"] == 2500
    metrics = client.get(f"/jobs/{job_id}/metrics").json()
    assert metrics["num_circuits"] == 1


@pytest.mark.parametrize(
    ("backend", "params", "words"),
    [
        ("fake_lima", {"pubs": [(bell_state(), ["ZZ"])], "version": 2}, "not an ISA circuit"),
        ("aer_simulator", {"pubs": [(bell_state(), ["ZZZ"])], "version": 2}, "pub 0"),
        ("aer_simulator", {"pubs": [], "version": 2}, "non-empty"),
        ("aer_simulator", {"pubs": [(bell_state(), ["ZZ"])], "version": 1}, "version"),
        (
            "aer_simulator",
            {"pubs": [[{"__type__": "settings", "__module__": "os", "__value__": {}}, ["Z"]]]},
            "not accepted",
        ),
    ],
)
def test_bad_estimator_jobs_fail_with_a_reason(
    client: httpx.Client, backend: str, params: dict[str, Any], words: str
) -> None:
    job = wait_status(client, submit_estimator(client, backend, params))
    assert job["status"] == "Failed"
    assert words in job["state"]["reason"]
    assert job["state"]["reason_solution"]
