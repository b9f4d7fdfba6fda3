"""RuntimeEncoder's building blocks: typed objects, zlib+base64, ndarrays, plain metadata.

qiskit-ibm-runtime writes non-JSON values as ``{"__type__": kind, "__value__": value}``, bytes
as base64 of zlib, arrays as such ``.npy`` bytes. Everything read here is untrusted: each
problem is a ``WireError`` naming the place (``where``) and the part it belongs to.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zlib
from datetime import date, datetime
from typing import Any

import numpy as np

from qjob_tui.text import one_line
from qjob_tui.wire.errors import ParamsDecodeError, Part, ResultDecodeError, WireError
from qjob_tui.wire.limits import MAX_INFLATED_BYTES

_ENCODE_HINT = "Encode it as qiskit-ibm-runtime's RuntimeEncoder does (zlib, then base64)."


def json_kind(value: object) -> str:
    """Name a decoded JSON value's type the way the person who wrote the JSON thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {one_line(repr(value), 40)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def prefixed(where: str, message: str) -> str:
    """``where: message``, or the message alone when there is no place to name."""
    return f"{where}: {message}" if where else message


def typed(kind: str, value: object) -> dict[str, Any]:
    """A ``{"__type__": kind, "__value__": value}`` object."""
    return {"__type__": kind, "__value__": value}


def value_of(node: object, *kinds: str, where: str, part: Part = Part.RESULT) -> Any:
    """The ``__value__`` of a typed object of one of ``kinds``, or a WireError."""
    if not isinstance(node, dict) or node.get("__type__") not in kinds:
        found = node.get("__type__") if isinstance(node, dict) else json_kind(node)
        raise _error(part, f"{where} is not a {' or '.join(kinds)} (found {one_line(found, 40)})")
    if "__value__" not in node:
        raise _error(part, f"{where}: the {node['__type__']} has no __value__")
    return node["__value__"]


def _error(part: Part, message: str, solution: str = _ENCODE_HINT) -> WireError:
    """The error class of the part: a result, or params (circuits and values)."""
    if part is Part.RESULT:
        return ResultDecodeError(message, solution)
    return ParamsDecodeError(message, solution, part)


def deflate_b64(raw: bytes) -> str:
    """zlib, then standard base64, as RuntimeEncoder packs bytes."""
    return base64.standard_b64encode(zlib.compress(raw)).decode("utf-8")


def inflate_b64(value: object, what: str, where: str, part: Part) -> bytes:
    """Undo RuntimeEncoder's ``base64(zlib(...))`` with a size cap, saying what was wrong."""
    if not isinstance(value, str):
        raise _error(
            part, prefixed(where, f"the {what} must be a base64 string, not {json_kind(value)}")
        )
    try:
        compressed = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _error(
            part,
            prefixed(where, f"the {what} is not valid base64"),
            "Send the standard base64 of the zlib-compressed data, without line breaks.",
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise _error(
            part,
            prefixed(where, f"the {what} is not zlib-compressed data ({one_line(exc, 80)})"),
            "Compress the data with zlib before the base64 step, as RuntimeEncoder does.",
        ) from None
    if inflater.unconsumed_tail:
        raise _error(
            part,
            prefixed(where, f"the {what} decompresses to more than {MAX_INFLATED_BYTES} bytes"),
            "Split the work into smaller circuits or jobs.",
        )
    if not inflater.eof:
        raise _error(
            part,
            prefixed(where, f"the {what} is truncated (its zlib stream ends early)"),
            "Send the whole encoded value; it may have been cut off on the way.",
        )
    return raw


def encode_ndarray(array: np.ndarray) -> dict[str, Any]:
    """A numpy array as RuntimeEncoder writes it: ``.npy`` bytes, zlib, then base64."""
    with io.BytesIO() as buffer:
        np.save(buffer, array, allow_pickle=False)
        return typed("ndarray", deflate_b64(buffer.getvalue()))


def decode_ndarray(value: object, what: str, where: str, part: Part) -> np.ndarray:
    """The ``__value__`` of an ndarray: base64 zlib ``.npy``, or a plain list (object arrays)."""
    if isinstance(value, list | int | float) and not isinstance(value, bool):
        return np.asarray(value)
    raw = inflate_b64(value, what, where, part)
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise _error(
            part,
            prefixed(where, f"the {what} is not a NumPy .npy array ({one_line(exc, 120)})"),
            "Encode it with numpy.save (no pickled objects), then zlib and base64.",
        ) from None
    if not isinstance(array, np.ndarray):
        raise _error(
            part,
            prefixed(where, f"the {what} is an archive, not a single .npy array"),
            "Encode a single array with numpy.save.",
        )
    return array


def plain(value: object) -> object:
    """Metadata with runtime ``__type__`` objects turned into plain Python values."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__type__")
    if kind is None or "__value__" not in value:
        return {str(key): plain(item) for key, item in value.items()}
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
            return decode_ndarray(inner, "metadata array", "", Part.RESULT).tolist()
        except WireError:
            return None
    return plain(inner)


class MetadataEncoder(json.JSONEncoder):
    """Circuit metadata as RuntimeEncoder writes the common non-JSON values inside QPY."""

    def default(self, o: Any) -> Any:
        if isinstance(o, date):
            return typed("datetime", o.isoformat())
        if isinstance(o, complex):
            return typed("complex", [o.real, o.imag])
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return encode_ndarray(o)
        if isinstance(o, set):
            return typed("set", list(o))
        return super().default(o)
