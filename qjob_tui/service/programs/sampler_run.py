"""Running a sampler job: transpile each pub, simulate every parameter set, pack the bits.

The outcome is the plain dict ``wire.sampler_results.encode_sampler_result`` turns into IBM's
result JSON; every refusal of the transpiler or simulator becomes a ``ProgramError``.
"""

from __future__ import annotations

import base64
import os
import warnings
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.transpiler import PassManager

from qjob_tui.service.errors import (
    CODE_EXECUTION_FAILED,
    CODE_OUT_OF_MEMORY,
    CODE_TOO_MANY_QUBITS,
    CODE_TRANSPILER_FAILED,
    CODE_UNSUPPORTED_INSTRUCTION,
    ProgramError,
)
from qjob_tui.service.programs import circuit_cache
from qjob_tui.service.programs.device_noise import runner_for
from qjob_tui.service.programs.sampler_task import SamplerPubTask, SamplerStopped, SamplerTask
from qjob_tui.service.programs.translation import translation_method
from qjob_tui.text import one_line
from qjob_tui.wire.bit_array import pack_register

# Aer's own default threshold for parallelising a statevector: below it, threads only cost.
SERIAL_BELOW_QUBITS = 14


def _looks_like_qubit_limit(text: str) -> bool:
    """Whether a transpiler or simulator complaint is about the number of qubits."""
    lower = text.lower()
    return "qubit" in lower and any(
        word in lower for word in ("maximum", "greater", "more", "exceed", "too many", "only")
    )


def _pass_manager(backend: BackendV2, seed: int | None) -> PassManager:
    """The pass manager ``transpile`` would build for this backend and seed, built once per
    worker: building it (its target's plugins, its stages) costs far more than running it on a
    small circuit, and a pass manager runs any number of circuits."""

    def build() -> PassManager:
        from qiskit.transpiler import generate_preset_pass_manager

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return generate_preset_pass_manager(
                optimization_level=1,
                target=backend.target,
                seed_transpiler=_transpiler_seed(seed),
                translation_method=translation_method(backend.target),
            )

    found = circuit_cache.pass_managers.get_or_make((id(backend), seed), build)
    assert isinstance(found, PassManager)
    return found


def _transpiler_seed(seed: int | None) -> int | None:
    """The seed ``transpile`` would use: the job's, else the environment's or the user config's."""
    if seed is not None:
        return seed
    from_env = os.getenv("QISKIT_TRANSPILER_SEED")
    if from_env is not None:
        return int(from_env)
    from qiskit import user_config

    configured = user_config.get_config().get("transpiler_seed")
    return configured if isinstance(configured, int) else None


def _transpile(
    circuit: QuantumCircuit, backend: BackendV2, seed: int | None, where: str
) -> QuantumCircuit:
    """Compile for the backend's target, turning refusals into errors that say what to change."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = _pass_manager(backend, seed).run(circuit)
        compiled.name = circuit.name  # as ``transpile`` names its output
        return compiled
    except Exception as exc:
        raise _transpile_error(one_line(exc, 300), backend, where) from None


def _transpile_error(text: str, backend: BackendV2, where: str) -> ProgramError:
    """The circuit's fault where the transpiler names what the device lacks, else the service's."""
    lower = text.lower()
    if _looks_like_qubit_limit(text) or "connected component" in lower:
        return ProgramError(
            CODE_TOO_MANY_QUBITS,
            f"{where}: the circuit does not fit backend {backend.name}: {text}",
            "Use fewer qubits, or choose a larger backend.",
        )
    if "unable to synthesize" in lower or "unable to translate" in lower:
        supported = sorted(backend.target.operation_names)
        shown = ", ".join(supported[:15]) + (", ..." if len(supported) > 15 else "")
        return ProgramError(
            CODE_UNSUPPORTED_INSTRUCTION,
            f"{where}: the circuit cannot be compiled for backend {backend.name}: {text}",
            f"Use instructions the backend supports ({shown}), or give custom gates a definition.",
        )
    return ProgramError(
        CODE_TRANSPILER_FAILED,
        f"{where}: the service's transpiler failed on backend {backend.name}, a fault of the "
        f"service, not of the circuit: {text}",
        "Run the circuit on another backend, or submit it already transpiled for this one; "
        "and please report this fault of the service.",
    )


def _compiled(
    pub: SamplerPubTask, backend: BackendV2, seed: int | None, where: str
) -> QuantumCircuit:
    """The pub's circuit transpiled for the backend, once per worker for each wire form."""
    if pub.key is None:
        return _transpile(pub.circuit, backend, seed, where)
    key = (pub.key, id(backend), seed)
    found = circuit_cache.transpiled.get_or_make(
        key, lambda: _transpile(pub.circuit, backend, seed, where)
    )
    assert isinstance(found, QuantumCircuit)
    return found


