"""Code that runs inside a worker process: decode a job, simulate it, encode its result.

Qiskit work is blocking and can take seconds, so it never runs in the service process. A worker
receives tasks over a pipe, a batch at a time (the next few jobs of one backend, so that it never
waits for the service between them), and runs them in order: one at a time on a device, which
spends time per shot (it says ``Started`` as it begins each and answers with its ``Outcome`` as
it ends), or, on a simulator that runs a list of circuits in one call, as a group that starts
together and shares its simulator calls (one message with every ``Started``, one with every
``Outcome``). Before each task or group it reads what the service sent meanwhile, so a job
cancelled while it waits in the batch (``Skip``) never runs; it says each ``Skip`` back, so the
service hands it no other batch while a job skipped too late may still run. The service
cancels a running job by killing its worker, which is why nothing here needs to be
interruptible. The process's loop is ``worker_process.py``; its warm-up, ``warm_up.py``.
"""

from __future__ import annotations

import json
import time
import traceback
from collections import deque
from dataclasses import dataclass, replace
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
    # The worker's seconds spent on this job when it ran in a group (its own decoding and
    # encoding, and its share of the simulator calls it shared); None: ``ended - started``.
    busy: float | None = None

    @property
    def charged(self) -> float:
        """The seconds this job is charged for (``quantum_seconds``) if it succeeded."""
        if not self.ok:
            return 0.0
        return self.busy if self.busy is not None else max(self.ended - self.started, 0.0)


@dataclass(frozen=True)
class Started:
    """The worker begins this task now (``at``: its clock, seconds since the epoch)."""

    job_id: str
    at: float


@dataclass(frozen=True)
class Skip:
    """Drop these tasks of the batch if they have not started: their jobs were cancelled."""

    job_ids: tuple[str, ...]


# Simulators whose ``run`` takes a list of circuits in one call (``BackendSpec.kind``).
GROUP_KINDS = frozenset({"basic", "aer"})
# Jobs of a batch run as one group, at most.
MAX_GROUP = 16
# A job small enough to share a group: a few milliseconds and kilobytes on a simulator.
GROUP_MAX_QUBITS = 10
GROUP_MAX_DEPTH = 100
GROUP_MAX_SHOTS = 10_000

# This worker's memory limit per job, in bytes (None: unlimited); set by ``serve``.
_memory_limit: int | None = None


def _sampler_job(task: Task) -> tuple[Any, dict[str, Any]]:
    """The job's decoded params and the details they give, decoded once per worker for each
    params text (``circuit_cache.sampler_params``): a script sends the same job again and again,
    and the decoded form is never mutated. The text is read as JSON only on a miss."""
    from qjob_tui.service.circuit_size import check_expansion
    from qjob_tui.service.programs import circuit_cache
    from qjob_tui.service.programs.sampler import parse_sampler_params

    def decode() -> tuple[Any, dict[str, Any]]:
        sampler_task = parse_sampler_params(
            _params(task), max_shots=task.backend.max_shots, max_qubits=task.backend.num_qubits
        )
        for index, pub in enumerate(sampler_task.pubs):
            check_expansion(pub.circuit, f"pub {index}")
        details = {
            "num_circuits": len(sampler_task.pubs),
            "num_qubits": [pub.circuit.num_qubits for pub in sampler_task.pubs],
            "circuit_depths": [pub.circuit.depth() for pub in sampler_task.pubs],
            "shots": sum(pub.shots * max(pub.num_bindings, 1) for pub in sampler_task.pubs),
        }
        return sampler_task, details

    if len(task.params) > circuit_cache.MAX_KEY_CHARS:
        return decode()
    key = (task.params, task.backend.max_shots, task.backend.num_qubits)
    found = circuit_cache.sampler_params.get_or_make(key, decode)
    assert isinstance(found, tuple)
    return found


