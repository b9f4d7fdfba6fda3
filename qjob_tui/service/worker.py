"""Code that runs inside a worker process: decode a job, simulate it, encode its result.

Qiskit work is blocking and can take seconds, so it never runs in the service process. A worker
receives tasks over a pipe, a batch at a time (the next few jobs of one backend, so that it never
waits for the service between them), and runs them in order, one at a time: it says ``Started``
as it begins each and answers with its ``Outcome`` as it ends. Before each task it reads what
the service sent meanwhile, so a job cancelled while it waits in the batch (``Skip``) never runs.
The service cancels a running job by killing its worker, which is why nothing here needs to be
interruptible.
"""

from __future__ import annotations

import json
import time
import traceback
import warnings
from collections import deque
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from qjob_tui.model import ProgramId
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.errors import (
    CODE_BAD_PARAMS,
    CODE_EXECUTION_FAILED,
    CODE_OUT_OF_MEMORY,
    ProgramError,
)
from qjob_tui.service.limits import ADDRESS_SPACE_BASELINE, mebibytes
from qjob_tui.service.programs.raw_job import RawJob
from qjob_tui.service.simulators import build_backend


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
    job_id: str = ""  # the task's, set by the worker's loop


@dataclass(frozen=True)
class Started:
    """The worker begins this task now (``at``: its clock, seconds since the epoch)."""

    job_id: str
    at: float


@dataclass(frozen=True)
class Skip:
    """Drop these tasks of the batch if they have not started: their jobs were cancelled."""

    job_ids: tuple[str, ...]


# This worker's memory limit per job, in bytes (None: unlimited); set by ``serve``.
_memory_limit: int | None = None


def _run_sampler(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.circuit_size import check_expansion
    from qjob_tui.service.programs.sampler import parse_sampler_params
    from qjob_tui.service.programs.sampler_run import run_sampler
    from qjob_tui.wire.sampler_results import encode_sampler_result

    backend = build_backend(task.backend)
    sampler_task = parse_sampler_params(
        params, max_shots=task.backend.max_shots, max_qubits=task.backend.num_qubits
    )
    for index, pub in enumerate(sampler_task.pubs):
        check_expansion(pub.circuit, f"pub {index}")
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
    ProgramId.SAMPLER: _run_sampler,
    ProgramId.RANDOM_EXTRACTOR: _run_extractor,
    ProgramId.ESTIMATOR: _run_estimator,
    ProgramId.EXECUTOR: _run_executor,
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
    except MemoryError:
        return out_of_memory(_memory_limit, started)
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


def out_of_memory(limit: int | None, started: float = 0.0) -> Outcome:
    """The outcome of a job that needed more memory than a job may use."""
    shown = f"the limit of {mebibytes(limit)} per job" if limit else "the memory available"
    return Outcome(
        ok=False,
        code=CODE_OUT_OF_MEMORY,
        message=f"the job ran out of memory: it needed more than {shown}",
        solution="Use fewer qubits or shots, or start the service with a larger --job-memory.",
        started=started,
        ended=time.time(),
    )


def limit_memory(limit: int | None) -> None:
    """Cap this process's address space: a backstop behind the service's watch of its RSS.

    Libraries reserve far more address space than they use, so the cap is the limit plus a
    baseline; an allocation past it raises MemoryError, which fails the job, not the service.
    """
    global _memory_limit
    _memory_limit = limit
    if limit is None:
        return
    try:
        import resource

        cap = limit + ADDRESS_SPACE_BASELINE
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # not on this system: the RSS watch remains
        pass


def serve(conn: Connection, memory_limit: int | None = None) -> None:
    """The worker process's main loop: tasks in, outcomes out, until the pipe closes."""
    warnings.simplefilter("ignore")
    limit_memory(memory_limit)
    import qiskit  # noqa: F401  (import once, before the first task, so jobs start fast)

    conn.send("ready")
    waiting: deque[Task] = deque()
    while True:
        try:
            # Read everything sent so far; wait for more only when nothing is left to run.
            while not waiting or conn.poll():
                message = conn.recv()
                if message is None:
                    return
                take(waiting, message)
        except (EOFError, OSError, KeyboardInterrupt):
            return
        task = waiting.popleft()
        conn.send(Started(task.job_id, time.time()))
        conn.send(replace(run_task(task), job_id=task.job_id))


def take(waiting: deque[Task], message: object) -> None:
    """Add a task or a batch of tasks to the worker's queue, or drop the skipped ones."""
    if isinstance(message, Task):
        waiting.append(message)
    elif isinstance(message, list | tuple):
        waiting.extend(task for task in message if isinstance(task, Task))
    elif isinstance(message, Skip):
        skipped = set(message.job_ids)
        kept = [task for task in waiting if task.job_id not in skipped]
        waiting.clear()
        waiting.extend(kept)
