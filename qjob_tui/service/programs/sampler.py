"""The ``sampler`` program: IBM's SamplerV2 job input in, per-register packed bit arrays out.

The params are decoded exactly as qiskit-ibm-runtime's ``RuntimeEncoder`` writes them, so an
unchanged ``SamplerV2`` script can submit to the local service; simple clients may send OpenQASM
text in place of the QPY circuit. Everything a job sends is untrusted, so every problem becomes
a ``ProgramError`` that names the pub and says how to fix it, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import keyword
import math
import os
import re
import struct
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qiskit import qasm2, qasm3, qpy, transpile
from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2

from qjob_tui.service.errors import (
    CODE_BAD_CIRCUIT,
    CODE_BAD_PARAMETER_VALUES,
    CODE_BAD_PARAMS,
    CODE_EXECUTION_FAILED,
    CODE_NO_MEASUREMENTS,
    CODE_TOO_MANY_QUBITS,
    CODE_TOO_MANY_SHOTS,
    CODE_UNSUPPORTED_INSTRUCTION,
    ProgramError,
)

# IBM's default when neither the pub nor ``options.default_shots`` says how many shots.
DEFAULT_SHOTS = 4096
DEFAULT_MAX_SHOTS = 100_000
# Parameter-value sets over all pubs of one job; each is a separate simulator run.
DEFAULT_MAX_EXECUTIONS = 10_000
# A decompressed circuit or array may not exceed this, so a zlib bomb cannot eat the worker.
MAX_DECODED_BYTES = 64 * 1024 * 1024

_QPY_MAGIC = b"QISKIT"
# The only files an OpenQASM program may include: the parsers carry them built in, and any
# other path would read the service's own file system.
_ALLOWED_INCLUDES = frozenset({'"qelib1.inc"', '"stdgates.inc"'})
# Names qiskit's DataBin refuses as fields; a register so named could not be decoded by clients.
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
_QASM_HEADER = re.compile(r"\s*OPENQASM\s+(\d+)")
_QASM_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QASM_INCLUDE = re.compile(r"\binclude\b\s*([^\s;]*)")
_QASM2_LOCATION = re.compile(r"<input>:(\d+),(\d+):\s*(.*)", re.DOTALL)
_QASM3_LOCATION = re.compile(r"\[[^\]\n]*?:(\d+):(\d+)\]")
_QASM3_SNIPPET = re.compile(r"^\s*\d+\s*│(.*)$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CAPTURE_LOCK = threading.Lock()


class SamplerStopped(Exception):
    """Raised by ``run_sampler`` when ``should_stop`` asked it to give up between executions."""


@dataclass(frozen=True, eq=False)
class SamplerPubTask:
    """One decoded pub: a circuit, its parameter-value sets and the shots of each set."""

    circuit: QuantumCircuit
    # Shape ``bindings_shape + (num_parameters,)``, columns in ``circuit.parameters`` order, as
    # ``BindingsArray.as_array(circuit.parameters)`` makes them on the client.
    parameter_values: np.ndarray
    shots: int

    @property
    def bindings_shape(self) -> tuple[int, ...]:
        """The shape of the parameter-value sets; the result's BitArrays lead with it."""
        return tuple(int(n) for n in self.parameter_values.shape[:-1])

    @property
    def num_bindings(self) -> int:
        """How many separate executions the pub needs."""
        return math.prod(self.bindings_shape)


@dataclass(frozen=True, eq=False)
class SamplerTask:
    """A sampler job's decoded params, ready for ``run_sampler``."""

    pubs: tuple[SamplerPubTask, ...]
    options: Mapping[str, Any]
    # ``options.simulator.seed_simulator`` of SamplerV2, used when the service gives no seed.
    seed_simulator: int | None = None


# --- small helpers ---------------------------------------------------------------------------