def _has_option(backend: BackendV2, name: str) -> bool:
    """Whether ``backend.run`` accepts the option, so unknown ones are never passed."""
    try:
        return hasattr(backend.options, name)
    except Exception:
        return False


# How simulators say an allocation failed (Aer: "Cannot allocate memory by posix_memalign",
# "Insufficient memory to run circuit"; C++: "std::bad_alloc").
_OUT_OF_MEMORY = ("cannot allocate memory", "insufficient memory", "bad_alloc", "out of memory")


def _execution_error(text: str, backend: BackendV2, where: str) -> ProgramError:
    """Classify a simulator refusal by what its message talks about."""
    lower = text.lower()
    if any(words in lower for words in _OUT_OF_MEMORY):
        return ProgramError(
            CODE_OUT_OF_MEMORY,
            f"{where}: the job ran out of memory on backend {backend.name}: {text}",
            "Use fewer qubits or shots, or start the service with a larger --job-memory.",
        )
    if _looks_like_qubit_limit(text):
        return ProgramError(
            CODE_TOO_MANY_QUBITS,
            f"{where}: backend {backend.name} refused the circuit: {text}",
            "Use fewer qubits, or choose a larger backend.",
        )
    if "instruction" in lower or "unsupported" in lower or "not supported" in lower:
        return ProgramError(
            CODE_UNSUPPORTED_INSTRUCTION,
            f"{where}: backend {backend.name} refused the circuit: {text}",
            "Use only instructions the backend supports.",
        )
    return ProgramError(
        CODE_EXECUTION_FAILED,
        f"{where}: the simulation on backend {backend.name} failed: {text}",
        "Check the circuit against the backend's limits, or try another backend.",
    )


def _run_options(
    runner: BackendV2, shots: int, seed: int | None, num_qubits: int
) -> dict[str, Any]:
    """The options of one simulator call: per-shot memory, the seed, and one thread if small."""
    options: dict[str, Any] = {"shots": shots}
    if _has_option(runner, "memory"):
        options["memory"] = True
    if seed is not None and _has_option(runner, "seed_simulator"):
        options["seed_simulator"] = seed
    if num_qubits < SERIAL_BELOW_QUBITS and _has_option(runner, "max_parallel_threads"):
        # Aer starts a pool of threads per run: ~4 ms for a Bell pair, ten times its
        # simulation. A worker is one process per job anyway; small circuits run serially.
        options["max_parallel_threads"] = 1
    return options


def _memory(
    result: Any, index: int, backend: BackendV2, shots: int, seed: int | None, where: str
) -> list[str]:
    """The per-shot outcomes of experiment ``index`` of a simulator result, as hex strings."""
    experiment = result.results[index] if len(result.results) > index else None
    if not result.success or experiment is None or not getattr(experiment, "success", True):
        status = getattr(experiment, "status", None) or getattr(result, "status", "no result")
        raise _execution_error(one_line(status, 300), backend, where)
    memory = getattr(experiment.data, "memory", None)
    if memory is None:
        # A backend without per-shot memory: expand its counts in a seeded random order.
        counts = getattr(experiment.data, "counts", None) or {}
        memory = [key for key, count in counts.items() for _ in range(int(count))]
        np.random.default_rng(seed).shuffle(memory)
    if len(memory) != shots:
        raise ProgramError(
            CODE_EXECUTION_FAILED,
            f"{where}: backend {backend.name} returned {len(memory)} outcomes for {shots} shots",
            "Try another backend.",
        )
    return list(memory)


