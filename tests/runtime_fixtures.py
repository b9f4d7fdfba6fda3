"""Fixtures for driving the real qiskit-ibm-runtime client against the local service.

Set up as ``shared/reference/ibm-quantum-api.md`` section 6 describes: IAM emulation on the same
port, a CRN instance, and a URL containing "experimental" so the client uses it unchanged.
Modules import the fixtures they use (``from tests.runtime_fixtures import ...``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import QiskitRuntimeService

from tests.service_process import ServiceProcess

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"
APIKEY = "runtime-test-key"


def start_iam_service(data: Path, *args: str) -> ServiceProcess:
    return ServiceProcess(
        data, "--latency-scale", "0.2", *args, env={"QJOB_TUI_IAM_APIKEY": APIKEY}
    ).start()


@pytest.fixture(scope="module")
def iam_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = start_iam_service(tmp_path_factory.mktemp("runtime"))
    yield proc
    proc.stop()


def connect(
    proc: ServiceProcess, monkeypatch: pytest.MonkeyPatch, home: Path
) -> QiskitRuntimeService:
    monkeypatch.setenv("IAM_URL", proc.root)
    monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
    monkeypatch.setenv("HOME", str(home))  # no saved accounts leak in
    return QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token=APIKEY,
        instance=CRN,
        url=f"{proc.root}/experimental/api/v1",
    )


@pytest.fixture
def runtime(
    iam_service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> QiskitRuntimeService:
    return connect(iam_service, monkeypatch, tmp_path)


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def isa(circuit: QuantumCircuit, backend: object) -> QuantumCircuit:
    from qiskit.transpiler import generate_preset_pass_manager

    return generate_preset_pass_manager(optimization_level=1, backend=backend).run(circuit)