def _one_line(text: object, limit: int = 300) -> str:
    """A server-safe single line: escapes and control characters gone, whitespace collapsed."""
    line = _CONTROL.sub(" ", _ANSI.sub("", str(text)))
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _json_kind(value: object) -> str:
    """Name a decoded JSON value's type the way the person who wrote the JSON thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_one_line(repr(value), 40)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_fatal(exc: BaseException) -> bool:
    """Exceptions that must never be turned into a job error (Rust panics are not among them)."""
    return isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit)


def _unpack_b64_zlib(value: object, what: str, where: str, code: int) -> bytes:
    """Undo RuntimeEncoder's ``base64(zlib(...))`` with a size cap, saying what was wrong."""
    if not isinstance(value, str):
        raise ProgramError(
            code,
            f"{where}: the {what} must be a base64 string, not {_json_kind(value)}",
            "Encode it as qiskit-ibm-runtime's RuntimeEncoder does (zlib, then base64).",
        )
    try:
        compressed = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProgramError(
            code,
            f"{where}: the {what} is not valid base64",
            "Send the standard base64 of the zlib-compressed data, without line breaks.",
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise ProgramError(
            code,
            f"{where}: the {what} is not zlib-compressed data ({_one_line(exc)})",
            "Compress the data with zlib before the base64 step, as RuntimeEncoder does.",
        ) from None
    if inflater.unconsumed_tail:
        raise ProgramError(
            code,
            f"{where}: the {what} decompresses to more than {MAX_DECODED_BYTES} bytes",
            "Split the work into smaller circuits or jobs.",
        )
    if not inflater.eof:
        raise ProgramError(
            code,
            f"{where}: the {what} is truncated (its zlib stream ends early)",
            "Send the whole encoded value; it may have been cut off on the way.",
        )
    return raw


# --- circuits --------------------------------------------------------------------------------


def _load_qpy(raw: bytes, where: str) -> QuantumCircuit:
    """The first circuit of a QPY payload, with a clear word for each way it can be wrong."""
    solution = "Encode the circuit with qiskit.qpy.dump, as qiskit-ibm-runtime's SamplerV2 does."
    if not raw.startswith(_QPY_MAGIC) or len(raw) < len(_QPY_MAGIC) + 1:
        raise ProgramError(
            CODE_BAD_CIRCUIT, f"{where}: the encoded circuit is not QPY data", solution
        )
    version = raw[len(_QPY_MAGIC)]
    if version > qpy.QPY_VERSION:
        raise ProgramError(
            CODE_BAD_CIRCUIT,
            f"{where}: the circuit is QPY version {version}, newer than the {qpy.QPY_VERSION} "
            "this service's Qiskit reads",
            f"Encode with qiskit.qpy.dump(..., version={qpy.QPY_VERSION}), or upgrade Qiskit on "
            "the service.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            programs = qpy.load(io.BytesIO(raw))
    except BaseException as exc:  # QPY parsing is partly native and may panic
        if _is_fatal(exc):
            raise
        raise ProgramError(
            CODE_BAD_CIRCUIT,
            f"{where}: the QPY circuit could not be loaded: {_one_line(exc)}",
            solution,
        ) from None
    if not programs or not isinstance(programs[0], QuantumCircuit):
        raise ProgramError(
            CODE_BAD_CIRCUIT, f"{where}: the QPY payload holds no QuantumCircuit", solution
        )
    return programs[0]


def _check_includes(text: str, where: str) -> None:
    """Refuse includes of anything but the standard files: the parsers would read server files."""
    for match in _QASM_INCLUDE.finditer(_QASM_COMMENTS.sub(" ", text)):
        target = match.group(1)
        if target not in _ALLOWED_INCLUDES:
            raise ProgramError(
                CODE_BAD_CIRCUIT,
                f"{where}: the program includes {_one_line(target, 60) or 'nothing'}; the service "
                'provides only "qelib1.inc" (OpenQASM 2) and "stdgates.inc" (OpenQASM 3)',
                "Paste the definitions you need into the program instead of including a file.",
            )


def _unquote(text: str) -> str:
    """Text without one pair of quotes around all of it: "'hh' is not defined" keeps its own."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _parse_qasm2(text: str) -> QuantumCircuit | str:
    """The circuit, or the parser's complaint as ``line L, col C: message``."""
    try:
        return qasm2.loads(
            text, include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
        )
    except BaseException as exc:
        if _is_fatal(exc):
            raise
        detail = _unquote(_one_line(exc))
        found = _QASM2_LOCATION.search(detail)
        if found:
            line, col, message = found.groups()
            return f"line {line}, col {int(col) + 1}: {message.strip()}"
        return detail


def _parse_qasm3(text: str) -> QuantumCircuit | str:
    """The circuit, or the parser's complaint as ``line L, col C: message``.

    The native OpenQASM 3 parser prints its errors to the process's stdout and raises only
    "see printed errors", so its output is caught at the file-descriptor level to be reported.
    """
    caught: BaseException | None = None
    printed = ""
    with _CAPTURE_LOCK:
        try:
            saved = (os.dup(1), os.dup(2))
        except OSError:
            saved = None
        with tempfile.TemporaryFile() as sink:
            try:
                if saved is not None:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os.dup2(sink.fileno(), 1)
                    os.dup2(sink.fileno(), 2)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return qasm3.loads_experimental(text, include_path=[])
            except BaseException as exc:
                if _is_fatal(exc):
                    raise
                caught = exc
            finally:
                if saved is not None:
                    os.dup2(saved[0], 1)
                    os.dup2(saved[1], 2)
                    os.close(saved[0])
                    os.close(saved[1])
            sink.seek(0)
            printed = _ANSI.sub("", sink.read(64 * 1024).decode("utf-8", "replace"))
    error = re.search(r"Error:\s*(.+)", printed)
    if error is None:
        return _unquote(_one_line(caught))
    detail = _one_line(error.group(1), 160)
    location = _QASM3_LOCATION.search(printed)
    snippet = _QASM3_SNIPPET.search(printed)
    if snippet and snippet.group(1).strip():
        detail += f" near {_one_line(snippet.group(1).strip(), 60)!r}"
    if location:
        detail = f"line {location.group(1)}, col {location.group(2)}: {detail}"
    return detail


def _load_qasm(text: str, where: str) -> QuantumCircuit:
    """Parse OpenQASM 2 or 3 text, chosen by its header, or tried in that order without one."""
    _check_includes(text, where)
    header = _QASM_HEADER.match(text)
    version = header.group(1) if header else None
    if version == "2":
        parsed = _parse_qasm2(text)
        label = "OpenQASM 2"
    elif version == "3":
        parsed = _parse_qasm3(text)
        label = "OpenQASM 3"
    elif version is not None:
        raise ProgramError(
            CODE_BAD_CIRCUIT,
            f"{where}: OpenQASM version {version} is not supported",
            "Send OpenQASM 2 or 3 text, or a QPY-encoded circuit.",
        )
    else:
        parsed = _parse_qasm2(text)
        if isinstance(parsed, QuantumCircuit):
            return parsed
        as_qasm3 = _parse_qasm3(text)
        if isinstance(as_qasm3, QuantumCircuit):
            return as_qasm3
        raise ProgramError(
            CODE_BAD_CIRCUIT,
            f"{where}: the circuit text is neither OpenQASM 2 ({parsed}) nor OpenQASM 3 "
            f"({as_qasm3})",
            "Start the program with 'OPENQASM 2.0;' or 'OPENQASM 3.0;' and fix the reported line.",
        )
    if isinstance(parsed, QuantumCircuit):
        return parsed
    if parsed.startswith("line "):
        raise ProgramError(
            CODE_BAD_CIRCUIT,
            f"{where}: {label} parse error at {parsed}",
            "Fix the program at the reported line and column.",
        )
    raise ProgramError(
        CODE_BAD_CIRCUIT,
        f"{where}: the {label} program could not be imported: {parsed}",
        "Rewrite the program without the construct named, or send a QPY-encoded circuit.",
    )


def _decode_circuit(obj: object, where: str) -> QuantumCircuit:
    """A pub's circuit from RuntimeEncoder's QPY form or from OpenQASM text."""
    if isinstance(obj, str):
        return _load_qasm(obj, where)
    if isinstance(obj, dict) and obj.get("__type__") == "QuantumCircuit":
        raw = _unpack_b64_zlib(obj.get("__value__"), "encoded circuit", where, CODE_BAD_CIRCUIT)
        return _load_qpy(raw, where)
    if isinstance(obj, dict):
        kind = _one_line(repr(obj.get("__type__")), 40)
        found = f"an object of __type__ {kind}"
    else:
        found = _json_kind(obj)
    raise ProgramError(
        CODE_BAD_CIRCUIT,
        f"{where}: the circuit must be an encoded QuantumCircuit or OpenQASM text, not {found}",
        'Send {"__type__": "QuantumCircuit", "__value__": <base64 zlib QPY>} as SamplerV2 does, '
        "or the OpenQASM program as a string.",
    )


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
        shown = _one_line(repr(name), 40)
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


# --- parameter values and shots --------------------------------------------------------------


def _real_array(value: object, where: str) -> np.ndarray:
    """A float array of finite values, or a ProgramError saying which rule it broke."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "iuf":
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter values must be a rectangular array of real numbers",
            "Send numbers only, with the same length in every row.",
        )
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter values contain NaN or infinity",
            "Send finite numbers only.",
        )
    return array


def _decode_ndarray(value: object, where: str) -> np.ndarray:
    """RuntimeEncoder's ndarray: base64 zlib ``.npy``, or a plain list for object arrays."""
    if isinstance(value, list | int | float) and not isinstance(value, bool):
        return _real_array(value, where)
    raw = _unpack_b64_zlib(value, "parameter-value array", where, CODE_BAD_PARAMETER_VALUES)
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter-value array is not a NumPy .npy array ({_one_line(exc, 120)})",
            "Encode it with numpy.save (no pickled objects), then zlib and base64.",
        ) from None
    if not isinstance(array, np.ndarray):
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter-value array is an archive, not a single .npy array",
            "Encode a single array with numpy.save.",
        )
    return _real_array(array, where)


