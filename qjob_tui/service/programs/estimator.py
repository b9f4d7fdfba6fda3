"""The ``estimator`` program: EstimatorV2 jobs, run by qiskit-ibm-runtime's own local runner.

qiskit-ibm-runtime ships the reference: its local testing mode runs an estimator job on a
backend with Qiskit's ``BackendEstimatorV2`` and maps the runtime options onto it
(``QiskitRuntimeLocalService._run_backend_primitive_v2``). The service uses that runner as is;
what it adds is IBM's server-side checks (ISA circuits on devices, shot caps) and clear errors.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from qjob_tui.service.errors import (
    CODE_BAD_CIRCUIT,
    CODE_BAD_PARAMS,
    CODE_TOO_MANY_QUBITS,
    CODE_TOO_MANY_SHOTS,
    ProgramError,
)
from qjob_tui.wire.estimator import (
    EstimatorTask,
    encode_estimator_result,
    parse_estimator_params,
)
from qjob_tui.wire.safe_decode import WireError


def decode_task(text: str) -> EstimatorTask:
    try:
        return parse_estimator_params(text)
    except WireError as exc:
        raise ProgramError(CODE_BAD_PARAMS, exc.message, exc.solution) from None


def check_circuits(circuits: list[Any], backend: Any, simulator: bool) -> None:
    """IBM's checks before a job runs: the qubit count, and ISA circuits on a device."""
    from qiskit_ibm_runtime.utils.utils import is_isa_circuit

    limit = backend.num_qubits
    for index, circuit in enumerate(circuits):
        if limit is not None and circuit.num_qubits > limit:
            raise ProgramError(
                CODE_TOO_MANY_QUBITS,
                f"pub {index}: the circuit uses {circuit.num_qubits} qubits, but backend "
                f"{backend.name} has only {limit}",
                f"Use a circuit of at most {limit} qubits, or choose a larger backend.",
            )
        if simulator:
            continue
        problem = is_isa_circuit(circuit, backend.target)
        if problem:
            raise ProgramError(
                CODE_BAD_CIRCUIT,
                f"pub {index}: the circuit is not an ISA circuit of {backend.name}: "
                f"{problem[:300]}",
                "Transpile it for the backend first, e.g. with generate_preset_pass_manager"
                "(backend=backend), and apply its layout to the observables.",
            )


def run_estimator(task: Any) -> tuple[str, dict[str, Any]]:
    """Run an estimator job's pubs on its backend; the result text and metrics details."""
    from qjob_tui.service.simulators import build_backend

    estimator = decode_task(task.params)
    backend = build_backend(task.backend)
    circuits = [pub.circuit for pub in estimator.pubs]
    check_circuits(circuits, backend, task.backend.simulator)
    shots = estimator.shots()
    if shots > task.backend.max_shots * max(len(estimator.pubs), 1):
        raise ProgramError(
            CODE_TOO_MANY_SHOTS,
            f"the requested precision needs {shots} shots, more than {task.backend.name} "
            f"allows ({task.backend.max_shots} per pub)",
            "Ask for a larger precision (fewer shots).",
        )
    if task.backend.shot_latency > 0:
        time.sleep(task.backend.shot_latency * shots)  # a device spends time per shot
    from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "options have no effect in local mode"
        job = QiskitRuntimeLocalService()._run_backend_primitive_v2(
            backend=backend,
            primitive="estimator",
            options=estimator.runner_options(),
            inputs={"pubs": list(estimator.pubs)},
        )
        result = job.result()
    details = {
        "num_circuits": len(circuits),
        "num_qubits": [c.num_qubits for c in circuits],
        "circuit_depths": [c.depth() for c in circuits],
        "shots": shots,
    }
    return encode_estimator_result(result, estimator.pubs), details
