"""Code that runs inside a worker process: decode a job, simulate it, encode its result.

Qiskit work is blocking and can take seconds, so it never runs in the service process. A worker
receives one task at a time over a pipe and answers with an ``Outcome``; the service cancels a
running job by killing its worker, which is why nothing here needs to be interruptible.
"""

from __future__ import annotations

import json
import time
import traceback
import warnings
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.errors import CODE_BAD_PARAMS, CODE_EXECUTION_FAILED, ProgramError


@dataclass(frozen=True)
class RawJob:
    """A job that another job reads as input, as the scheduler found it at dispatch time.

    The worker has no database, so the scheduler reads the job for it; ``status`` is None
    when there is no such job, and ``result`` is the stored result text of a completed job.
    """

    job_id: str
    status: str | None
    program: str | None = None
    result: str | None = None


@dataclass(frozen=True)
class Task:
    """A job handed to a worker."""

    job_id: str
    program: str
    params: str
    backend: BackendSpec
    seed: int | None = None
    raw_job: RawJob | None = None


@dataclass(frozen=True)
class Outcome:
    """What a worker made of a task: a result, or the reason it failed."""

    ok: bool
    result: str | None = None
    details: dict[str, Any] | None = None
    code: int | None = None
    message: str | None = None
    solution: str | None = None
    started: float = 0.0
    ended: float = 0.0


_backends: dict[str, Any] = {}


def build_backend(spec: BackendSpec) -> Any:
    """The Qiskit backend of a spec, built once per worker."""
    backend = _backends.get(spec.name)
    if backend is not None:
        return backend
    if spec.kind == "basic":
        from qiskit.providers.basic_provider import BasicSimulator

        backend = BasicSimulator()
    elif spec.kind == "aer":
        from qiskit_aer import AerSimulator

        backend = AerSimulator()
    elif spec.fake_class:
        # IBM's own snapshot of the device: its target, calibration and noise model.
        from qiskit_ibm_runtime import fake_provider

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend = getattr(fake_provider, spec.fake_class)()
    else:
        from qiskit.providers.fake_provider import GenericBackendV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend = GenericBackendV2(
                spec.num_qubits,
                basis_gates=list(spec.basis_gates),
                coupling_map=spec.coupling_map,
                seed=spec.seed,
            )
    _backends[spec.name] = backend
    return backend


def _run_sampler(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.programs.result_json import encode_sampler_result
    from qjob_tui.service.programs.sampler import parse_sampler_params, run_sampler

    backend = build_backend(task.backend)
    sampler_task = parse_sampler_params(
        params, max_shots=task.backend.max_shots, max_qubits=task.backend.num_qubits
    )
    shots = sum(pub.shots * max(pub.num_bindings, 1) for pub in sampler_task.pubs)
    if task.backend.shot_latency > 0:
        # A device spends time per shot; the simulation itself is near instant.
        time.sleep(task.backend.shot_latency * shots)
    pub_results = run_sampler(sampler_task, backend, seed=task.seed)
    details = {
        "num_circuits": len(sampler_task.pubs),
        "num_qubits": [pub.circuit.num_qubits for pub in sampler_task.pubs],
        "circuit_depths": [pub.circuit.depth() for pub in sampler_task.pubs],
        "shots": shots,
    }
    return encode_sampler_result(pub_results), details


def _run_extractor(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.programs.extractor import run_extractor

    return run_extractor(params, task.raw_job)


def _run_estimator(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.programs.estimator import run_estimator

    return run_estimator(task)


def _run_executor(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.programs.executor import run_executor

    return run_executor(task)


PROGRAMS = {
    "sampler": _run_sampler,
    "random-extractor": _run_extractor,
    "estimator": _run_estimator,
    "executor": _run_executor,
}


def run_task(task: Task) -> Outcome:
    """Run one task to an Outcome; never raises."""
    started = time.time()
    try:
        try:
            params = json.loads(task.params)
        except ValueError as exc:
            raise ProgramError(
                CODE_BAD_PARAMS,
                f"the job's params are not valid JSON: {exc}",
                "Submit params as a JSON object.",
            ) from None
        if not isinstance(params, dict):
            raise ProgramError(
                CODE_BAD_PARAMS,
                "the job's params must be a JSON object",
                "Submit params as an object.",
            )
        result, details = PROGRAMS[task.program](task, params)
        return Outcome(ok=True, result=result, details=details, started=started, ended=time.time())
    except ProgramError as exc:
        return Outcome(
            ok=False,
            code=exc.code,
            message=exc.message,
            solution=exc.solution,
            started=started,
            ended=time.time(),
        )
    except Exception as exc:  # a simulator bug must fail the job, not the worker
        last = traceback.format_exception_only(exc)[-1].strip()
        return Outcome(
            ok=False,
            code=CODE_EXECUTION_FAILED,
            message=f"execution failed: {last}"[:500],
            solution="Check the circuit against the backend's limits, or try another backend.",
            started=started,
            ended=time.time(),
        )


def serve(conn: Connection) -> None:
    """The worker process's main loop: tasks in, outcomes out, until the pipe closes."""
    warnings.simplefilter("ignore")
    import qiskit  # noqa: F401  (import once, before the first task, so jobs start fast)

    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        conn.send(run_task(task))
