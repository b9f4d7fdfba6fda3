"""The JSON text of a sampler result, in the shape qiskit-ibm-runtime's RuntimeDecoder reads.

IBM serves ``GET /jobs/{id}/results`` as ``json.dumps(PrimitiveResult, cls=RuntimeEncoder)``, so
an unchanged ``job.result()`` gets a ``PrimitiveResult`` of ``SamplerPubResult``s whose ``DataBin``
holds one ``BitArray`` per classical register. This module writes that same shape without
importing qiskit-ibm-runtime, which the service does not depend on.

Its input is the plain dict ``run_sampler`` returns (JSON-able, so it can be stored as is)::

    {"pubs": [{"shape": [2, 3], "shots": 100,
               "registers": [{"name": "c", "num_bits": 3, "packed": "<base64 of uint8 bytes>"}],
               "metadata": {"shots": 100, "circuit_metadata": {}},
               "start": "<ISO time>", "stop": "<ISO time>"}],
     "metadata": {"version": 2, ...}}

``packed`` is the C-order bytes of the register's BitArray array, of shape
``shape + [shots, ceil(num_bits / 8)]``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np


def encode_ndarray(array: np.ndarray) -> dict[str, Any]:
    """A numpy array as RuntimeEncoder writes it: ``.npy`` bytes, zlib, then base64."""
    with io.BytesIO() as buffer:
        np.save(buffer, array, allow_pickle=False)
        raw = buffer.getvalue()
    value = base64.standard_b64encode(zlib.compress(raw)).decode("utf-8")
    return {"__type__": "ndarray", "__value__": value}


def _typed(kind: str, value: object) -> dict[str, Any]:
    return {"__type__": kind, "__value__": value}


def _bit_array(register: Mapping[str, Any], shape: list[int], shots: int) -> dict[str, Any]:
    """One register's BitArray, its packed bytes checked against the shape they must fill."""
    num_bits = int(register["num_bits"])
    num_bytes = (num_bits + 7) // 8
    raw = base64.b64decode(register["packed"], validate=True)
    full_shape = (*shape, shots, num_bytes)
    if len(raw) != math.prod(full_shape):
        raise ValueError(
            f"register {register['name']!r} holds {len(raw)} bytes, not the "
            f"{math.prod(full_shape)} of shape {full_shape}"
        )
    array = np.frombuffer(raw, dtype=np.uint8).reshape(full_shape)
    return _typed("BitArray", {"array": encode_ndarray(array), "num_bits": num_bits})


def _pub_result(pub: Mapping[str, Any]) -> dict[str, Any]:
    shape = [int(n) for n in pub["shape"]]
    shots = int(pub["shots"])
    fields = {reg["name"]: _bit_array(reg, shape, shots) for reg in pub["registers"]}
    data = _typed("DataBin", {"field_names": list(fields), "shape": shape, "fields": fields})
    return _typed("SamplerPubResult", {"data": data, "metadata": dict(pub.get("metadata", {}))})


def _execution_spans(pubs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """When each pub ran, as IBM reports it: one slice span over each pub's flattened data."""
    spans = []
    for index, pub in enumerate(pubs):
        if not pub.get("start") or not pub.get("stop"):
            continue
        data_shape = [*(int(n) for n in pub["shape"]), int(pub["shots"])]
        span = {
            "start": _typed("datetime", pub["start"]),
            "stop": _typed("datetime", pub["stop"]),
            "data_slices": {str(index): [data_shape, 0, math.prod(data_shape)]},
        }
        spans.append(_typed("ExecutionSpan", span))
    return _typed("ExecutionSpans", {"spans": spans})


def encode_sampler_result(result: Mapping[str, Any]) -> str:
    """The ``GET /jobs/{id}/results`` text of a sampler job, from ``run_sampler``'s dict.

    Raises ValueError if the dict is inconsistent (packed bytes that do not fill their shape),
    since serving such a result would fail only later, inside the client.
    """
    pubs = list(result["pubs"])
    metadata = dict(result.get("metadata", {}))
    metadata.setdefault("version", 2)
    metadata["execution"] = {"execution_spans": _execution_spans(pubs)}
    body = {"pub_results": [_pub_result(pub) for pub in pubs], "metadata": metadata}
    return json.dumps(_typed("PrimitiveResult", body))
