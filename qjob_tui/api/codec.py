"""Sampler job params out, sampler results in: IBM's runtime JSON, without qiskit-ibm-runtime.

IBM Quantum and the local service both speak the JSON that qiskit-ibm-runtime's RuntimeEncoder
writes (``{"__type__": ..., "__value__": ...}`` objects, arrays as base64 zlib ``.npy``,
circuits as base64 zlib QPY). Decoding a result needs numpy alone; Qiskit is imported only
inside the functions that build or read circuits, so the dashboard starts fast. Result text is
untrusted: anything malformed raises ``ResultDecodeError`` with a one-line message.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import re
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from qjob_tui.model import Counts, JobResult, PubResult, RegisterResult

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

# The newest QPY version IBM's service reads (qiskit-ibm-runtime SERVICE_MAX_SUPPORTED_QPY_VERSION).
SERVICE_MAX_SUPPORTED_QPY_VERSION = 17
# Results can be large (shots x parameter sets), but a zlib bomb must not eat the dashboard.
MAX_DECODED_BYTES = 512 * 1024 * 1024

_ALLOWED_INCLUDES = frozenset({'"qelib1.inc"', '"stdgates.inc"'})
_QASM_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QASM_INCLUDE = re.compile(r"\binclude\b\s*([^\s;]*)")
_QASM_HEADER = re.compile(r"\s*OPENQASM\s+(\d+)")
_UNSAFE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x1f\x7f]+")
_CAPTURE_LOCK = threading.Lock()


class CodecError(ValueError):
    """Runtime JSON that cannot be decoded; the message is one line, safe to show."""


class ResultDecodeError(CodecError):
    """A job's result text is not a sampler result this client can read."""


class ParamsDecodeError(CodecError):
    """A job's params hold no circuits this client can read."""