def _outcomes(
    circuit: QuantumCircuit,
    backend: BackendV2,
    shots: int,
    seed: int | None,
    where: str,
) -> list[str]:
    """Run one bound circuit; the per-shot outcomes as hex strings, clbit 0 the lowest bit."""
    runner = runner_for(backend, circuit)  # a device: Aer with the noise of its qubits only
    options = _run_options(runner, shots, seed, circuit.num_qubits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = runner.run(circuit, **options).result()
    except Exception as exc:
        raise _execution_error(one_line(exc, 300), backend, where) from None
    return _memory(result, 0, backend, shots, seed, where)


def _outcomes_together(executions: Sequence[Execution], backend: BackendV2) -> list[list[str]]:
    """Run several unseeded circuits of the same shots in ONE simulator call; each circuit's
    outcomes, in order. Raises on any refusal: the caller then runs them one by one, so that
    each job gets its own error, as it would alone."""
    shots = executions[0].shots
    widest = max(execution.circuit.num_qubits for execution in executions)
    options = _run_options(backend, shots, None, widest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backend.run([execution.circuit for execution in executions], **options).result()
    return [
        _memory(result, index, backend, shots, None, execution.where)
        for index, execution in enumerate(executions)
    ]


def _outcome_bits(memory: Sequence[str], num_clbits: int, where: str) -> np.ndarray:
    """Hex outcomes as a bool array ``(shots, num_clbits)``, column k holding clbit k."""
    num_bytes = (num_clbits + 7) // 8
    if num_bytes == 0:
        return np.zeros((len(memory), 0), dtype=bool)
    try:
        buffer = b"".join(int(value, 16).to_bytes(num_bytes, "big") for value in memory)
    except (ValueError, TypeError, OverflowError):
        raise ProgramError(
            CODE_EXECUTION_FAILED,
            f"{where}: the simulator returned an outcome that is not a {num_clbits}-bit value",
            "Try another backend.",
        ) from None
    packed = np.frombuffer(buffer, dtype=np.uint8).reshape(len(memory), num_bytes)
    # unpackbits gives the most significant bit first; reversed, column k is clbit k.
    return np.unpackbits(packed, axis=1)[:, ::-1][:, :num_clbits].astype(bool)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _check_fits(pub: SamplerPubTask, backend: BackendV2, where: str) -> None:
    limit = backend.num_qubits
    if limit is not None and pub.circuit.num_qubits > limit:
        raise ProgramError(
            CODE_TOO_MANY_QUBITS,
            f"{where}: the circuit uses {pub.circuit.num_qubits} qubits, but backend "
            f"{backend.name} has only {limit}",
            f"Use a circuit of at most {limit} qubits, or choose a larger backend.",
        )


def _pub_bits(
    pub: SamplerPubTask,
    compiled: QuantumCircuit,
    backend: BackendV2,
    run: _Run,
    where: str,
) -> Generator[Execution, list[str], np.ndarray]:
    """Every execution of one pub: bools ``bindings_shape + (shots, num_clbits)``; each
    simulator run is yielded as an ``Execution``, its outcomes sent back."""
    parameters = list(pub.circuit.parameters)
    value_sets = pub.parameter_values.reshape(pub.num_bindings, len(parameters))
    runs: list[np.ndarray] = []
    for values in value_sets:
        if run.should_stop is not None and run.should_stop():
            raise SamplerStopped(f"stopped before execution {run.execution} ({where})")
        bound = compiled
        if parameters:
            binding = dict(zip(parameters, (float(v) for v in values), strict=True))
            bound = compiled.assign_parameters(binding, strict=False)
        run_seed = None if run.seed is None else (run.seed + run.execution) % 2**31
        memory = yield Execution(bound, pub.shots, run_seed, where)
        runs.append(_outcome_bits(memory, compiled.num_clbits, where))
        run.execution += 1
    return np.stack(runs).reshape(*pub.bindings_shape, pub.shots, compiled.num_clbits)


def _registers(circuit: QuantumCircuit, bits: np.ndarray) -> list[dict[str, Any]]:
    """Each classical register's packed bytes, in base64, as ``encode_sampler_result`` reads."""
    registers = []
    for register in circuit.cregs:
        columns = [circuit.find_bit(bit).index for bit in register]
        packed = np.ascontiguousarray(pack_register(bits, columns))
        registers.append(
            {
                "name": register.name,
                "num_bits": register.size,
                "packed": base64.standard_b64encode(packed.tobytes()).decode("ascii"),
            }
        )
    return registers


@dataclass
class _Run:
    """What one job's executions share: the seed, the stop check and the execution count."""

    seed: int | None
    should_stop: Callable[[], bool] | None
    execution: int = 0


@dataclass(frozen=True)
class Execution:
    """One simulator run a sampler job needs: a bound, compiled circuit, its shots and seed."""

    circuit: QuantumCircuit
    shots: int
    seed: int | None
    where: str


# A sampler job as steps: it yields each simulator run it needs and is sent that run's
# outcomes; it returns the plain-JSON result for the wire.
SamplerSteps = Generator[Execution, list[str], dict[str, Any]]


def sampler_steps(
    task: SamplerTask,
    backend: BackendV2,
    *,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SamplerSteps:
    """Run every pub on a Qiskit backend, yielding each simulator run to whoever drives it.

    Each parameter-value set is its own simulator run with per-shot memory kept, so the result
    keeps the bindings' shape; ``should_stop`` is asked before each run so a cancel lands soon.
    The returned dict (see ``wire.sampler_results``) holds per register the packed bytes.
    """
    run = _Run(seed=task.seed_simulator if seed is None else seed, should_stop=should_stop)
    pubs: list[dict[str, Any]] = []
    for index, pub in enumerate(task.pubs):
        where = f"pub {index}"
        _check_fits(pub, backend, where)
        start = _now()
        compiled = _compiled(pub, backend, run.seed, where)
        bits = yield from _pub_bits(pub, compiled, backend, run, where)
        metadata = pub.circuit.metadata if isinstance(pub.circuit.metadata, dict) else {}
        pubs.append(
            {
                "shape": list(pub.bindings_shape),
                "shots": pub.shots,
                "registers": _registers(pub.circuit, bits),
                "metadata": {"shots": pub.shots, "circuit_metadata": metadata},
                "start": start,
                "stop": _now(),
            }
        )
    return {
        "pubs": pubs,
        "metadata": {"version": 2, "backend": backend.name, "seed_simulator": run.seed},
    }


def run_sampler(
    task: SamplerTask,
    backend: BackendV2,
    *,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run one sampler job, one simulator call per execution (see ``sampler_steps``)."""
    steps = sampler_steps(task, backend, seed=seed, should_stop=should_stop)
    try:
        execution = next(steps)
        while True:
            memory = _outcomes(
                execution.circuit, backend, execution.shots, execution.seed, execution.where
            )
            execution = steps.send(memory)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def run_samplers(
    jobs: Sequence[SamplerSteps], backend: BackendV2
) -> list[dict[str, Any] | Exception]:
    """Run several sampler jobs of one backend side by side; each job's result or its error.

    The jobs advance together: their next executions without a seed and with the same shots
    go to the simulator in one ``backend.run(list)`` call, which costs far less than a call
    each for small circuits. A seeded execution runs alone, as it would in its job alone,
    since a simulator draws one stream of random numbers per call; so does any execution whose
    shared call failed, so that each job meets its own error.
    """
    results: list[dict[str, Any] | Exception | None] = [None] * len(jobs)
    waiting: dict[int, Execution] = {}

    def advance(index: int, memory: list[str] | None) -> None:
        try:
            execution = next(jobs[index]) if memory is None else jobs[index].send(memory)
        except StopIteration as done:
            results[index] = done.value
        except Exception as exc:  # the job's own error: its result
            results[index] = exc
        else:
            waiting[index] = execution

    for index in range(len(jobs)):
        advance(index, None)
    while waiting:
        ready, waiting = waiting, {}
        together: dict[int, list[int]] = {}
        alone: list[int] = []
        for index, execution in ready.items():
            if execution.seed is None:
                together.setdefault(execution.shots, []).append(index)
            else:
                alone.append(index)
        for indices in together.values():
            if len(indices) == 1:
                alone.extend(indices)
                continue
            try:
                memories = _outcomes_together([ready[i] for i in indices], backend)
            except Exception:
                alone.extend(indices)
                continue
            for index, memory in zip(indices, memories, strict=True):
                advance(index, memory)
        for index in alone:
            execution = ready[index]
            try:
                memory = _outcomes(
                    execution.circuit, backend, execution.shots, execution.seed, execution.where
                )
            except Exception as exc:
                jobs[index].close()
                results[index] = exc
                continue
            advance(index, memory)
    return [result if result is not None else RuntimeError("no result") for result in results]
