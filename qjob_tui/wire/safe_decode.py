"""Decoding untrusted runtime JSON with qiskit-ibm-runtime's own ``RuntimeDecoder``, safely.

The decoder is the reference for the format, but it is written for trusted input: some of its
types import classes by name and none caps decompression. So the JSON is first read as plain data
and checked: only the value types a primitive's params use, and every zlib payload decompressed
under a size cap, before the decoder sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from qjob_tui.wire.errors import WireError

# A decompressed circuit or array may not exceed this, so a zlib bomb cannot eat the worker.
MAX_DECODED_BYTES = 64 * 1024 * 1024
# The value types that estimator and executor params use (as RuntimeEncoder writes them).
PARAM_TYPES = frozenset(
    {"QuantumCircuit", "ndarray", "ObservablesArray", "BindingsArray", "Parameter", "complex"}
)
_COMPRESSED = frozenset({"QuantumCircuit", "ndarray"})


def containers(value: object) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value``, depth first, without recursion (depth is unbounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            stack.extend(item.values())


def check_typed_values(value: object, allowed: Iterable[str] = PARAM_TYPES) -> None:
    """Refuse unknown ``__type__`` values and oversized zlib payloads anywhere in ``value``."""
    allowed = frozenset(allowed)
    for item in containers(value):
        kind = item.get("__type__")
        if kind is None:
            continue
        if kind not in allowed:
            raise WireError(
                f"values of type {str(kind)[:40]!r} are not accepted here",
                f"Send only {sorted(allowed)}, as qiskit-ibm-runtime's RuntimeEncoder writes them.",
            )
        if kind in _COMPRESSED and isinstance(item.get("__value__"), str):
            check_compressed(item["__value__"], kind)


def check_compressed(text: str, kind: str) -> None:
    """Refuse base64 zlib data that is not that, or that inflates past the cap."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(
            f"a {kind} value is not valid base64",
            "Send the standard base64 of the zlib-compressed data, without line breaks.",
        ) from None
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(raw, MAX_DECODED_BYTES)
    except zlib.error:
        raise WireError(
            f"a {kind} value is not zlib-compressed data",
            "Compress the data with zlib before the base64 step, as RuntimeEncoder does.",
        ) from None
    if inflater.unconsumed_tail:
        raise WireError(
            f"a {kind} value decompresses to more than {MAX_DECODED_BYTES} bytes",
            "Split the work into smaller circuits or jobs.",
        )


def load_object(text: str) -> dict[str, Any]:
    """Params text as plain JSON, which must be an object."""
    try:
        plain = json.loads(text)
    except ValueError as exc:
        raise WireError(f"the params are not valid JSON: {exc}", "Send a JSON object.") from None
    if not isinstance(plain, dict):
        raise WireError("the params must be a JSON object", "Send a JSON object.")
    return plain


def decode_params(text: str, allowed: Iterable[str] = PARAM_TYPES) -> dict[str, Any]:
    """A job's params as qiskit-ibm-runtime objects, after the checks above."""
    check_typed_values(load_object(text), allowed)
    from qiskit_ibm_runtime import RuntimeDecoder

    try:
        decoded = json.loads(text, cls=RuntimeDecoder)
    except Exception as exc:  # the decoder raises whatever its parts raise
        raise WireError(
            f"the params do not decode: {type(exc).__name__}: {str(exc)[:200]}",
            "Encode the params with qiskit-ibm-runtime's RuntimeEncoder.",
        ) from None
    return dict(decoded)


def encode(value: object) -> str:
    """A result as IBM serves it: ``json.dumps(value, cls=RuntimeEncoder)``."""
    from qiskit_ibm_runtime import RuntimeEncoder

    return json.dumps(value, cls=RuntimeEncoder)