def _run_sampler(task: Task, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from qjob_tui.service.programs.sampler_run import run_sampler
    from qjob_tui.wire.sampler_results import encode_sampler_result

    backend = build_backend(task.backend)
    sampler_task, details = _sampler_job(task)
    if task.backend.shot_latency > 0:
        # A device spends time per shot; the simulation itself is near instant.
        time.sleep(task.backend.shot_latency * details["shots"])
    pub_results = run_sampler(sampler_task, backend, seed=task.seed)
    return encode_sampler_result(pub_results), dict(details)


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


def _params(task: Task) -> dict[str, Any]:
    """The job's params as a JSON object, or the ProgramError that says what is wrong."""
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
    return params


def _failed(exc: BaseException, started: float) -> Outcome:
    """The outcome of a job whose run raised ``exc``."""
    if isinstance(exc, ProgramError):
        return Outcome(
            ok=False,
            code=exc.code,
            message=exc.message,
            solution=exc.solution,
            started=started,
            ended=time.time(),
        )
    if isinstance(exc, MemoryError):
        return out_of_memory(_memory_limit, started)
    # A simulator bug must fail the job, not the worker.
    last = traceback.format_exception_only(exc)[-1].strip()
    return Outcome(
        ok=False,
        code=CODE_EXECUTION_FAILED,
        message=f"execution failed: {last}"[:500],
        solution="Check the circuit against the backend's limits, or try another backend.",
        started=started,
        ended=time.time(),
    )


def run_task(task: Task) -> Outcome:
    """Run one task to an Outcome; never raises."""
    started = time.time()
    try:
        result, details = PROGRAMS[task.program](task, _params(task))
        return Outcome(ok=True, result=result, details=details, started=started, ended=time.time())
    except Exception as exc:
        return _failed(exc, started)


def groupable(task: Task) -> bool:
    """Whether the task may run in a group that shares simulator calls: a small sampler job
    (``GROUP_MAX_*``) on a simulator that runs a list of circuits in one call and spends no
    time per shot. A group runs as one, and each of its jobs is charged the group's time and
    memory: one large job in it failed the small ones on their limits."""
    if not (
        task.program == ProgramId.SAMPLER
        and task.backend.kind in GROUP_KINDS
        and task.backend.shot_latency == 0
        and task.raw_job is None
    ):
        return False
    from qjob_tui.service.programs import circuit_cache

    if len(task.params) > circuit_cache.MAX_KEY_CHARS:
        return False  # no small job's params are this long
    try:
        _, details = _sampler_job(task)
    except Exception:  # it runs alone, and fails in its own words
        return False
    return (
        max(details["num_qubits"], default=0) <= GROUP_MAX_QUBITS
        and max(details["circuit_depths"], default=0) <= GROUP_MAX_DEPTH
        and details["shots"] <= GROUP_MAX_SHOTS
    )


def run_group(tasks: list[Task]) -> list[Outcome]:
    """Run sampler jobs of one backend together (``run_samplers``); each job's own outcome.

    Every job of the group started when the group did. Each is charged its own decoding and
    encoding and an equal share of the group's simulation (its shared and its seeded calls).
    """
    from qjob_tui.service.programs.sampler_run import run_samplers, sampler_steps
    from qjob_tui.wire.sampler_results import encode_sampler_result

    started = time.time()
    backend = build_backend(tasks[0].backend)
    outcomes: dict[int, Outcome] = {}
    steps = {}
    details: dict[int, dict[str, Any]] = {}
    own: dict[int, float] = {}
    for index, task in enumerate(tasks):
        began = time.perf_counter()
        try:
            sampler_task, details[index] = _sampler_job(task)
            steps[index] = sampler_steps(sampler_task, backend, seed=task.seed)
        except Exception as exc:
            outcomes[index] = _failed(exc, started)
        own[index] = time.perf_counter() - began
    began = time.perf_counter()
    try:
        results = run_samplers(list(steps.values()), backend)
    except Exception as exc:  # a bug of the driver fails the jobs, not the worker
        results = [exc] * len(steps)
    share = (time.perf_counter() - began) / max(len(steps), 1)
    for index, result in zip(steps, results, strict=True):
        if isinstance(result, Exception):
            outcomes[index] = _failed(result, started)
            continue
        began = time.perf_counter()
        try:
            text = encode_sampler_result(result)
        except Exception as exc:
            outcomes[index] = _failed(exc, started)
            continue
        busy = own[index] + share + time.perf_counter() - began
        outcomes[index] = Outcome(
            ok=True,
            result=text,
            details=dict(details[index]),
            started=started,
            ended=time.time(),
            busy=round(busy, 6),
        )
    return [replace(outcomes[i], job_id=task.job_id) for i, task in enumerate(tasks)]


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


def next_group(waiting: deque[Task]) -> list[Task]:
    """The next task, with the groupable tasks of its backend right behind it (see
    ``groupable``): they start together and share their simulator calls."""
    task = waiting.popleft()
    group = [task]
    if not groupable(task):
        return group
    while (
        waiting
        and len(group) < MAX_GROUP
        and groupable(waiting[0])
        and waiting[0].backend == task.backend
    ):
        group.append(waiting.popleft())
    return group


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
