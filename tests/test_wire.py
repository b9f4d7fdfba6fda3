"""The wire format: SamplerV2 params and runtime results, checked against qiskit-ibm-runtime."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives.containers import BitArray, DataBin, PrimitiveResult, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_ibm_runtime import RuntimeEncoder
from qiskit_ibm_runtime.options import SamplerOptions

from qjob_tui.results import Counts, JobResult
from qjob_tui.service.programs.sampler import parse_sampler_params
from qjob_tui.service.programs.sampler_run import run_sampler
from qjob_tui.wire.circuits import decode_circuits
from qjob_tui.wire.errors import ParamsDecodeError, ResultDecodeError
from qjob_tui.wire.sampler_params import encode_sampler_params
from qjob_tui.wire.sampler_results import decode_sampler_result, encode_sampler_result


def ghz(n: int = 3) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def runtime_params(circuits: list[QuantumCircuit], shots: int | None) -> dict:
    """What SamplerV2.run(circuits, shots=shots) puts in params, via RuntimeEncoder."""
    inputs: dict = {"pubs": [SamplerPub.coerce(circuit, shots) for circuit in circuits]}
    inputs.update(SamplerOptions._get_program_inputs(asdict(SamplerOptions())))
    return json.loads(json.dumps(inputs, cls=RuntimeEncoder))


def runtime_text(result: PrimitiveResult) -> str:
    return json.dumps(result, cls=RuntimeEncoder)


QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n'


# --- encode_sampler_params -------------------------------------------------------------------


@pytest.mark.parametrize("shots", [None, 1, 321])
def test_params_match_runtime_encoder(shots):
    circuit = ghz()
    circuit.metadata = {"name": "ghz", "when": 3}
    circuits = [circuit, ghz(2)]  # built once: each new circuit gets a fresh default name
    ours = encode_sampler_params(circuits, shots)
    theirs = runtime_params(circuits, shots)
    assert ours == theirs
    assert ours["pubs"][0][2] == shots


def test_params_are_plain_json():
    params = encode_sampler_params([ghz(), QASM2], 10)
    assert json.loads(json.dumps(params)) == params
    assert params["pubs"][1][0] == QASM2


def test_params_round_trip_through_the_service_parser():
    circuits = [ghz(), ghz(4)]
    task = parse_sampler_params(encode_sampler_params([*circuits, QASM2], 77))
    assert [pub.shots for pub in task.pubs] == [77, 77, 77]
    assert task.pubs[0].circuit == circuits[0]
    assert task.pubs[1].circuit == circuits[1]
    assert task.pubs[2].circuit.num_qubits == 1
    assert all(pub.bindings_shape == () for pub in task.pubs)


def test_params_without_shots_get_the_service_default():
    task = parse_sampler_params(encode_sampler_params([ghz()], None))
    assert task.pubs[0].shots == 4096


def test_encode_refuses_what_samplerv2_would():
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1)
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    with pytest.raises(ValueError, match="unbound parameters"):
        encode_sampler_params([circuit], 10)
    for shots in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="shots"):
            encode_sampler_params([ghz()], shots)
    with pytest.raises(ValueError, match="at least one"):
        encode_sampler_params([], 10)
    with pytest.raises(TypeError):
        encode_sampler_params([42], 10)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        encode_sampler_params(ghz(), 10)  # type: ignore[arg-type]


# --- decode_sampler_result -------------------------------------------------------------------


def sample_result() -> PrimitiveResult:
    """A result made by qiskit's own classes: bindings shape (2, 3), two registers, 10 bits."""
    rng = np.random.default_rng(5)
    shots = 8
    wide_samples = [int(v) for v in rng.integers(0, 2**10, size=2 * 3 * shots)]
    narrow_samples = [int(v) for v in rng.integers(0, 4, size=2 * 3 * shots)]
    wide = BitArray.from_samples(wide_samples, 10).reshape(2, 3, shots)
    narrow = BitArray.from_samples(narrow_samples, 2).reshape(2, 3, shots)
    first = SamplerPubResult(
        DataBin(wide=wide, narrow=narrow, shape=(2, 3)), metadata={"shots": shots}
    )
    single = BitArray.from_samples(["101", "101", "000"], 3)
    second = SamplerPubResult(DataBin(meas=single, shape=()), metadata={"circuit_metadata": {}})
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return PrimitiveResult([first, second], metadata={"version": 2, "started": started})