def _one_line(text: object, limit: int = 200) -> str:
    """Untrusted text as one short line, escape sequences and control characters removed."""
    line = " ".join(_UNSAFE.sub(" ", str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- encoding --------------------------------------------------------------------------------


class _MetadataEncoder(json.JSONEncoder):
    """Circuit metadata as RuntimeEncoder writes the common non-JSON values inside QPY."""

    def default(self, o: Any) -> Any:
        if isinstance(o, date):
            return {"__type__": "datetime", "__value__": o.isoformat()}
        if isinstance(o, complex):
            return {"__type__": "complex", "__value__": [o.real, o.imag]}
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return _encode_ndarray(o)
        if isinstance(o, set):
            return {"__type__": "set", "__value__": list(o)}
        return super().default(o)


def _compress_b64(raw: bytes) -> str:
    return base64.standard_b64encode(zlib.compress(raw)).decode("utf-8")


def _encode_ndarray(array: np.ndarray) -> dict[str, Any]:
    """A numpy array as RuntimeEncoder writes it: ``.npy`` bytes, zlib, then base64."""
    with io.BytesIO() as buffer:
        np.save(buffer, array, allow_pickle=False)
        return {"__type__": "ndarray", "__value__": _compress_b64(buffer.getvalue())}


def encode_sampler_params(
    circuits: Sequence[QuantumCircuit | str], shots: int | None = None
) -> dict[str, Any]:
    """The ``params`` SamplerV2 sends for ``run(circuits, shots=shots)``, as plain JSON.

    Circuits go as QPY like RuntimeEncoder writes them; OpenQASM strings go as text, which the
    local service accepts. Without shots the service applies its default (4096 on IBM).
    """
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
        raise ValueError(f"shots must be a positive integer or None, not {shots!r}")
    if isinstance(circuits, str | QuantumCircuit):
        raise TypeError("circuits must be a sequence of circuits, not a single circuit")
    version = min(SERVICE_MAX_SUPPORTED_QPY_VERSION, qpy.QPY_VERSION)
    pubs: list[list[Any]] = []
    for index, circuit in enumerate(circuits):
        if isinstance(circuit, str):
            encoded: Any = circuit
        elif isinstance(circuit, QuantumCircuit):
            if circuit.num_parameters:
                names = [parameter.name for parameter in circuit.parameters]
                raise ValueError(f"circuit {index} has unbound parameters {names}; bind them first")
            with io.BytesIO() as buffer:
                qpy.dump(circuit, buffer, _MetadataEncoder, version=version)
                encoded = {
                    "__type__": "QuantumCircuit",
                    "__value__": _compress_b64(buffer.getvalue()),
                }
        else:
            raise TypeError(
                f"circuit {index} must be a QuantumCircuit or OpenQASM text, "
                f"not {type(circuit).__name__}"
            )
        # SamplerPub's parameter values for a circuit without parameters: an empty float array.
        pubs.append([encoded, _encode_ndarray(np.empty((0,), dtype=np.float64)), shots])
    if not pubs:
        raise ValueError("at least one circuit is needed")
    return {"pubs": pubs, "options": {}, "version": 2, "support_qiskit": True}


# --- decoding helpers ------------------------------------------------------------------------


def _typed(value: object, *kinds: str) -> Any:
    """The ``__value__`` of a ``{"__type__": kind}`` object, or a ResultDecodeError."""
    if not isinstance(value, dict) or value.get("__type__") not in kinds:
        found = value.get("__type__") if isinstance(value, dict) else type(value).__name__
        raise ResultDecodeError(f"expected {' or '.join(kinds)}, found {_one_line(found, 40)}")
    if "__value__" not in value:
        raise ResultDecodeError(f"{value['__type__']} has no __value__")
    return value["__value__"]


def _inflate(text: object, what: str, error: type[CodecError]) -> bytes:
    """Undo base64 then zlib, with a cap on the inflated size."""
    if not isinstance(text, str):
        raise error(f"{what} is {type(text).__name__}, not a base64 string")
    try:
        compressed = base64.b64decode(text, validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise error(f"{what} is not base64 zlib data: {_one_line(exc, 80)}") from None
    if inflater.unconsumed_tail:
        raise error(f"{what} inflates to more than {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise error(f"{what} is truncated")
    return raw


def _decode_ndarray(value: object, what: str) -> np.ndarray:
    payload = _typed(value, "ndarray")
    if isinstance(payload, list | int):
        return np.asarray(payload)
    try:
        array = np.load(io.BytesIO(_inflate(payload, what, ResultDecodeError)), allow_pickle=False)
    except ResultDecodeError:
        raise
    except Exception as exc:
        raise ResultDecodeError(f"{what} is not a .npy array: {_one_line(exc, 80)}") from None
    if not isinstance(array, np.ndarray):
        raise ResultDecodeError(f"{what} is not a single .npy array")
    return array


def _plain(value: object) -> object:
    """Metadata with runtime ``__type__`` objects turned into plain Python values."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__type__")
    if kind is None or "__value__" not in value:
        return {str(key): _plain(item) for key, item in value.items()}
    inner = value["__value__"]
    if kind == "datetime" and isinstance(inner, str):
        try:
            return datetime.fromisoformat(inner)
        except ValueError:
            return inner
    if kind == "complex" and isinstance(inner, list) and len(inner) == 2:
        return complex(*inner)
    if kind == "ndarray":
        try:
            return _decode_ndarray(value, "metadata array").tolist()
        except ResultDecodeError:
            return None
    return _plain(inner)


def _outcomes(array: np.ndarray, num_bits: int) -> tuple[dict[str, int], list[str]]:
    """Counts and per-shot bitstrings, MSB first, exactly as ``BitArray.get_counts`` keys them."""
    rows = array.reshape(-1, array.shape[-1])
    if rows.shape[0] == 0:
        return {}, []
    if rows.shape[1] == 0:
        labels = [bin(0)[2:].zfill(num_bits)]
        inverse = np.zeros(rows.shape[0], dtype=np.intp)
    else:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        mask = (1 << num_bits) - 1
        labels = [
            bin(int.from_bytes(row.tobytes(), "big") & mask)[2:].zfill(num_bits) for row in unique
        ]
    inverse = np.asarray(inverse).reshape(-1)
    counts: dict[str, int] = {}
    for label, count in zip(labels, np.bincount(inverse, minlength=len(labels)), strict=True):
        if count:
            counts[label] = counts.get(label, 0) + int(count)
    return counts, [labels[i] for i in inverse]


def _register(name: str, value: object, shape: tuple[int, ...]) -> RegisterResult:
    """One DataBin field holding a BitArray, checked against the shape the DataBin declares."""
    payload = _typed(value, "BitArray")
    if not isinstance(payload, dict):
        raise ResultDecodeError(f"BitArray {_one_line(name, 40)} is not an object")
    num_bits = payload.get("num_bits")
    if isinstance(num_bits, bool) or not isinstance(num_bits, int) or num_bits < 0:
        raise ResultDecodeError(f"BitArray {_one_line(name, 40)} has a bad num_bits")
    array = _decode_ndarray(payload.get("array"), f"BitArray {_one_line(name, 40)}")
    if array.dtype != np.uint8:
        if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() > 255)):
            raise ResultDecodeError(f"BitArray {_one_line(name, 40)} is not uint8 data")
        array = array.astype(np.uint8)
    num_bytes = (num_bits + 7) // 8
    if array.ndim < 2 or array.shape[-1] != num_bytes or array.shape[: len(shape)] != shape:
        raise ResultDecodeError(
            f"BitArray {_one_line(name, 40)} has shape {array.shape}, expected "
            f"{(*shape, '...', 'shots', num_bytes)}"
        )
    counts, bitstrings = _outcomes(array, num_bits)
    return RegisterResult(
        name=str(name), num_bits=num_bits, counts=Counts(counts), bitstrings=tuple(bitstrings)
    )


def _pub_result(value: object, index: int) -> PubResult:
    payload = _typed(value, "SamplerPubResult", "PubResult")
    if not isinstance(payload, dict):
        raise ResultDecodeError(f"pub result {index} is not an object")
    data = _typed(payload.get("data"), "DataBin")
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ResultDecodeError(f"pub result {index} has a DataBin without fields")
    raw_shape = data.get("shape") or []
    if not isinstance(raw_shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in raw_shape
    ):
        raise ResultDecodeError(f"pub result {index} has a DataBin with a bad shape")
    fields: dict[str, Any] = data["fields"]
    registers = tuple(
        _register(name, field, tuple(raw_shape))
        for name, field in fields.items()
        if isinstance(field, dict) and field.get("__type__") == "BitArray"
    )
    metadata = _plain(payload.get("metadata") or {})
    return PubResult(registers=registers, metadata=metadata if isinstance(metadata, dict) else {})


def decode_sampler_result(text: str | bytes) -> JobResult:
    """Decode ``GET /jobs/{id}/results`` of a sampler job into model objects.

    Reads what IBM's service and the local service write (RuntimeEncoder's ``PrimitiveResult``);
    never raises anything but ``ResultDecodeError``, whatever the text.
    """
    try:
        try:
            document = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ResultDecodeError(f"the result is not valid JSON: {_one_line(exc, 80)}") from None
        if isinstance(document, dict) and "quasi_dists" in document:
            raise ResultDecodeError(
                "this is a Sampler V1 result (quasi_dists), not a SamplerV2 one"
            )
        payload = _typed(document, "PrimitiveResult")
        if not isinstance(payload, dict) or not isinstance(payload.get("pub_results"), list):
            raise ResultDecodeError("the PrimitiveResult has no list of pub_results")
        pubs = tuple(_pub_result(pub, i) for i, pub in enumerate(payload["pub_results"]))
        metadata = _plain(payload.get("metadata") or {})
        return JobResult(pubs=pubs, metadata=metadata if isinstance(metadata, dict) else {})
    except ResultDecodeError:
        raise
    except Exception as exc:  # whatever else malformed input trips over
        raise ResultDecodeError(f"malformed sampler result: {_one_line(exc, 120)}") from None


# --- circuits from params --------------------------------------------------------------------


def _parse_qasm3_quietly(text: str) -> QuantumCircuit:
    """OpenQASM 3 via the native parser, whose error printout must not reach the terminal."""
    from qiskit import qasm3

    with _CAPTURE_LOCK, tempfile.TemporaryFile() as sink:
        try:
            saved = (os.dup(1), os.dup(2))
        except OSError:
            saved = None
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
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            sink.seek(0)
            printed = sink.read(4096).decode("utf-8", "replace")
            found = re.search(r"Error:\s*(.+)", printed)
            detail = found.group(1) if found else str(exc)
            raise ParamsDecodeError(f"OpenQASM 3 parse error: {_one_line(detail, 120)}") from None
        finally:
            if saved is not None:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])


def _circuit_from_text(text: str) -> QuantumCircuit:
    """OpenQASM 2 or 3; includes other than the standard files would read the user's disk."""
    from qiskit import qasm2

    for match in _QASM_INCLUDE.finditer(_QASM_COMMENTS.sub(" ", text)):
        if match.group(1) not in _ALLOWED_INCLUDES:
            raise ParamsDecodeError(f"the OpenQASM text includes {_one_line(match.group(1), 60)}")
    header = _QASM_HEADER.match(text)
    if header is None or header.group(1) == "2":
        try:
            return qasm2.loads(
                text, include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
            )
        except Exception as exc:
            if header is not None:
                raise ParamsDecodeError(f"OpenQASM 2 parse error: {_one_line(exc, 120)}") from None
    return _parse_qasm3_quietly(text)


def _circuit_from_qpy(value: object) -> QuantumCircuit:
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    raw = _inflate(value, "the encoded circuit", ParamsDecodeError)
    if not raw.startswith(b"QISKIT") or len(raw) < 7:
        raise ParamsDecodeError("the encoded circuit is not QPY data")
    if raw[6] > qpy.QPY_VERSION:
        raise ParamsDecodeError(
            f"the circuit is QPY version {raw[6]}, newer than this Qiskit reads "
            f"({qpy.QPY_VERSION}); upgrade Qiskit"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            programs = qpy.load(io.BytesIO(raw))
    except BaseException as exc:  # QPY loading is partly native and may panic
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise ParamsDecodeError(
            f"the QPY circuit cannot be loaded: {_one_line(exc, 120)}"
        ) from None
    if not programs or not isinstance(programs[0], QuantumCircuit):
        raise ParamsDecodeError("the QPY payload holds no circuit")
    return programs[0]


def decode_circuits(params: Mapping[str, Any]) -> list[QuantumCircuit]:
    """The circuits of a primitive job's params (``GET /jobs/{id}`` without exclude_params).

    Each pub's circuit is RuntimeEncoder's QPY form or OpenQASM text. Raises
    ``ParamsDecodeError`` with a one-line message for anything else.
    """
    if not isinstance(params, Mapping):
        raise ParamsDecodeError(f"params must be an object, not {type(params).__name__}")
    pubs = params.get("pubs")
    if not isinstance(pubs, list):
        raise ParamsDecodeError("params hold no list of pubs")
    circuits = []
    for index, pub in enumerate(pubs):
        item = pub[0] if isinstance(pub, list) and pub else pub
        try:
            if isinstance(item, str):
                circuits.append(_circuit_from_text(item))
            elif isinstance(item, dict) and item.get("__type__") == "QuantumCircuit":
                circuits.append(_circuit_from_qpy(item.get("__value__")))
            else:
                raise ParamsDecodeError("it is neither a QPY circuit nor OpenQASM text")
        except ParamsDecodeError as exc:
            raise ParamsDecodeError(f"pub {index}: {exc}") from None
    return circuits