def _parameter_name(item: object, where: str) -> str:
    """A parameter's name from a BindingsArray key entry: a string or an encoded Parameter."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and item.get("__type__") == "Parameter":
        # QPY's PARAMETER record, uncompressed: name size (uint16), uuid (16 bytes), name.
        try:
            raw = base64.b64decode(item.get("__value__", ""), validate=True)
            (size,) = struct.unpack("!H", raw[:2])
            if len(raw) >= 18 + size:
                return raw[18 : 18 + size].decode("utf-8")
        except (binascii.Error, ValueError, TypeError, struct.error):
            pass
    raise ProgramError(
        CODE_BAD_PARAMETER_VALUES,
        f"{where}: a parameter-value key names {_json_kind(item)}, not a parameter",
        "Key parameter values by parameter name.",
    )


def _key_names(key: str, names: Sequence[str], where: str) -> tuple[list[str], bool]:
    """The parameter names of a dict key, and whether the key is a group (a trailing axis)."""
    if key in names or not key.startswith("["):
        return [key], False
    try:
        decoded = json.loads(key)
    except ValueError:
        return [key], False
    if not isinstance(decoded, list):
        return [key], False
    return [_parameter_name(item, where) for item in decoded], True


def _values_from_mapping(
    data: Mapping[str, object],
    names: Sequence[str],
    where: str,
    declared_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Values given per parameter name (or per group of names) as one array in circuit order."""
    index = {name: i for i, name in enumerate(names)}
    columns: dict[int, np.ndarray] = {}
    shape: tuple[int, ...] | None = None
    for key, value in data.items():
        key_names, grouped = _key_names(key, names, where)
        if isinstance(value, dict) and value.get("__type__") == "ndarray":
            array = _decode_ndarray(value.get("__value__"), where)
        else:
            array = _real_array(value, where)
        if grouped:
            if array.ndim == 0 or array.shape[-1] != len(key_names):
                raise ProgramError(
                    CODE_BAD_PARAMETER_VALUES,
                    f"{where}: the values for {key_names} have shape {array.shape}; their last "
                    f"axis must have length {len(key_names)}, one per parameter",
                    "Give a group of parameters an array whose last axis runs over the group.",
                )
        else:
            array = array[..., None]
        lead = tuple(int(n) for n in array.shape[:-1])
        if shape is None:
            shape = lead
        elif lead != shape:
            raise ProgramError(
                CODE_BAD_PARAMETER_VALUES,
                f"{where}: the values for {_one_line(key, 40)!r} have shape {lead}, but the other "
                f"parameters' values have shape {shape}",
                "Give every parameter the same number of values, in the same shape.",
            )
        for j, name in enumerate(key_names):
            if name not in index:
                raise ProgramError(
                    CODE_BAD_PARAMETER_VALUES,
                    f"{where}: the circuit has no parameter named {_one_line(name, 40)!r}; its "
                    f"parameters are {list(names)}",
                    "Key the values by the circuit's own parameter names.",
                )
            if index[name] in columns:
                raise ProgramError(
                    CODE_BAD_PARAMETER_VALUES,
                    f"{where}: parameter {name!r} is given values twice",
                    "Give each parameter its values once.",
                )
            columns[index[name]] = array[..., j]
    missing = [name for i, name in enumerate(names) if i not in columns]
    if missing:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: no values for parameter(s) {missing}",
            "Give values for every parameter of the circuit.",
        )
    if shape is None:
        shape = declared_shape or ()
    elif declared_shape is not None and declared_shape != shape:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the BindingsArray declares shape {declared_shape}, but its values have "
            f"shape {shape}",
            "Make the declared shape match the values.",
        )
    out = np.empty((*shape, len(names)), dtype=np.float64)
    for i, column in columns.items():
        out[..., i] = column
    return out


