"""The ``executor`` program: QuantumPrograms, run by qiskit-ibm-runtime's own local runner.

qiskit-ibm-runtime's local testing mode runs a QuantumProgram with
``fake_provider.executor.run_quantum_program`` (Aer's sampler, with the device's noise when the
backend is a fake device, samplex items sampled with samplomatic). The service uses that runner
as is, after IBM's server-side checks, and encodes its result in the schema the client decodes.
"""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime
from typing import Any

from qjob_tui.service.errors import CODE_BAD_PARAMS, CODE_TOO_MANY_SHOTS, ProgramError
from qjob_tui.service.programs.estimator import check_circuits
from qjob_tui.wire.executor import ExecutorTask, encode_executor_result, parse_executor_params
from qjob_tui.wire.safe_decode import WireError


def decode_task(text: str) -> ExecutorTask:
    try:
        return parse_executor_params(text)
    except WireError as exc:
        raise ProgramError(CODE_BAD_PARAMS, exc.message, exc.solution) from None


def _simulated_backend(task: Any) -> Any:
    """The backend the runner samples from: the device itself, or Aer for the simulators."""
    if task.backend.kind == "device":
        from qjob_tui.service.simulators import build_backend

        return build_backend(task.backend)
    from qiskit_aer import AerSimulator

    return AerSimulator()


def run_executor(task: Any) -> tuple[str, dict[str, Any]]:
    """Run an executor job's QuantumProgram; the result text and metrics details."""
    import importlib.util

    if importlib.util.find_spec("qiskit_aer") is None:
        raise ProgramError(
            CODE_BAD_PARAMS,
            "the executor program needs Qiskit Aer, which this service lacks",
            "Install the aer extra: pip install 'qjob-tui[aer]'.",
        )
    executor = decode_task(task.params)
    backend = _simulated_backend(task)
    circuits = [item.circuit for item in executor.program.items]
    check_circuits(circuits, backend, task.backend.simulator)
    shots = executor.shots()
    if executor.program.shots > task.backend.max_shots:
        raise ProgramError(
            CODE_TOO_MANY_SHOTS,
            f"the program asks for {executor.program.shots} shots, more than "
            f"{task.backend.name} allows ({task.backend.max_shots})",
            f"Use at most {task.backend.max_shots} shots.",
        )
    if task.backend.shot_latency > 0:
        time.sleep(task.backend.shot_latency * shots)  # a device spends time per shot
    from qiskit_ibm_runtime.fake_provider.executor.run_quantum_program import (
        run_quantum_program,
    )

    started = datetime.now(UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_quantum_program(backend, executor.program, executor.options.simulator)
    stopped = datetime.now(UTC)
    details = {
        "num_circuits": len(circuits),
        "num_qubits": [c.num_qubits for c in circuits],
        "circuit_depths": [c.depth() for c in circuits],
        "shots": shots,
        "semantic_role": getattr(executor.program, "_semantic_role", None),
    }
    return encode_executor_result(result, executor.program, started, stopped), details
