"""The ``sampler`` program: IBM's SamplerV2 job input in, per-register packed bit arrays out.

The params are decoded by ``qjob_tui.wire`` exactly as qiskit-ibm-runtime's ``RuntimeEncoder``
writes them, so an unchanged ``SamplerV2`` script can submit to the local service; simple clients
may send OpenQASM text in place of the QPY circuit. Everything a job sends is untrusted, so every
problem becomes a ``ProgramError`` that names the pub and says how to fix it, never a traceback.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qiskit.circuit import QuantumCircuit

from qjob_tui.service.errors import (
    CODE_BAD_CIRCUIT,
    CODE_BAD_PARAMETER_VALUES,
    CODE_BAD_PARAMS,
    CODE_NO_MEASUREMENTS,
    CODE_TOO_MANY_QUBITS,
    CODE_TOO_MANY_SHOTS,
    ProgramError,
)
from qjob_tui.service.programs import circuit_cache
from qjob_tui.service.programs.sampler_task import SamplerPubTask, SamplerTask
from qjob_tui.text import one_line
from qjob_tui.wire.circuits import decode_circuit
from qjob_tui.wire.envelope import json_kind
from qjob_tui.wire.errors import Part, WireError
from qjob_tui.wire.sampler_params import decode_parameter_values

# IBM's default when neither the pub nor ``options.default_shots`` says how many shots.
DEFAULT_SHOTS = 4096
DEFAULT_MAX_SHOTS = 100_000
# Parameter-value sets over all pubs of one job; each is a separate simulator run.
DEFAULT_MAX_EXECUTIONS = 10_000

# The reason code of each part of the wire format a job's params can get wrong.
_CODES = {
    Part.PARAMS: CODE_BAD_PARAMS,
    Part.CIRCUIT: CODE_BAD_CIRCUIT,
    Part.VALUES: CODE_BAD_PARAMETER_VALUES,
    Part.RESULT: CODE_BAD_PARAMS,
}

_RESERVED_REGISTER_NAMES = frozenset(
    {
        "_RESTRICTED_NAMES",
        "_SHAPE",
        "_FIELDS",
        "_FIELD_TYPES",
        "_data",
        "_shape",
        "keys",
        "values",
        "items",
        "shape",
        "ndim",
        "size",
    }
)

# --- circuits --------------------------------------------------------------------------------


@contextmanager
def _as_program_error() -> Iterator[None]:
    """The wire format's errors as the job's ProgramError, with the code of the part."""
    try:
        yield
    except WireError as exc:
        raise ProgramError(_CODES[exc.part], exc.message, exc.solution) from None


def _has_measurement(circuit: QuantumCircuit) -> bool:
    """Whether any measure instruction exists, looking inside control-flow blocks too."""
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name == "measure":
            return True
        if any(_has_measurement(block) for block in getattr(operation, "blocks", ())):
            return True
    return False


def _check_circuit(circuit: QuantumCircuit, where: str, max_qubits: int | None) -> None:
    """Refuse what IBM's sampler refuses before any time is spent on it."""
    if max_qubits is not None and circuit.num_qubits > max_qubits:
        raise ProgramError(
            CODE_TOO_MANY_QUBITS,
            f"{where}: the circuit uses {circuit.num_qubits} qubits, but the backend has only "
            f"{max_qubits}",
            f"Use a circuit of at most {max_qubits} qubits, or choose a larger backend.",
        )
    if not _has_measurement(circuit):
        raise ProgramError(
            CODE_NO_MEASUREMENTS,
            f"{where}: the circuit has no measurements; IBM's sampler refuses circuits without "
            "measurements, as there is nothing to sample",
            "Measure the qubits you want to read, e.g. circuit.measure_all() or "
            "'c = measure q;' in OpenQASM 3.",
        )
    if not circuit.cregs:
        raise ProgramError(
            CODE_NO_MEASUREMENTS,
            f"{where}: the circuit measures only into classical bits outside any register; the "
            "sampler returns its data per classical register",
            "Add a ClassicalRegister and measure into it, or use circuit.measure_all().",
        )
    for register in circuit.cregs:
        name = register.name
        shown = one_line(repr(name), 40)
        problem = None
        if register.size == 0:
            problem = f"classical register {shown} has no bits"
        elif not name.isidentifier() or keyword.iskeyword(name):
            problem = f"classical register name {shown} is not a valid Python identifier"
        elif name in _RESERVED_REGISTER_NAMES:
            problem = f"classical register name {shown} is reserved by qiskit's DataBin"
        if problem:
            raise ProgramError(
                CODE_BAD_CIRCUIT,
                f"{where}: {problem}; result fields are named after registers",
                "Give every classical register at least one bit and a plain name such as "
                "'c' or 'meas'.",
            )


# --- shots ----------------------------------------------------------------------------------