def _bindings_array(value: object, names: Sequence[str], where: str) -> np.ndarray:
    """RuntimeEncoder's BindingsArray form: ``{"shape": [...], "data": {json key: values}}``."""
    if not isinstance(value, dict) or not isinstance(value.get("data", {}), dict):
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the BindingsArray must hold an object with 'shape' and 'data'",
            "Encode the BindingsArray as qiskit-ibm-runtime's RuntimeEncoder does.",
        )
    raw_shape = value.get("shape")
    declared = None
    if raw_shape is not None:
        if not isinstance(raw_shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in raw_shape
        ):
            raise ProgramError(
                CODE_BAD_PARAMETER_VALUES,
                f"{where}: the BindingsArray shape must be a list of sizes, not "
                f"{_json_kind(raw_shape)}",
                "Send the shape as a list of non-negative integers.",
            )
        declared = tuple(raw_shape)
    return _values_from_mapping(value.get("data") or {}, names, where, declared)


def _parameter_values(raw: object, circuit: QuantumCircuit, where: str) -> np.ndarray:
    """A pub's parameter values as ``bindings_shape + (num_parameters,)``, circuit order."""
    names = [parameter.name for parameter in circuit.parameters]
    count = len(names)
    if raw is None:
        if count:
            raise ProgramError(
                CODE_BAD_PARAMETER_VALUES,
                f"{where}: the circuit has {count} parameter(s) {names} but the pub gives no "
                "values",
                "Send the values as the pub's second element: an array of shape (..., "
                f"{count}) in the order {names}, or an object of name to values.",
            )
        return np.zeros((0,), dtype=np.float64)
    if isinstance(raw, dict) and raw.get("__type__") == "ndarray":
        array = _decode_ndarray(raw.get("__value__"), where)
    elif isinstance(raw, dict) and raw.get("__type__") == "BindingsArray":
        array = _bindings_array(raw.get("__value__"), names, where)
    elif isinstance(raw, dict) and "__type__" in raw:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: parameter values of __type__ {_one_line(repr(raw['__type__']), 40)} are "
            "not supported",
            "Send an ndarray, a BindingsArray, or an object of parameter name to values.",
        )
    elif isinstance(raw, dict):
        array = _values_from_mapping(raw, names, where)
    else:
        array = _real_array(raw, where)
    if array.ndim == 0 or array.shape[-1] != count:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter values have shape {array.shape}, but the circuit has "
            f"{count} parameter(s) {names}, so the last axis must have length {count}",
            f"Send an array of shape (..., {count}) with columns in the order {names}, or an "
            "object of parameter name to values.",
        )
    if 0 in array.shape[:-1]:
        raise ProgramError(
            CODE_BAD_PARAMETER_VALUES,
            f"{where}: the parameter values have shape {array.shape}, which holds no value sets",
            "Send at least one set of parameter values.",
        )
    return array


