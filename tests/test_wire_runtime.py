"""``qjob_tui.wire`` against qiskit-ibm-runtime's own RuntimeEncoder and RuntimeDecoder, both ways.

Where the runtime defines a shape (ndarray, QuantumCircuit, BitArray, PrimitiveResult), what
wire writes must decode with RuntimeDecoder to the same value, and what RuntimeEncoder writes
must decode with wire to the same value.
"""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives.containers import BitArray, DataBin, PrimitiveResult, SamplerPubResult
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder

from qjob_tui.wire.bit_array import decode_bit_array, encode_bit_array, pack_register
from qjob_tui.wire.circuits import decode_circuit, encode_circuit, load_qasm
from qjob_tui.wire.envelope import decode_ndarray, encode_ndarray
from qjob_tui.wire.errors import ParamsDecodeError, Part
from qjob_tui.wire.sampler_results import (
    decode_sampler_result,
    encode_sampler_result,
    measured_bits,
)


def runtime_encode(value: object) -> object:
    return json.loads(json.dumps(value, cls=RuntimeEncoder))


def runtime_decode(node: object) -> object:
    return json.loads(json.dumps(node), cls=RuntimeDecoder)


def ghz(n: int = 3) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    circuit.metadata = {"name": "ghz", "n": n}
    return circuit


ARRAYS = [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.array([], dtype=np.float64),
    np.array([[1, 2], [3, 4]], dtype=np.uint8),
    np.array([True, False]),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_ndarray_both_ways(array):
    decoded = runtime_decode(encode_ndarray(array))
    assert isinstance(decoded, np.ndarray) and decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded, array)
    node = runtime_encode(array)
    back = decode_ndarray(node["__value__"], "array", "test", Part.VALUES)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_circuit_both_ways():
    circuit = ghz()
    assert runtime_decode(encode_circuit(circuit)) == circuit
    assert decode_circuit(runtime_encode(circuit), "pub 0") == circuit


def test_bit_array_both_ways():
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, size=(2, 50, 11)).astype(bool)
    packed = pack_register(bits, list(range(11)))
    decoded = runtime_decode(encode_bit_array(packed, 11))
    assert isinstance(decoded, BitArray) and decoded.num_bits == 11
    np.testing.assert_array_equal(decoded.array, packed)
    reference = BitArray(packed, 11)
    array, num_bits = decode_bit_array(runtime_encode(reference), "c", (2,))
    assert num_bits == 11
    np.testing.assert_array_equal(array, reference.array)


def _service_result(packed: np.ndarray, num_bits: int, shots: int) -> dict:
    import base64

    return {
        "pubs": [
            {
                "shape": [],
                "shots": shots,
                "registers": [
                    {
                        "name": "meas",
                        "num_bits": num_bits,
                        "packed": base64.standard_b64encode(packed.tobytes()).decode(),
                    }
                ],
                "metadata": {"shots": shots},
                "start": "2026-01-01T00:00:00+00:00",
                "stop": "2026-01-01T00:00:01+00:00",
            }
        ],
        "metadata": {"version": 2},
    }


def test_sampler_result_both_ways():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(64, 5)).astype(bool)
    packed = pack_register(bits, list(range(5)))
    text = encode_sampler_result(_service_result(packed, 5, 64))
    runtime = json.loads(text, cls=RuntimeDecoder)
    assert isinstance(runtime, PrimitiveResult)
    reference = BitArray(packed, 5)
    assert runtime[0].data.meas.get_counts() == reference.get_counts()
    assert dict(decode_sampler_result(text).pubs[0].register("meas").counts) == dict(
        reference.get_counts()
    )
    # And the other way: RuntimeEncoder's PrimitiveResult read by wire.
    encoded = json.dumps(
        PrimitiveResult([SamplerPubResult(DataBin(meas=reference), metadata={"shots": 64})]),
        cls=RuntimeEncoder,
    )
    ours = decode_sampler_result(encoded).pubs[0].register("meas")
    assert dict(ours.counts) == dict(reference.get_counts())
    assert list(ours.bitstrings) == reference.get_bitstrings()
    read = measured_bits(encoded, 10**6)
    assert read.available == 64 * 5
    expected = np.unpackbits(packed, axis=1, bitorder="big")[:, ::-1][:, :5].reshape(-1)
    np.testing.assert_array_equal(read.bits, expected)


def test_bad_qasm3_never_touches_this_process_descriptors(capfd):
    """The native parser's printout comes back as the message, not on fd 1 or 2."""
    before = (os.fstat(1).st_ino, os.fstat(2).st_ino)
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def watch() -> None:  # what a drawing thread would see while the parse runs
        while not stop.is_set():
            seen.append((os.fstat(1).st_ino, os.fstat(2).st_ino))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(ParamsDecodeError) as caught:
            load_qasm("OPENQASM 3.0;\nqubit q;\nbit c\nc = measure q;\n", "pub 0")
    finally:
        stop.set()
        watcher.join()
    assert caught.value.part is Part.CIRCUIT
    assert caught.value.message.startswith("pub 0: OpenQASM 3 parse error at line 3, col")
    assert seen and set(seen) == {before}
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_good_qasm3_comes_back_whole():
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
        "h q[0];\ncx q[0], q[1];\nc = measure q;\n"
    )
    circuit = load_qasm(text, "pub 0")
    assert circuit.num_qubits == 2 and circuit.count_ops() == {"h": 1, "cx": 1, "measure": 2}
