"""The devices are qiskit-ibm-runtime's fake_provider snapshots, as the real client sees them."""

from __future__ import annotations

import json

import httpx
import pytest
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2
from qiskit_ibm_runtime.fake_provider import FakeCairoV2, FakeFez, FakeLimaV2

from tests.runtime_fixtures import bell, iam_service, isa, runtime  # noqa: F401
from tests.service_process import ServiceProcess


@pytest.mark.parametrize(
    ("name", "reference", "physical"),
    [("fake_lima", FakeLimaV2, 5), ("fake_cairo", FakeCairoV2, 27), ("fake_fez", FakeFez, 332)],
)
def test_devices_have_the_real_targets(
    runtime: QiskitRuntimeService,  # noqa: F811
    name: str,
    reference: type,
    physical: int,
) -> None:
    backend = runtime.backend(name)
    real = reference()
    assert backend.num_qubits == real.num_qubits
    assert set(backend.operation_names) >= set(real.operation_names) - {"switch_case", "for_loop"}
    assert sorted(backend.coupling_map.get_edges()) == sorted(real.coupling_map.get_edges())
    assert backend.physical_qubits == physical
    props = backend.properties()
    assert props is not None
    assert props.t1(0) == pytest.approx(real.properties().t1(0))


def test_a_known_calibration_id_is_used_and_an_unknown_one_refused(
    runtime: QiskitRuntimeService,  # noqa: F811
    iam_service: ServiceProcess,  # noqa: F811
) -> None:
    with httpx.Client(base_url=iam_service.root) as plain:
        token = plain.post(
            "/identity/token",
            data={
                "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                "apikey": "runtime-test-key",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        listed = plain.get("/api/v1/backends", headers=headers).json()["devices"]
        calibration = {d["name"]: d["calibration_id"] for d in listed}["fake_lima"]
        assert calibration
        backend = runtime.backend("fake_lima", calibration_id=calibration)
        job = SamplerV2(mode=backend).run([isa(bell(), backend)], shots=100)
        assert sum(job.result()[0].data.meas.get_counts().values()) == 100
        stored = plain.get(f"/api/v1/jobs/{job.job_id()}", headers=headers).json()
        assert stored["calibration_id"] == calibration
        refused = plain.get(
            "/api/v1/backends/fake_lima/properties",
            params={"calibration_id": "not-a-calibration"},
            headers=headers,
        )
        assert refused.status_code == 400
        assert "unknown calibration_id" in refused.json()["errors"][0]["message"]
        body = {
            "program_id": "sampler",
            "backend": "fake_lima",
            "calibration_id": "not-a-calibration",
            "params": {"pubs": [["OPENQASM 2.0;", None, 10]], "version": 2},
        }
        submit = plain.post("/api/v1/jobs", content=json.dumps(body), headers=headers)
        assert submit.status_code == 400
    with pytest.raises(QiskitBackendNotFoundError):
        runtime.backend("fake_perth", calibration_id="not-a-calibration")


def test_results_name_the_device(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_perth")
    result = SamplerV2(mode=backend).run([isa(bell(), backend)], shots=50).result()
    assert result.metadata["backend"] == "fake_perth"


def test_every_backend_listed_has_physical_qubits(
    runtime: QiskitRuntimeService,  # noqa: F811
) -> None:
    """As on IBM, ``physical_qubits`` of ``service.backends()`` is a number, simulators too."""
    backends = runtime.backends()
    assert {b.name for b in backends} >= {"basic_simulator", "fake_lima"}
    for backend in backends:
        assert isinstance(backend.physical_qubits, int), backend.name
        assert backend.physical_qubits >= backend.num_qubits
