"""Sampler params on the wire: what SamplerV2 sends, written by the client, read by the service.

``{"pubs": [[circuit, parameter values, shots], ...], "options": {...}, "version": 2}``, each
circuit in RuntimeEncoder's QPY form (or OpenQASM text, which the local service accepts), the
values as an ndarray, a BindingsArray or an object of parameter name to values.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qjob_tui.text import one_line
from qjob_tui.wire.envelope import decode_ndarray, encode_ndarray, json_kind, prefixed
from qjob_tui.wire.errors import ParamsDecodeError, Part

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit


def encode_sampler_params(
    circuits: Sequence[QuantumCircuit | str], shots: int | None = None
) -> dict[str, Any]:
    """The ``params`` SamplerV2 sends for ``run(circuits, shots=shots)``, as plain JSON.

    Circuits go as QPY like RuntimeEncoder writes them; OpenQASM strings go as text, which the
    local service accepts. Without shots the service applies its default (4096 on IBM).
    """
    from qiskit.circuit import QuantumCircuit

    from qjob_tui.wire.circuits import encode_circuit

    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
        raise ValueError(f"shots must be a positive integer or None, not {shots!r}")
    if isinstance(circuits, str | QuantumCircuit):
        raise TypeError("circuits must be a sequence of circuits, not a single circuit")
    pubs: list[list[Any]] = []
    for index, circuit in enumerate(circuits):
        if isinstance(circuit, str):
            encoded: Any = circuit
        elif isinstance(circuit, QuantumCircuit):
            if circuit.num_parameters:
                names = [parameter.name for parameter in circuit.parameters]
                raise ValueError(f"circuit {index} has unbound parameters {names}; bind them first")
            encoded = encode_circuit(circuit)
        else:
            raise TypeError(
                f"circuit {index} must be a QuantumCircuit or OpenQASM text, "
                f"not {type(circuit).__name__}"
            )
        # SamplerPub's parameter values for a circuit without parameters: an empty float array.
        pubs.append([encoded, encode_ndarray(np.empty((0,), dtype=np.float64)), shots])
    if not pubs:
        raise ValueError("at least one circuit is needed")
    return {"pubs": pubs, "options": {}, "version": 2, "support_qiskit": True}


# --- reading parameter values ----------------------------------------------------------------


def _values_error(where: str, message: str, solution: str) -> ParamsDecodeError:
    return ParamsDecodeError(prefixed(where, message), solution, Part.VALUES)


def real_array(value: object, where: str) -> np.ndarray:
    """A float array of finite values, or an error saying which rule it broke."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "iuf":
        raise _values_error(
            where,
            "the parameter values must be a rectangular array of real numbers",
            "Send numbers only, with the same length in every row.",
        )
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise _values_error(
            where, "the parameter values contain NaN or infinity", "Send finite numbers only."
        )
    return array