def test_decodes_runtime_encoder_output_like_bitarray():
    expected = sample_result()
    decoded = decode_sampler_result(runtime_text(expected))

    assert isinstance(decoded, JobResult)
    assert len(decoded.pubs) == 2
    first = decoded.pubs[0]
    assert [register.name for register in first.registers] == ["wide", "narrow"]
    for name in ("wide", "narrow"):
        bits = getattr(expected[0].data, name)
        register = first.register(name)
        assert isinstance(register.counts, Counts)
        assert dict(register.counts) == bits.get_counts()
        assert list(register.bitstrings) == bits.get_bitstrings()  # C order over bindings
        assert register.num_bits == bits.num_bits
        assert register.shots == 48
    assert first.metadata == {"shots": 8}
    assert dict(decoded.pubs[1].register("meas").counts) == {"101": 2, "000": 1}
    assert decoded.pubs[1].register("meas").bitstrings == ("101", "101", "000")
    assert decoded.metadata["version"] == 2
    assert decoded.metadata["started"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_counts_mask_padding_bits_like_bitarray():
    # A producer that leaves junk in the padding bits: BitArray ignores them, so must we.
    array = np.array([[0b11111101], [0b00000101], [0b10000000]], dtype=np.uint8)
    bits = BitArray(array, 3)
    decoded = decode_sampler_result(
        runtime_text(PrimitiveResult([SamplerPubResult(DataBin(c=bits))]))
    )
    assert dict(decoded.pubs[0].register("c").counts) == bits.get_counts() == {"101": 2, "000": 1}


def test_decodes_what_the_local_service_writes():
    task = parse_sampler_params(encode_sampler_params([ghz()], 300))
    text = encode_sampler_result(run_sampler(task, BasicSimulator(), seed=3))
    decoded = decode_sampler_result(text)
    register = decoded.pubs[0].register("meas")
    assert set(register.counts) == {"000", "111"}
    assert register.shots == 300
    assert len(register.bitstrings) == 300
    assert decoded.pubs[0].metadata["shots"] == 300
    span = decoded.metadata["execution"]["execution_spans"]["spans"][0]
    assert isinstance(span["start"], datetime) and span["start"] <= span["stop"]


def test_accepts_bytes_and_plain_pub_result():
    bits = BitArray.from_samples(["1", "0", "1"], 1)
    text = runtime_text(PrimitiveResult([SamplerPubResult(DataBin(c=bits))]))
    text = text.replace('"SamplerPubResult"', '"PubResult"')
    decoded = decode_sampler_result(text.encode())
    assert dict(decoded.pubs[0].register("c").counts) == {"1": 2, "0": 1}


def good_text() -> str:
    return runtime_text(sample_result())


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 500, -300, -20, -1])
def test_truncated_text_raises_result_decode_error(cut):
    text = good_text()
    with pytest.raises(ResultDecodeError):
        decode_sampler_result(text[:cut])


def bad_bitarray(**changes: object) -> str:
    document = json.loads(runtime_text(sample_result()))
    field = document["__value__"]["pub_results"][1]["__value__"]["data"]["__value__"]
    field["fields"]["meas"]["__value__"].update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        "42",
        "[]",
        "{}",
        '"PrimitiveResult"',
        '{"__type__": "PrimitiveResult"}',
        '{"__type__": "PrimitiveResult", "__value__": {"pub_results": 3}}',
        '{"__type__": "PrimitiveResult", "__value__": {"pub_results": [1]}}',
        '{"__type__": "PrimitiveResult", "__value__": {"pub_results": [{"__type__": "X"}]}}',
        '{"quasi_dists": [{"0": 1.0}], "metadata": [{}]}',
        "[" * 100_000 + "]" * 100_000,
        "\ud800",
        b"\xff\xfe\x00garbage",
        bad_bitarray(num_bits=9),
        bad_bitarray(num_bits=-1),
        bad_bitarray(num_bits="3"),
        bad_bitarray(num_bits=True),
        bad_bitarray(array={"__type__": "ndarray", "__value__": "@@@"}),
        bad_bitarray(array={"__type__": "ndarray", "__value__": "aGVsbG8="}),
        bad_bitarray(array={"__type__": "ndarray", "__value__": "eJzLSM3JyQcABiwCFQ=="}),
        bad_bitarray(array={"__type__": "ndarray", "__value__": [1, 2, 3]}),
        bad_bitarray(array={"__type__": "ndarray", "__value__": [[[300]]]}),
        bad_bitarray(array=None),
    ],
)
def test_garbage_raises_result_decode_error(text):
    with pytest.raises(ResultDecodeError) as caught:
        decode_sampler_result(text)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_non_text_input_raises_result_decode_error():
    with pytest.raises(ResultDecodeError):
        decode_sampler_result(None)  # type: ignore[arg-type]


