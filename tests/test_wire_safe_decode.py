"""Untrusted runtime JSON is checked before qiskit-ibm-runtime's decoder sees it."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import RuntimeEncoder

from qjob_tui.wire.estimator import parse_estimator_params
from qjob_tui.wire.safe_decode import (
    MAX_DECODED_BYTES,
    WireError,
    check_typed_values,
    decode_params,
)


def test_the_value_types_of_primitives_decode() -> None:
    circuit = QuantumCircuit(1)
    circuit.h(0)
    text = json.dumps({"pubs": [(circuit, ["Z"], np.zeros(0), 0.1)]}, cls=RuntimeEncoder)
    task = parse_estimator_params(text)
    assert task.pubs[0].circuit == circuit
    assert task.shots() == 100


@pytest.mark.parametrize(
    "value",
    [
        {"__type__": "settings", "__module__": "os", "__class__": "system", "__value__": {}},
        [{"x": {"__type__": "Result", "__value__": {}}}],
        {"__type__": "NoiseModel", "__value__": {}},
    ],
)
def test_other_types_are_refused(value: object) -> None:
    with pytest.raises(WireError, match="not accepted"):
        check_typed_values(value)


def test_a_zlib_bomb_is_refused_before_decoding() -> None:
    bomb = zlib.compress(b"\0" * (MAX_DECODED_BYTES + 1024), 9)
    value = {"__type__": "ndarray", "__value__": base64.b64encode(bomb).decode()}
    with pytest.raises(WireError, match="decompresses to more than"):
        check_typed_values({"pubs": [[value]]})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1, 2]", "JSON object"),
        ("{", "not valid JSON"),
        ('{"a": {"__type__": "ndarray", "__value__": "!!"}}', "not valid base64"),
    ],
)
def test_bad_text_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(WireError, match=words):
        decode_params(text)


def test_an_executor_zlib_bomb_is_refused_before_the_converters() -> None:
    from qjob_tui.wire.executor import parse_executor_params

    bomb = base64.b64encode(zlib.compress(b"\0" * (MAX_DECODED_BYTES + 1024), 9)).decode()
    params = {"schema_version": "v2.0", "quantum_program": {"circuits": {"b64_data": bomb}}}
    with pytest.raises(WireError, match="decompresses to more than"):
        parse_executor_params(json.dumps(params))
