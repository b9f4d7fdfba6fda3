"""Executor results in the Result tab: as the client-side Sampler reads them, or as raw arrays.

The jobs run on the real local service; the params are built by qiskit-ibm-runtime's own
``prepare`` and params converter, as its client-side Sampler and Executor send them.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit

from qjob_tui.api import JobClient, Source
from qjob_tui.results import EstimatorResult, ExecutorResult, JobResult
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.result_view import ResultView
from qjob_tui.wire.executor_results import ExecutorResultError, decode_executor_result
from tests.http_helpers import wait_status
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, until

SHOTS = 40


def flipped() -> QuantumCircuit:
    """Qubit 1 flipped, qubit 0 not: every shot reads "10" (bit 0 rightmost), no randomness."""
    circuit = QuantumCircuit(2)
    circuit.x(1)
    circuit.measure_all()
    return circuit


def encoded(program: Any, options: Any) -> dict[str, Any]:
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    return dict(
        QUANTUM_PROGRAM_PARAMS_CONVERTERS["v2.0"].encoder(program, options).model_dump(mode="json")
    )


def sampler_params() -> dict[str, Any]:
    """What the client-side ``executor_sampler.Sampler`` submits for one circuit."""
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.executor_sampler.prepare import prepare
    from qiskit_ibm_runtime.options_models.sampler import SamplerOptions

    program, options = prepare([flipped()], SamplerOptions(), SHOTS, backend=AerSimulator())
    program._semantic_role = "sampler_v2"  # as Sampler.run sets it
    return encoded(program, options)


def estimator_params() -> dict[str, Any]:
    """What the client-side ``executor_estimator.Estimator`` submits: <ZI> and <IZ> of "10"."""
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.executor_estimator.prepare import prepare
    from qiskit_ibm_runtime.options_models.estimator import EstimatorOptions

    state = QuantumCircuit(2)
    state.x(1)
    observables = [SparsePauliOp("ZI"), SparsePauliOp("IZ")]
    program, options = prepare(
        [(state, observables)], EstimatorOptions(), 0.05, backend=AerSimulator()
    )
    program._semantic_role = "estimator_v2"  # as Estimator.run sets it
    return encoded(program, options)


def raw_params() -> dict[str, Any]:
    """A QuantumProgram sent through ``Executor`` itself: no primitive reads its result."""
    from qiskit_ibm_runtime.options_models.executor import ExecutorOptions
    from qiskit_ibm_runtime.quantum_program import QuantumProgram

    program = QuantumProgram(shots=SHOTS)
    program.append_circuit_item(flipped())
    return encoded(program, ExecutorOptions())


def run(service: ServiceProcess, params: dict[str, Any]) -> str:
    body = {"program_id": "executor", "backend": "aer_simulator", "params": params}
    with httpx.Client(base_url=service.url, timeout=30) as http:
        response = http.post("/jobs", json=body)
        assert response.status_code == 200, response.text
        job_id = str(response.json()["id"])
        assert wait_status(http, job_id)["status"] == "Completed"
    return job_id


async def read(service: ServiceProcess, job_id: str) -> object:
    async with JobClient(Source.local(service.url)) as client:
        return await client.executor_result(job_id)


async def test_a_client_side_sampler_job_reads_as_sampler_counts(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = run(service, sampler_params())
    result = await read(service, job_id)
    assert isinstance(result, JobResult)
    (pub,) = result.pubs
    assert dict(pub.register("meas").counts) == {"10": SHOTS}

    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        app.query_one(JobDetail).active = "result"
        view = app.query_one(ResultView)
        await until(pilot, lambda: "register meas" in str(view.render()))
        assert f"{SHOTS:,} shots · 1 outcomes" in str(view.render())


async def test_a_client_side_estimator_job_reads_as_expectation_values(
    service: ServiceProcess,
) -> None:
    result = await read(service, run(service, estimator_params()))
    assert isinstance(result, EstimatorResult)
    (pub,) = result.pubs
    # Qubit 1 is |1>, qubit 0 is |0>: <ZI> = -1 and <IZ> = +1, exactly, without noise.
    assert [round(v.value, 6) for v in pub.values] == [-1.0, 1.0]


async def test_a_raw_program_shows_its_arrays_and_bitstrings(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = run(service, raw_params())
    result = await read(service, job_id)
    assert isinstance(result, ExecutorResult)
    ((array,),) = [item.arrays for item in result.items]
    assert (array.name, array.shape, array.dtype) == ("meas", (SHOTS, 2), "bool")
    assert dict(array.counts or {}) == {"10": SHOTS}

    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        app.query_one(JobDetail).active = "result"
        view = app.query_one(ResultView)
        await until(pilot, lambda: "QuantumProgram result" in str(view.render()))
        shown = str(view.render())
        assert "meas · bool · shape 40x2" in shown
        assert f"10 {SHOTS:>8,} 100.0%" in shown


def _bomb() -> str:
    return base64.b64encode(zlib.compress(b"\0" * (80 * 1024 * 1024))).decode()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"schema_version": "v9.9"}', "malformed executor result"),
        (json.dumps({"schema_version": "v2.0", "data": [{"b64_data": _bomb()}]}), "more than"),
    ],
)
def test_a_hostile_result_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(ExecutorResultError, match=words):
        decode_executor_result(text)
