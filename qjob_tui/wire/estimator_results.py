"""EstimatorV2 results as the runtime encodes them, decoded with numpy alone for the dashboard.

``GET /jobs/{id}/results`` of an estimator job is a ``PrimitiveResult`` whose pub results hold a
``DataBin`` with ``evs`` and ``stds`` (RuntimeEncoder: plain numbers for a scalar pub, zlib+base64
``.npy`` arrays otherwise). The text is untrusted: every failure is an ``EstimatorResultError``
with a readable reason, arrays are loaded without pickles and inflated under a size cap.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import zlib
from typing import Any

import numpy as np

from qjob_tui.model import EstimatorPubResult, EstimatorResult, Expectation
from qjob_tui.text import one_line

MAX_DECODED_BYTES = 64 * 1024 * 1024
MAX_VALUES = 100_000  # expectation values kept per pub: more cannot be read on a screen anyway


class EstimatorResultError(ValueError):
    """An estimator result that cannot be read; the message says why."""


def _typed(value: object, *kinds: str) -> Any:
    if not isinstance(value, dict) or value.get("__type__") not in kinds:
        found = value.get("__type__") if isinstance(value, dict) else type(value).__name__
        raise EstimatorResultError(
            f"expected {' or '.join(kinds)}, found {one_line(str(found), 40)}"
        )
    if "__value__" not in value:
        raise EstimatorResultError(f"{value['__type__']} has no __value__")
    return value["__value__"]


def _array(value: object, what: str) -> np.ndarray:
    """A number, a list or a runtime ndarray as a float array."""
    if isinstance(value, bool):
        raise EstimatorResultError(f"{what} is not a number")
    if isinstance(value, int | float):
        return np.asarray(float(value))
    if isinstance(value, list):
        try:
            return np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise EstimatorResultError(f"{what} is not a list of numbers") from None
    payload = _typed(value, "ndarray")
    if isinstance(payload, list | int | float):
        return _array(payload, what)
    if not isinstance(payload, str):
        raise EstimatorResultError(f"{what} is not base64 data")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(payload, validate=True), MAX_DECODED_BYTES)
    except (binascii.Error, ValueError, zlib.error) as exc:
        message = f"{what} is not base64 zlib data: {one_line(str(exc), 80)}"
        raise EstimatorResultError(message) from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise EstimatorResultError(f"{what} is truncated or too large")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise EstimatorResultError(
            f"{what} is not a .npy array: {one_line(str(exc), 80)}"
        ) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise EstimatorResultError(f"{what} is not an array of real numbers")
    return array.astype(float)


def _plain(value: object) -> object:
    """Metadata without runtime ``__type__`` wrappers (their values kept as they are)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        if "__type__" in value and "__value__" in value:
            return _plain(value["__value__"]) if value["__type__"] != "ndarray" else None
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _pub(value: object, index: int) -> EstimatorPubResult:
    payload = _typed(value, "PubResult", "EstimatorPubResult")
    if not isinstance(payload, dict):
        raise EstimatorResultError(f"pub result {index} is not an object")
    data = _typed(payload.get("data"), "DataBin")
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict) or "evs" not in fields:
        raise EstimatorResultError(f"pub result {index} has no expectation values (evs)")
    evs = _array(fields["evs"], f"pub {index} evs")
    stds = _array(fields["stds"], f"pub {index} stds") if "stds" in fields else None
    if stds is not None and stds.shape != evs.shape:
        raise EstimatorResultError(f"pub {index}: stds have shape {stds.shape}, evs {evs.shape}")
    if evs.size > MAX_VALUES:
        raise EstimatorResultError(f"pub {index} has {evs.size:,} values, more than {MAX_VALUES:,}")
    values = []
    for where in np.ndindex(evs.shape):
        value = float(evs[where])
        std = float(stds[where]) if stds is not None else None
        values.append(
            Expectation(
                tuple(int(i) for i in where),
                value,
                std if std is not None and math.isfinite(std) else None,
            )
        )
    metadata = _plain(payload.get("metadata") or {})
    return EstimatorPubResult(
        shape=tuple(int(n) for n in evs.shape),
        values=tuple(values),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def decode_estimator_result(text: str | bytes) -> EstimatorResult:
    """Decode an estimator job's result; raises only ``EstimatorResultError``."""
    try:
        try:
            document = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise EstimatorResultError(
                f"the result is not valid JSON: {one_line(str(exc), 80)}"
            ) from None
        payload = _typed(document, "PrimitiveResult")
        if not isinstance(payload, dict) or not isinstance(payload.get("pub_results"), list):
            raise EstimatorResultError("the PrimitiveResult has no list of pub_results")
        pubs = tuple(_pub(pub, i) for i, pub in enumerate(payload["pub_results"]))
        metadata = _plain(payload.get("metadata") or {})
        return EstimatorResult(pubs=pubs, metadata=metadata if isinstance(metadata, dict) else {})
    except EstimatorResultError:
        raise
    except Exception as exc:  # whatever else malformed input trips over
        raise EstimatorResultError(
            f"malformed estimator result: {one_line(str(exc), 120)}"
        ) from None
