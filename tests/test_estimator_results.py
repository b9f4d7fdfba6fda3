"""Estimator results as qiskit-ibm-runtime's own encoder writes them, decoded for the dashboard."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qiskit.primitives import PrimitiveResult
from qiskit.primitives.containers import DataBin, PubResult
from qiskit_ibm_runtime import RuntimeEncoder

from qjob_tui.ui.detail.estimator_view import estimator_text
from qjob_tui.wire.estimator_results import EstimatorResultError, decode_estimator_result
from qjob_tui.wire.limits import MAX_INFLATED_BYTES


def encoded() -> str:
    result = PrimitiveResult(
        [
            PubResult(
                DataBin(
                    evs=np.array([[0.5, -0.25], [1.0, 0.0]]),
                    stds=np.array([[0.01, 0.02], [0.0, 0.03]]),
                    shape=(2, 2),
                ),
                metadata={"target_precision": 0.015625, "shots": 4096},
            ),
            PubResult(DataBin(evs=np.float64(0.7), stds=np.float64(0.01), shape=())),
        ],
        metadata={"version": 2},
    )
    return json.dumps(result, cls=RuntimeEncoder)


def test_values_and_errors_per_observable() -> None:
    result = decode_estimator_result(encoded())
    first, second = result.pubs
    assert first.shape == (2, 2)
    assert [(v.index, v.value, v.std) for v in first.values] == [
        ((0, 0), 0.5, 0.01),
        ((0, 1), -0.25, 0.02),
        ((1, 0), 1.0, 0.0),
        ((1, 1), 0.0, 0.03),
    ]
    assert first.metadata["shots"] == 4096
    assert second.shape == () and second.values[0].value == 0.7
    text = estimator_text(result).plain
    assert "pub 0 · 4 observables · shape 2x2" in text
    assert "-0.2500    ± 0.0200" in text and "pub 1 · 1 observable · shape scalar" in text
    assert "4,096 shots" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"__type__": "PrimitiveResult", "__value__": {}}', "no list of pub_results"),
        (
            '{"__type__": "PrimitiveResult", "__value__": {"pub_results": [{"__type__": '
            '"PubResult", "__value__": {"data": {"__type__": "DataBin", "__value__": '
            '{"fields": {"x": 1}}}}}]}}',
            "no expectation values",
        ),
        (
            '{"__type__": "PrimitiveResult", "__value__": {"pub_results": [{"__type__": '
            '"PubResult", "__value__": {"data": {"__type__": "DataBin", "__value__": '
            '{"fields": {"evs": {"__type__": "ndarray", "__value__": "!!"}}}}}}]}}',
            "not valid base64",
        ),
        (
            '{"__type__": "PrimitiveResult", "__value__": {"pub_results": [{"__type__": '
            '"PubResult", "__value__": {"data": {"__type__": "DataBin", "__value__": '
            '{"fields": {"evs": [1, 2], "stds": [1]}}}}}]}}',
            "stds have shape",
        ),
    ],
)
def test_malformed_results_say_why(text: str, message: str) -> None:
    with pytest.raises(EstimatorResultError, match=message):
        decode_estimator_result(text)


def test_a_zlib_bomb_is_refused() -> None:
    import base64
    import zlib

    bomb = base64.b64encode(zlib.compress(b"\0" * (MAX_INFLATED_BYTES + 1))).decode()
    text = json.dumps(
        {
            "__type__": "PrimitiveResult",
            "__value__": {
                "pub_results": [
                    {
                        "__type__": "PubResult",
                        "__value__": {
                            "data": {
                                "__type__": "DataBin",
                                "__value__": {
                                    "fields": {"evs": {"__type__": "ndarray", "__value__": bomb}}
                                },
                            }
                        },
                    }
                ]
            },
        }
    )
    with pytest.raises(EstimatorResultError, match="decompresses to more than"):
        decode_estimator_result(text)
