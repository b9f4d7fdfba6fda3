"""EstimatorV2 results as the runtime encodes them, decoded for the dashboard with
the wire's own envelope helpers (imported only when a result is read: they need numpy).

``GET /jobs/{id}/results`` of an estimator job is a ``PrimitiveResult`` whose pub results hold a
``DataBin`` with ``evs`` and ``stds`` (RuntimeEncoder: plain numbers for a scalar pub, zlib+base64
``.npy`` arrays otherwise). The text is untrusted: every failure is an ``EstimatorResultError``
with a readable reason, arrays are loaded without pickles and inflated under a size cap.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from qjob_tui.results import EstimatorPubResult, EstimatorResult, Expectation
from qjob_tui.text import one_line
from qjob_tui.wire.envelope import decode_ndarray, plain, value_of
from qjob_tui.wire.errors import Part, ResultDecodeError, WireError

MAX_VALUES = 100_000  # expectation values kept per pub: more cannot be read on a screen anyway


class EstimatorResultError(ResultDecodeError):
    """An estimator result that cannot be read; the message says why."""


def _typed(value: object, *kinds: str) -> Any:
    try:
        return value_of(value, *kinds, where="the result")
    except WireError as exc:
        raise EstimatorResultError(exc.message) from None


def _array(value: object, what: str) -> np.ndarray:
    """A number, a list or a runtime ndarray (inflated under the wire's cap) as floats."""
    if isinstance(value, bool):
        raise EstimatorResultError(f"{what} is not a number")
    if isinstance(value, dict):
        value = _typed(value, "ndarray")
    try:
        array = decode_ndarray(value, "array", what, Part.RESULT)
        if array.dtype.kind not in "iuf":
            raise EstimatorResultError(f"{what} is not an array of real numbers")
        return array.astype(float)
    except WireError as exc:
        raise EstimatorResultError(exc.message) from None
    except (TypeError, ValueError):
        raise EstimatorResultError(f"{what} is not a list of numbers") from None


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
    metadata = plain(payload.get("metadata") or {})
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
        metadata = plain(payload.get("metadata") or {})
        return EstimatorResult(pubs=pubs, metadata=metadata if isinstance(metadata, dict) else {})
    except EstimatorResultError:
        raise
    except Exception as exc:  # whatever else malformed input trips over
        raise EstimatorResultError(
            f"malformed estimator result: {one_line(str(exc), 120)}"
        ) from None