def _check_shots(value: object, what: str, max_shots: int) -> int:
    """A positive whole number of shots within the backend's maximum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"{what} must be a positive integer, not {_json_kind(value)}",
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
            f"params.options must be an object, not {_json_kind(options)}",
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
            f"{_json_kind(seed)}",
            "Send a whole number as the seed, or leave it out.",
        )
    return options, default_shots, seed


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
            f"{_json_kind(pub)}",
            "Send each pub as SamplerV2 does: [circuit, parameter values or null, shots or null].",
        )
    if not 1 <= len(items) <= 3:
        raise ProgramError(
            CODE_BAD_PARAMS,
            f"{where} has {len(items)} elements; a sampler pub is [circuit], "
            "[circuit, parameter values] or [circuit, parameter values, shots]",
            "Send at most three elements per pub.",
        )
    circuit = _decode_circuit(items[0], where)
    _check_circuit(circuit, where, max_qubits)
    values = _parameter_values(items[1] if len(items) > 1 else None, circuit, where)
    raw_shots = items[2] if len(items) > 2 else None
    shots = (
        default_shots
        if raw_shots is None
        else _check_shots(raw_shots, f"{where}: shots", max_shots)
    )
    return SamplerPubTask(circuit=circuit, parameter_values=values, shots=shots)


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
            f"the sampler's params must be an object, not {_json_kind(params)}",
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
            f"params.version is {_json_kind(version)}; this service runs Sampler version 2",
            "Use qiskit_ibm_runtime.SamplerV2, or send version 2.",
        )
    pubs = params.get("pubs")
    if not isinstance(pubs, list) or not pubs:
        found = "an empty array" if pubs == [] else _json_kind(pubs)
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


# --- running ---------------------------------------------------------------------------------


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
                circuit, target=backend.target, optimization_level=1, seed_transpiler=seed
            )
    except Exception as exc:
        text = _one_line(exc)
        if _looks_like_qubit_limit(text):
            raise ProgramError(
                CODE_TOO_MANY_QUBITS,
                f"{where}: the circuit does not fit backend {backend.name}: {text}",
                "Use fewer qubits, or choose a larger backend.",
            ) from None
        supported = sorted(backend.target.operation_names)
        shown = ", ".join(supported[:15]) + (", ..." if len(supported) > 15 else "")
        raise ProgramError(
            CODE_UNSUPPORTED_INSTRUCTION,
            f"{where}: the circuit cannot be compiled for backend {backend.name}: {text}",
            f"Use instructions the backend supports ({shown}), or give custom gates a definition.",
        ) from None


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
    options: dict[str, Any] = {"shots": shots}
    if _has_option(backend, "memory"):
        options["memory"] = True
    if seed is not None and _has_option(backend, "seed_simulator"):
        options["seed_simulator"] = seed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = backend.run(circuit, **options).result()
    except Exception as exc:
        raise _execution_error(_one_line(exc), backend, where) from None
    experiment = result.results[0] if result.results else None
    if not result.success or experiment is None or not getattr(experiment, "success", True):
        status = getattr(experiment, "status", None) or getattr(result, "status", "no result")
        raise _execution_error(_one_line(status), backend, where)
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


def pack_register(bits: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """Pack a register's bits as qiskit's ``BitArray`` does.

    ``bits`` has shape ``(..., shots, num_clbits)`` with column k holding clbit k; ``columns``
    lists the register's clbits, lowest first. The result is uint8 ``(..., shots, ceil(n/8))``,
    big-endian: the last byte holds the register's lowest bits, padding sits in the first.
    """
    width = len(columns)
    msb_first = bits[..., list(columns)][..., ::-1]
    padding = (-width) % 8
    if padding:
        zeros = np.zeros((*msb_first.shape[:-1], padding), dtype=bool)
        msb_first = np.concatenate([zeros, msb_first], axis=-1)
    return np.packbits(msb_first, axis=-1, bitorder="big")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def run_sampler(
    task: SamplerTask,
    backend: BackendV2,
    *,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run every pub on a Qiskit backend and return the plain-JSON result for ``result_json``.

    Each parameter-value set is its own simulator run with per-shot memory kept, so the result
    keeps the bindings' shape; ``should_stop`` is asked before each run so a cancel lands soon.
    The returned dict (see ``result_json``) holds per register the packed bytes in base64.
    """
    if seed is None:
        seed = task.seed_simulator
    limit = backend.num_qubits
    pubs: list[dict[str, Any]] = []
    execution = 0
    for index, pub in enumerate(task.pubs):
        where = f"pub {index}"
        if limit is not None and pub.circuit.num_qubits > limit:
            raise ProgramError(
                CODE_TOO_MANY_QUBITS,
                f"{where}: the circuit uses {pub.circuit.num_qubits} qubits, but backend "
                f"{backend.name} has only {limit}",
                f"Use a circuit of at most {limit} qubits, or choose a larger backend.",
            )
        start = _now()
        compiled = _transpile(pub.circuit, backend, seed, where)
        parameters = list(pub.circuit.parameters)
        value_sets = pub.parameter_values.reshape(pub.num_bindings, len(parameters))
        runs: list[np.ndarray] = []
        for values in value_sets:
            if should_stop is not None and should_stop():
                raise SamplerStopped(f"stopped before execution {execution} ({where})")
            bound = compiled
            if parameters:
                binding = dict(zip(parameters, (float(v) for v in values), strict=True))
                bound = compiled.assign_parameters(binding, strict=False)
            run_seed = None if seed is None else (seed + execution) % 2**31
            memory = _outcomes(bound, backend, pub.shots, run_seed, where)
            runs.append(_outcome_bits(memory, compiled.num_clbits, where))
            execution += 1
        bits = np.stack(runs).reshape(*pub.bindings_shape, pub.shots, compiled.num_clbits)
        registers = []
        for register in pub.circuit.cregs:
            columns = [pub.circuit.find_bit(bit).index for bit in register]
            packed = np.ascontiguousarray(pack_register(bits, columns))
            registers.append(
                {
                    "name": register.name,
                    "num_bits": register.size,
                    "packed": base64.standard_b64encode(packed.tobytes()).decode("ascii"),
                }
            )
        metadata = pub.circuit.metadata if isinstance(pub.circuit.metadata, dict) else {}
        pubs.append(
            {
                "shape": list(pub.bindings_shape),
                "shots": pub.shots,
                "registers": registers,
                "metadata": {"shots": pub.shots, "circuit_metadata": metadata},
                "start": start,
                "stop": _now(),
            }
        )
    return {
        "pubs": pubs,
        "metadata": {"version": 2, "backend": backend.name, "seed_simulator": seed},
    }
