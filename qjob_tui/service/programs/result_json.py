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
``shape + [shots, ceil(num_bits / 8)]``. ``measured_bits`` reads a stored result back, for
programs such as the random extractor that take another job's bits as their input.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
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


# --- reading a stored result back --------------------------------------------------------------

# A stored result is the service's own output, but a damaged or hand-edited database must still
# fail the reading job with a message, not fill a worker's memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class MeasuredBits:
    """Every bit a sampler job measured, flattened, and how many there were in all."""

    bits: np.ndarray
    available: int


def _value(node: object, kind: str, where: str) -> Any:
    """The ``__value__`` of a ``{"__type__": kind}`` object, or ValueError naming the place."""
    if not isinstance(node, dict) or node.get("__type__") != kind or "__value__" not in node:
        raise ValueError(f"{where} is not a {kind}")
    return node["__value__"]


def _decode_bit_array(node: object, where: str) -> tuple[np.ndarray, int]:
    """A BitArray's packed uint8 array ``(..., shots, bytes)`` and its number of bits."""
    payload = _value(node, "BitArray", where)
    if not isinstance(payload, dict):
        raise ValueError(f"{where} is not an object")
    num_bits = payload.get("num_bits")
    if isinstance(num_bits, bool) or not isinstance(num_bits, int) or num_bits < 0:
        raise ValueError(f"{where} has no valid num_bits")
    encoded = _value(payload.get("array"), "ndarray", where)
    if not isinstance(encoded, str):
        raise ValueError(f"{where} holds no encoded array")
    inflater = zlib.decompressobj()
    raw = inflater.decompress(base64.b64decode(encoded, validate=True), MAX_INFLATED_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"{where} is truncated or larger than {MAX_INFLATED_BYTES} bytes")
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim < 2:
        raise ValueError(f"{where} is not a packed uint8 bit array")
    if array.shape[-1] != (num_bits + 7) // 8:
        raise ValueError(f"{where} has {array.shape[-1]} bytes per shot for {num_bits} bits")
    return array, num_bits


def _unpack(array: np.ndarray, num_bits: int, limit: int) -> np.ndarray:
    """At most ``limit`` bits of a packed BitArray, per shot register bit 0 first.

    BitArray packs big-endian (the last byte holds bits 0..7), so the unpacked row is
    reversed to put bit 0 first; ``limit`` whole rows are unpacked, not the whole array.
    """
    rows = array.reshape(-1, array.shape[-1])
    rows = rows[: -(-limit // max(num_bits, 1))]
    unpacked = np.unpackbits(rows, axis=1, bitorder="big")[:, ::-1][:, :num_bits]
    return np.ascontiguousarray(unpacked).reshape(-1)[:limit]


def measured_bits(text: str, max_bits: int) -> MeasuredBits:
    """The bits a sampler job measured, read from its stored result text.

    Order: pubs in order, then each pub's registers in order, then parameter bindings and
    shots (C order), and within one shot the register's bit 0 first. At most ``max_bits``
    are returned; ``available`` counts them all. Raises ValueError on anything malformed.
    """
    try:
        document = json.loads(text)
        payload = _value(document, "PrimitiveResult", "the result")
        pubs = payload.get("pub_results") if isinstance(payload, dict) else None
        if not isinstance(pubs, list):
            raise ValueError("the result has no list of pub results")
        chunks: list[np.ndarray] = []
        taken = available = 0
        for index, pub in enumerate(pubs):
            pub_payload = _value(pub, "SamplerPubResult", f"pub result {index}")
            if not isinstance(pub_payload, dict):
                raise ValueError(f"pub result {index} is not an object")
            data = _value(pub_payload.get("data"), "DataBin", f"pub result {index}'s data")
            fields = data.get("fields") if isinstance(data, dict) else None
            if not isinstance(fields, dict):
                raise ValueError(f"pub result {index} has no registers")
            for name, node in fields.items():
                array, num_bits = _decode_bit_array(node, f"register {name!r} of pub {index}")
                count = math.prod(array.shape[:-1]) * num_bits
                available += count
                if taken < max_bits and count:
                    chunk = _unpack(array, num_bits, max_bits - taken)
                    chunks.append(chunk)
                    taken += chunk.size
    except ValueError:
        raise
    except Exception as exc:  # a damaged result must be reported, whatever it trips over
        raise ValueError(f"the result cannot be read: {type(exc).__name__}: {exc}") from None
    bits = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)
    return MeasuredBits(bits=bits, available=available)