def test_databin_shape_must_lead_the_arrays():
    document = json.loads(good_text())
    document["__value__"]["pub_results"][0]["__value__"]["data"]["__value__"]["shape"] = [3, 2]
    with pytest.raises(ResultDecodeError, match="shape"):
        decode_sampler_result(json.dumps(document))


def test_random_corruption_never_raises_anything_else():
    text = good_text()
    rng = random.Random(20261122)
    alphabet = '{}[]":,0123456789abcdefXYZ_ \\'
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        try:
            decode_sampler_result("".join(chars))
            outcomes["ok"] += 1
        except ResultDecodeError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0


# --- decode_circuits -------------------------------------------------------------------------


def test_decode_circuits_from_runtime_params():
    circuits = [ghz(), ghz(2)]
    assert decode_circuits(runtime_params(circuits, 10)) == circuits


def test_decode_circuits_with_parameters_and_text():
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1)
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    params = json.loads(
        json.dumps({"pubs": [SamplerPub.coerce((circuit, [[0.1], [0.2]]), 5)]}, cls=RuntimeEncoder)
    )
    params["pubs"].append([QASM2, None, 5])
    params["pubs"].append("OPENQASM 3.0;\nqubit q;\nbit c;\nc = measure q;\n")
    decoded = decode_circuits(params)
    assert decoded[0] == circuit
    assert decoded[1].num_qubits == 1 and decoded[2].num_clbits == 1


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([], "params must be an object"),
        ({}, "no list of pubs"),
        ({"pubs": [[5]]}, "pub 0: the circuit must be an encoded QuantumCircuit"),
        ({"pubs": [[{"__type__": "QuantumCircuit", "__value__": "@@"}]]}, "pub 0: the encoded"),
        ({"pubs": [[{"__type__": "QuantumCircuit", "__value__": "eJwrSS0uAQAEXQHB"}]]}, "not QPY"),
        ({"pubs": [["OPENQASM 2.0;\nqreg q[1]\n"]]}, "OpenQASM 2 parse error"),
        ({"pubs": [["OPENQASM 3.0;\nqubit q\n"]]}, "OpenQASM 3 parse error"),
        ({"pubs": [['OPENQASM 3.0;\ninclude "/etc/hostname";\n']]}, "includes"),
    ],
)
def test_decode_circuits_rejects_bad_params(params, fragment, capfd):
    with pytest.raises(ParamsDecodeError) as caught:
        decode_circuits(params)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # nothing may scribble on the dashboard's terminal


# --- module boundaries -----------------------------------------------------------------------


def imported_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_wire_imports_neither_qiskit_nor_the_service():
    modules = imported_after(
        "import qjob_tui.wire.sampler_results, qjob_tui.wire.sampler_params, "
        "qjob_tui.wire.circuits, qjob_tui.wire.extractor"
    )
    assert "qiskit" not in modules
    assert "qiskit_ibm_runtime" not in modules
    assert not any(name.startswith("qjob_tui.service") for name in modules)


def test_decoding_a_result_needs_no_qiskit():
    text = good_text()
    code = (
        "import sys\nfrom qjob_tui.wire.sampler_results import decode_sampler_result\n"
        "r = decode_sampler_result(sys.stdin.read())\n"
        "print(len(r.pubs), 'qiskit' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["2", "False"]


def test_service_programs_do_not_import_the_client_or_runtime():
    modules = imported_after(
        "import qjob_tui.service.programs.sampler, qjob_tui.service.programs.sampler_run"
    )
    assert not any(name.startswith("qjob_tui.api") for name in modules)
    assert "qiskit_ibm_runtime" not in modules