def _check_shots(value: object, what: str, max_shots: int) -> int:
    """A positive whole number of shots within the backend's maximum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"{what} must be a positive integer, not {json_kind(value)}",
            "Send the number of shots as a whole number such as 1024.",
        )
    if value > max_shots:
        raise ProgramError(
            CODE_TOO_MANY_SHOTS,
            f"{what} is {value}, above the backend's maximum of {max_shots}",
            f"Ask for at most {max_shots} shots, or split the work over several jobs.",
        )
    return value


# --- params ----------------------------------------------------------------------------------


def _parse_options(options: object, max_shots: int) -> tuple[dict[str, Any], int, int | None]:
    """The options object, its default shots and its simulator seed."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"params.options must be an object, not {json_kind(options)}",
            "Send options as a JSON object, or leave them out.",
        )
    raw_default = options.get("default_shots")
    if raw_default is None:
        default_shots = min(DEFAULT_SHOTS, max_shots)
    else:
        default_shots = _check_shots(raw_default, "options.default_shots", max_shots)
    simulator = options.get("simulator")
    seed = simulator.get("seed_simulator") if isinstance(simulator, dict) else None
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"options.simulator.seed_simulator must be a non-negative integer, not "
            f"{json_kind(seed)}",
            "Send a whole number as the seed, or leave it out.",
        )
    return options, default_shots, seed


def _decoded(obj: object, key: str | None, where: str) -> QuantumCircuit:
    """The pub's circuit, decoded once per worker for each wire form (``circuit_cache``)."""
    if key is None:
        return decode_circuit(obj, where)
    found = circuit_cache.decoded.get_or_make(key, lambda: decode_circuit(obj, where))
    assert isinstance(found, QuantumCircuit)
    return found


def _parse_pub(
    pub: object, where: str, default_shots: int, max_shots: int, max_qubits: int | None
) -> SamplerPubTask:
    """Decode one pub: ``circuit``, ``[circuit]``, ``[circuit, values]`` or with shots too."""
    if isinstance(pub, str | dict):
        items: list[object] = [pub]
    elif isinstance(pub, list):
        items = pub
    else:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"{where} must be a circuit or an array [circuit, parameter values, shots], not "
            f"{json_kind(pub)}",
            "Send each pub as SamplerV2 does: [circuit, parameter values or null, shots or null].",
        )
    if not 1 <= len(items) <= 3:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"{where} has {len(items)} elements; a sampler pub is [circuit], "
            "[circuit, parameter values] or [circuit, parameter values, shots]",
            "Send at most three elements per pub.",
        )
    with _as_program_error():
        key = circuit_cache.wire_key(items[0])
        circuit = _decoded(items[0], key, where)
        _check_circuit(circuit, where, max_qubits)
        names = [parameter.name for parameter in circuit.parameters]
        values = decode_parameter_values(items[1] if len(items) > 1 else None, names, where)
    raw_shots = items[2] if len(items) > 2 else None
    shots = (
        default_shots
        if raw_shots is None
        else _check_shots(raw_shots, f"{where}: shots", max_shots)
    )
    return SamplerPubTask(circuit=circuit, parameter_values=values, shots=shots, key=key)


def parse_sampler_params(
    params: object,
    *,
    max_shots: int = DEFAULT_MAX_SHOTS,
    max_qubits: int | None = None,
    max_executions: int = DEFAULT_MAX_EXECUTIONS,
) -> SamplerTask:
    """Validate and decode the ``params`` of a ``program_id: "sampler"`` job.

    Accepts exactly what qiskit-ibm-runtime's SamplerV2 sends, plus OpenQASM text in place of
    an encoded circuit, so a job either runs or fails at once with a reason a person can act on.
    """
    if not isinstance(params, dict):
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"the sampler's params must be an object, not {json_kind(params)}",
            'Send params as {"pubs": [...], "options": {...}, "version": 2}.',
        )
    version = params.get("version")
    if "pubs" not in params and "circuits" in params:
        raise ProgramError(
            CODE_BAD_PARAMS,
            "these params are for the retired Sampler V1 (they hold 'circuits', not 'pubs')",
            "Use qiskit_ibm_runtime.SamplerV2, which sends 'pubs'.",
        )
    if version is not None and version != 2:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"params.version is {json_kind(version)}; this service runs Sampler version 2",
            "Use qiskit_ibm_runtime.SamplerV2, or send version 2.",
        )
    pubs = params.get("pubs")
    if not isinstance(pubs, list) or not pubs:
        found = "an empty array" if pubs == [] else json_kind(pubs)
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"params.pubs must be a non-empty array of pubs, not {found}",
            "Send at least one pub: [circuit, parameter values or null, shots or null].",
        )
    options, default_shots, seed = _parse_options(params.get("options"), max_shots)
    tasks = tuple(
        _parse_pub(pub, f"pub {index}", default_shots, max_shots, max_qubits)
        for index, pub in enumerate(pubs)
    )
    executions = sum(task.num_bindings for task in tasks)
    if executions > max_executions:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"the job asks for {executions} executions (parameter-value sets over all pubs), "
            f"above the limit of {max_executions}",
            "Send fewer parameter-value sets, or split them over several jobs.",
        )
    return SamplerTask(pubs=tasks, options=options, seed_simulator=seed)
