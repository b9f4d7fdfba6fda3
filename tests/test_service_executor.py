"""The ``executor`` program over plain HTTP: bad QuantumProgram params fail with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http_helpers import wait_status
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def executor_params() -> dict[str, Any]:
    """A real v2.0 executor payload of one Bell circuit, built by the client's converter."""
    from qiskit import QuantumCircuit
    from qiskit_ibm_runtime.options_models.executor import ExecutorOptions
    from qiskit_ibm_runtime.quantum_program import QuantumProgram
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    program = QuantumProgram(shots=50)
    program.append_circuit_item(circuit)
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS["v2.0"]
    return dict(converter.encoder(program, ExecutorOptions()).model_dump(mode="json"))


def run(client: httpx.Client, params: dict[str, Any], backend: str = "aer_simulator") -> Any:
    body = {"program_id": "executor", "backend": backend, "params": params}
    response = client.post("/jobs", json=body)
    assert response.status_code == 200, response.text
    return wait_status(client, response.json()["id"])


def test_a_circuit_item_runs_and_its_result_has_the_schema(client: httpx.Client) -> None:
    job = run(client, executor_params())
    assert job["status"] == "Completed", job
    result = client.get(f"/jobs/{job['id']}/results").json()
    assert result["schema_version"] == "v2.0"
    assert result["data"][0]["results"]["meas"]["shape"][:1] == [50]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"schema_version": "v9.9"}, "unknown executor schema_version"),
        ({"quantum_program": {"shots": 0}}, "do not match schema"),
    ],
)
def test_bad_programs_fail_with_a_reason(
    client: httpx.Client, change: dict[str, Any], words: str
) -> None:
    job = run(client, {**executor_params(), **change})
    assert job["status"] == "Failed"
    assert words in job["state"]["reason"]


def test_a_non_isa_program_is_refused_on_a_device(client: httpx.Client) -> None:
    job = run(client, executor_params(), backend="fake_lima")
    assert job["status"] == "Failed"
    assert "not an ISA circuit" in job["state"]["reason"]
