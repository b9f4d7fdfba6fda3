"""The unchanged qiskit-ibm-runtime client works against the local service.

Set up as ``shared/reference/ibm-quantum-api.md`` section 6 describes: IAM emulation on the same
port, a CRN instance, and a URL containing "experimental" so the client uses it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

from tests.service_process import ServiceProcess

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"
APIKEY = "runtime-test-key"


@pytest.fixture(scope="module")
def iam_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("runtime")
    proc = ServiceProcess(
        data, "--latency-scale", "0.2", env={"QJOB_TUI_IAM_APIKEY": APIKEY}
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def runtime(
    iam_service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> QiskitRuntimeService:
    monkeypatch.setenv("IAM_URL", iam_service.root)
    monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
    monkeypatch.setenv("HOME", str(tmp_path))  # no saved accounts leak in
    return QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token=APIKEY,
        instance=CRN,
        url=f"{iam_service.root}/experimental/api/v1",
    )


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_sampler_v2_runs_and_returns_counts(runtime: QiskitRuntimeService) -> None:
    backend = runtime.backend("fake_lima")
    from qiskit.transpiler import generate_preset_pass_manager

    isa = generate_preset_pass_manager(optimization_level=1, backend=backend).run(bell())
    job = SamplerV2(mode=backend).run([isa], shots=300)
    result = job.result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 300
    # fake_lima is noisy; the Bell outcomes still dominate.
    assert counts.get("00", 0) + counts.get("11", 0) > 240
    assert job.status() == "DONE"


def test_list_retrieve_metrics_tags_and_cancel(runtime: QiskitRuntimeService) -> None:
    backend = runtime.backend("fake_cairo")
    from qiskit.transpiler import generate_preset_pass_manager

    isa = generate_preset_pass_manager(optimization_level=1, backend=backend).run(bell())
    long = SamplerV2(mode=backend).run([isa], shots=100_000)
    job = runtime.job(long.job_id())
    assert job.status() in ("QUEUED", "RUNNING")
    assert job.backend().name == "fake_cairo"
    assert "timestamps" in job.metrics()
    assert job.update_tags(["runtime", "test"]) in (["runtime", "test"], ["test", "runtime"])
    assert sorted(runtime.job(long.job_id()).tags) == ["runtime", "test"]
    listed = runtime.jobs(limit=5, backend_name="fake_cairo")
    assert long.job_id() in [j.job_id() for j in listed]
    job.cancel()
    assert runtime.job(long.job_id()).status() == "CANCELLED"
    assert long.job_id() in [j.job_id() for j in runtime.jobs(limit=5, pending=False)]