def _values_ndarray(value: object, where: str) -> np.ndarray:
    return real_array(decode_ndarray(value, "parameter-value array", where, Part.VALUES), where)


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
    raise _values_error(
        where,
        f"a parameter-value key names {json_kind(item)}, not a parameter",
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


def _key_values(
    key: str, value: object, names: Sequence[str], where: str
) -> tuple[list[str], np.ndarray]:
    """One mapping entry as ``(parameter names, array whose last axis runs over them)``."""
    key_names, grouped = _key_names(key, names, where)
    if isinstance(value, dict) and value.get("__type__") == "ndarray":
        array = _values_ndarray(value.get("__value__"), where)
    else:
        array = real_array(value, where)
    if not grouped:
        return key_names, array[..., None]
    if array.ndim == 0 or array.shape[-1] != len(key_names):
        raise _values_error(
            where,
            f"the values for {key_names} have shape {array.shape}; their last axis must have "
            f"length {len(key_names)}, one per parameter",
            "Give a group of parameters an array whose last axis runs over the group.",
        )
    return key_names, array


def _columns(
    data: Mapping[str, object], names: Sequence[str], where: str
) -> tuple[dict[int, np.ndarray], tuple[int, ...] | None]:
    """Each parameter's values by its index in ``names``, and the shape they share."""
    index = {name: i for i, name in enumerate(names)}
    columns: dict[int, np.ndarray] = {}
    shape: tuple[int, ...] | None = None
    for key, value in data.items():
        key_names, array = _key_values(key, value, names, where)
        lead = tuple(int(n) for n in array.shape[:-1])
        if shape is None:
            shape = lead
        elif lead != shape:
            raise _values_error(
                where,
                f"the values for {one_line(key, 40)!r} have shape {lead}, but the other "
                f"parameters' values have shape {shape}",
                "Give every parameter the same number of values, in the same shape.",
            )
        for j, name in enumerate(key_names):
            if name not in index:
                raise _values_error(
                    where,
                    f"the circuit has no parameter named {one_line(name, 40)!r}; its "
                    f"parameters are {list(names)}",
                    "Key the values by the circuit's own parameter names.",
                )
            if index[name] in columns:
                raise _values_error(
                    where,
                    f"parameter {name!r} is given values twice",
                    "Give each parameter its values once.",
                )
            columns[index[name]] = array[..., j]
    return columns, shape


def _values_from_mapping(
    data: Mapping[str, object],
    names: Sequence[str],
    where: str,
    declared_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Values given per parameter name (or per group of names) as one array in circuit order."""
    columns, shape = _columns(data, names, where)
    missing = [name for i, name in enumerate(names) if i not in columns]
    if missing:
        raise _values_error(
            where,
            f"no values for parameter(s) {missing}",
            "Give values for every parameter of the circuit.",
        )
    if shape is None:
        shape = declared_shape or ()
    elif declared_shape is not None and declared_shape != shape:
        raise _values_error(
            where,
            f"the BindingsArray declares shape {declared_shape}, but its values have shape {shape}",
            "Make the declared shape match the values.",
        )
    out = np.empty((*shape, len(names)), dtype=np.float64)
    for i, column in columns.items():
        out[..., i] = column
    return out


def _bindings_array(value: object, names: Sequence[str], where: str) -> np.ndarray:
    """RuntimeEncoder's BindingsArray form: ``{"shape": [...], "data": {json key: values}}``."""
    if not isinstance(value, dict) or not isinstance(value.get("data", {}), dict):
        raise _values_error(
            where,
            "the BindingsArray must hold an object with 'shape' and 'data'",
            "Encode the BindingsArray as qiskit-ibm-runtime's RuntimeEncoder does.",
        )
    raw_shape = value.get("shape")
    declared = None
    if raw_shape is not None:
        if not isinstance(raw_shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in raw_shape
        ):
            raise _values_error(
                where,
                f"the BindingsArray shape must be a list of sizes, not {json_kind(raw_shape)}",
                "Send the shape as a list of non-negative integers.",
            )
        declared = tuple(raw_shape)
    return _values_from_mapping(value.get("data") or {}, names, where, declared)


def decode_parameter_values(raw: object, names: Sequence[str], where: str) -> np.ndarray:
    """A pub's parameter values as ``bindings_shape + (len(names),)``, columns in ``names`` order.

    ``names`` are the circuit's parameters in ``circuit.parameters`` order, as
    ``BindingsArray.as_array(circuit.parameters)`` lays them out on the client.
    """
    count = len(names)
    names = list(names)
    if raw is None:
        if count:
            raise _values_error(
                where,
                f"the circuit has {count} parameter(s) {names} but the pub gives no values",
                "Send the values as the pub's second element: an array of shape (..., "
                f"{count}) in the order {names}, or an object of name to values.",
            )
        return np.zeros((0,), dtype=np.float64)
    if isinstance(raw, dict) and raw.get("__type__") == "ndarray":
        array = _values_ndarray(raw.get("__value__"), where)
    elif isinstance(raw, dict) and raw.get("__type__") == "BindingsArray":
        array = _bindings_array(raw.get("__value__"), names, where)
    elif isinstance(raw, dict) and "__type__" in raw:
        raise _values_error(
            where,
            f"parameter values of __type__ {one_line(repr(raw['__type__']), 40)} are not supported",
            "Send an ndarray, a BindingsArray, or an object of parameter name to values.",
        )
    elif isinstance(raw, dict):
        array = _values_from_mapping(raw, names, where)
    else:
        array = real_array(raw, where)
    if array.ndim == 0 or array.shape[-1] != count:
        raise _values_error(
            where,
            f"the parameter values have shape {array.shape}, but the circuit has {count} "
            f"parameter(s) {names}, so the last axis must have length {count}",
            f"Send an array of shape (..., {count}) with columns in the order {names}, or an "
            "object of parameter name to values.",
        )
    if 0 in array.shape[:-1]:
        raise _values_error(
            where,
            f"the parameter values have shape {array.shape}, which holds no value sets",
            "Send at least one set of parameter values.",
        )
    return array
