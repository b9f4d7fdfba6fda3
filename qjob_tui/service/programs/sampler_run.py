"""Running a sampler job: transpile each pub, simulate every parameter set, pack the bits.

The outcome is the plain dict ``wire.sampler_results.encode_sampler_result`` turns into IBM's
result JSON; every refusal of the transpiler or simulator becomes a ``ProgramError``.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qiskit import transpile
from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2

from qjob_tui.service.errors import (
    CODE_EXECUTION_FAILED,
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


def _transpile(
    circuit: QuantumCircuit, backend: BackendV2, seed: int | None, where: str
) -> QuantumCircuit:
    """Compile for the backend's target, turning refusals into errors that say what to change."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return transpile(
                circuit,
                target=backend.target,
                optimization_level=1,
                seed_transpiler=seed,
                translation_method=translation_method(backend.target),
            )
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


def _execution_error(text: str, backend: BackendV2, where: str) -> ProgramError:
    """Classify a simulator refusal by what its message talks about."""
    lower = text.lower()
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


def _outcomes(
    circuit: QuantumCircuit,
    backend: BackendV2,
    shots: int,
    seed: int | None,
    where: str,
) -> list[str]:
    """Run one bound circuit; the per-shot outcomes as hex strings, clbit 0 the lowest bit."""
    runner = runner_for(backend, circuit)
    options: dict[str, Any] = {"shots": shots}
    if _has_option(runner, "memory"):
        options["memory"] = True
    if seed is not None and _has_option(runner, "seed_simulator"):
        options["seed_simulator"] = seed
    if circuit.num_qubits < SERIAL_BELOW_QUBITS and _has_option(runner, "max_parallel_threads"):
        # Aer starts a pool of threads per run: ~4 ms for a Bell pair, ten times its
        # simulation. A worker is one process per job anyway; small circuits run serially.
        options["max_parallel_threads"] = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = runner.run(circuit, **options).result()
    except Exception as exc:
        raise _execution_error(one_line(exc, 300), backend, where) from None
    experiment = result.results[0] if result.results else None
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
) -> np.ndarray:
    """Every execution of one pub: bools ``bindings_shape + (shots, num_clbits)``."""
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
        memory = _outcomes(bound, backend, pub.shots, run_seed, where)
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


def run_sampler(
    task: SamplerTask,
    backend: BackendV2,
    *,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run every pub on a Qiskit backend and return the plain-JSON result for the wire.

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
        bits = _pub_bits(pub, compiled, backend, run, where)
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
