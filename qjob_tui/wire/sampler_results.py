"""Sampler results on the wire: ``PrimitiveResult`` of ``SamplerPubResult``s, both ways.

IBM serves ``GET /jobs/{id}/results`` as ``json.dumps(PrimitiveResult, cls=RuntimeEncoder)``:
a ``DataBin`` per pub holding one ``BitArray`` per classical register. The service writes it
from the plain dict its sampler returns (JSON-able, so it can be stored as is)::

    {"pubs": [{"shape": [2, 3], "shots": 100,
               "registers": [{"name": "c", "num_bits": 3, "packed": "<base64 of uint8 bytes>"}],
               "metadata": {"shots": 100, "circuit_metadata": {}},
               "start": "<ISO time>", "stop": "<ISO time>"}],
     "metadata": {"version": 2, ...}}

``packed`` is the C-order bytes of the register's BitArray array, of shape
``shape + [shots, ceil(num_bits / 8)]``. The client reads a result into model objects; the
extractor reads the measured bits back. Result text is untrusted: anything malformed is a
``ResultDecodeError`` with a one-line message.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qjob_tui.results import Counts, JobResult, PubResult, RegisterResult
from qjob_tui.text import one_line
from qjob_tui.wire.bit_array import (
    counts_and_bitstrings,
    decode_bit_array,
    encode_bit_array,
    register_label,
    unpack_bits,
)
from qjob_tui.wire.envelope import plain, typed, value_of
from qjob_tui.wire.errors import ResultDecodeError

# --- writing (the service) -------------------------------------------------------------------


def _bit_array(register: Mapping[str, Any], shape: list[int], shots: int) -> dict[str, Any]:
    """One register's BitArray, its packed bytes checked against the shape they must fill."""
    num_bits = int(register["num_bits"])
    raw = base64.b64decode(register["packed"], validate=True)
    full_shape = (*shape, shots, (num_bits + 7) // 8)
    if len(raw) != math.prod(full_shape):
        raise ValueError(
            f"register {register['name']!r} holds {len(raw)} bytes, not the "
            f"{math.prod(full_shape)} of shape {full_shape}"
        )
    return encode_bit_array(np.frombuffer(raw, dtype=np.uint8).reshape(full_shape), num_bits)


def _encode_pub(pub: Mapping[str, Any]) -> dict[str, Any]:
    shape = [int(n) for n in pub["shape"]]
    shots = int(pub["shots"])
    fields = {reg["name"]: _bit_array(reg, shape, shots) for reg in pub["registers"]}
    data = typed("DataBin", {"field_names": list(fields), "shape": shape, "fields": fields})
    return typed("SamplerPubResult", {"data": data, "metadata": dict(pub.get("metadata", {}))})


def _execution_spans(pubs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """When each pub ran, as IBM reports it: one slice span over each pub's flattened data."""
    spans = []
    for index, pub in enumerate(pubs):
        if not pub.get("start") or not pub.get("stop"):
            continue
        data_shape = [*(int(n) for n in pub["shape"]), int(pub["shots"])]
        span = {
            "start": typed("datetime", pub["start"]),
            "stop": typed("datetime", pub["stop"]),
            "data_slices": {str(index): [data_shape, 0, math.prod(data_shape)]},
        }
        spans.append(typed("ExecutionSpan", span))
    return typed("ExecutionSpans", {"spans": spans})


def encode_sampler_result(result: Mapping[str, Any]) -> str:
    """The ``GET /jobs/{id}/results`` text of a sampler job, from the sampler's plain dict.

    Raises ValueError if the dict is inconsistent (packed bytes that do not fill their shape),
    since serving such a result would fail only later, inside the client.
    """
    pubs = list(result["pubs"])
    metadata = dict(result.get("metadata", {}))
    metadata.setdefault("version", 2)
    metadata["execution"] = {"execution_spans": _execution_spans(pubs)}
    body = {"pub_results": [_encode_pub(pub) for pub in pubs], "metadata": metadata}
    return json.dumps(typed("PrimitiveResult", body))


# --- reading (the client, and the extractor's raw jobs) --------------------------------------


def _pub_fields(value: object, index: int) -> tuple[dict[str, Any], tuple[int, ...], object]:
    """A SamplerPubResult's DataBin fields, the DataBin's shape and the pub's metadata."""
    payload = value_of(value, "SamplerPubResult", "PubResult", where=f"pub result {index}")
    if not isinstance(payload, dict):
        raise ResultDecodeError(f"pub result {index} is not an object")
    data = value_of(payload.get("data"), "DataBin", where=f"pub result {index}'s data")
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ResultDecodeError(f"pub result {index} has a DataBin without fields")
    raw_shape = data.get("shape") or []
    if not isinstance(raw_shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in raw_shape
    ):
        raise ResultDecodeError(f"pub result {index} has a DataBin with a bad shape")
    return data["fields"], tuple(raw_shape), payload.get("metadata")


def _pub_results(text: str | bytes) -> list[object]:
    """The ``pub_results`` list of a PrimitiveResult's JSON text."""
    try:
        document = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ResultDecodeError(f"the result is not valid JSON: {one_line(exc, 80)}") from None
    if isinstance(document, dict) and "quasi_dists" in document:
        raise ResultDecodeError("this is a Sampler V1 result (quasi_dists), not a SamplerV2 one")
    payload = value_of(document, "PrimitiveResult", where="the result")
    if not isinstance(payload, dict) or not isinstance(payload.get("pub_results"), list):
        raise ResultDecodeError("the PrimitiveResult has no list of pub_results")
    return [*payload["pub_results"], payload.get("metadata")]


def _register(name: str, node: object, shape: tuple[int, ...]) -> RegisterResult:
    array, num_bits = decode_bit_array(node, register_label(name), shape)
    counts, bitstrings = counts_and_bitstrings(array, num_bits)
    return RegisterResult(
        name=str(name), num_bits=num_bits, counts=Counts(counts), bitstrings=tuple(bitstrings)
    )


def _decode_pub(value: object, index: int) -> PubResult:
    fields, shape, raw_metadata = _pub_fields(value, index)
    registers = tuple(
        _register(name, field, shape)
        for name, field in fields.items()
        if isinstance(field, dict) and field.get("__type__") == "BitArray"
    )
    metadata = plain(raw_metadata or {})
    return PubResult(registers=registers, metadata=metadata if isinstance(metadata, dict) else {})


def decode_sampler_result(text: str | bytes) -> JobResult:
    """Decode ``GET /jobs/{id}/results`` of a sampler job into model objects.

    Reads what IBM's service and the local service write (RuntimeEncoder's ``PrimitiveResult``);
    never raises anything but ``ResultDecodeError``, whatever the text.
    """
    try:
        *pubs, raw_metadata = _pub_results(text)
        decoded = tuple(_decode_pub(pub, index) for index, pub in enumerate(pubs))
        metadata = plain(raw_metadata or {})
        return JobResult(pubs=decoded, metadata=metadata if isinstance(metadata, dict) else {})
    except ResultDecodeError:
        raise
    except Exception as exc:  # whatever else malformed input trips over
        raise ResultDecodeError(f"malformed sampler result: {one_line(exc, 120)}") from None


@dataclass(frozen=True)
class MeasuredBits:
    """Every bit a sampler job measured, flattened, and how many there were in all."""

    bits: np.ndarray
    available: int


def measured_bits(text: str | bytes, max_bits: int) -> MeasuredBits:
    """The bits a sampler job measured, read from its result text.

    Order: pubs in order, then each pub's registers in order, then parameter bindings and
    shots (C order), and within one shot the register's bit 0 first. At most ``max_bits``
    are returned; ``available`` counts them all. Raises ResultDecodeError on anything malformed.
    """
    chunks: list[np.ndarray] = []
    taken = available = 0
    try:
        *pubs, _ = _pub_results(text)
        for index, pub in enumerate(pubs):
            fields, _, _ = _pub_fields(pub, index)
            for name, node in fields.items():
                where = f"register {one_line(repr(name), 40)} of pub {index}"
                array, num_bits = decode_bit_array(node, where)
                count = math.prod(array.shape[:-1]) * num_bits
                available += count
                if taken < max_bits and count:
                    chunk = unpack_bits(array, num_bits, max_bits - taken)
                    chunks.append(chunk)
                    taken += chunk.size
    except ResultDecodeError:
        raise
    except Exception as exc:  # a damaged result must be reported, whatever it trips over
        raise ResultDecodeError(
            f"the result cannot be read: {type(exc).__name__}: {one_line(exc, 120)}"
        ) from None
    bits = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)
    return MeasuredBits(bits=bits, available=available)
