"""The local service's sampler program: SamplerV2's params in, RuntimeDecoder-readable JSON out."""

from __future__ import annotations

import base64
import io
import json
import math
import warnings
import zlib

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qpy, transpile
from qiskit.circuit import Parameter
from qiskit.primitives.containers import BitArray, PrimitiveResult, SamplerPubResult
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder, SamplerV2

from qjob_tui.service.errors import (
    CODE_BAD_CIRCUIT,
    CODE_BAD_PARAMETER_VALUES,
    CODE_BAD_PARAMS,
    CODE_NO_MEASUREMENTS,
    CODE_TOO_MANY_QUBITS,
    CODE_TOO_MANY_SHOTS,
    CODE_UNSUPPORTED_INSTRUCTION,
    ProgramError,
)
from qjob_tui.service.programs.sampler import DEFAULT_SHOTS, parse_sampler_params
from qjob_tui.service.programs.sampler_run import SamplerStopped, run_sampler
from qjob_tui.wire.bit_array import pack_register
from qjob_tui.wire.sampler_results import decode_sampler_result, encode_sampler_result

SEED = 1234


class _RecordingService:
    """Stands in for QiskitRuntimeService: keeps what SamplerV2.run would POST as params."""

    def __init__(self) -> None:
        self.inputs: dict | None = None

    def _run(self, **kwargs: object) -> str:
        self.inputs = kwargs["inputs"]  # type: ignore[assignment]
        return "job"


def samplerv2_params(pubs: list, shots: int | None = None, **options: object) -> dict:
    """The exact params SamplerV2.run sends, through its own code and RuntimeEncoder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = SamplerV2(mode=AerSimulator())
        for name, value in options.items():
            setattr(sampler.options, name, value)
        recorder = _RecordingService()
        sampler._service = recorder
        sampler.run(pubs, shots=shots)
    assert recorder.inputs is not None
    # The REST layer sends json.dumps({"params": inputs, ...}, cls=RuntimeEncoder).
    return json.loads(json.dumps(recorder.inputs, cls=RuntimeEncoder))


def ghz(n: int = 3) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def runtime_decode(text: str) -> PrimitiveResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return json.loads(text, cls=RuntimeDecoder)


def run_to_text(params: dict, backend: object = None, **kwargs: object) -> str:
    task = parse_sampler_params(params)
    result = run_sampler(task, backend or BasicSimulator(), seed=SEED, **kwargs)
    return encode_sampler_result(result)


def errors_of(params: object, **kwargs: object) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        parse_sampler_params(params, **kwargs)
    return caught.value


def qasm_pub(text: str, shots: int | None = None) -> dict:
    return {"pubs": [[text, None, shots]], "version": 2}


def b64(raw: bytes) -> str:
    return base64.standard_b64encode(raw).decode()


# --- the SamplerV2 path end to end -----------------------------------------------------------


@pytest.mark.parametrize("backend_factory", [BasicSimulator, AerSimulator])
def test_ghz_from_samplerv2_decodes_with_runtime_decoder(backend_factory):
    params = samplerv2_params([ghz()], shots=500)
    assert params["pubs"][0][0]["__type__"] == "QuantumCircuit"
    assert params["pubs"][0][1]["__type__"] == "ndarray"
    assert params["pubs"][0][2] == 500
    assert params["version"] == 2 and params["support_qiskit"] is True

    text = run_to_text(params, backend_factory())
    result = runtime_decode(text)

    assert isinstance(result, PrimitiveResult)
    assert len(result) == 1
    pub = result[0]
    assert isinstance(pub, SamplerPubResult)
    assert isinstance(pub.data.meas, BitArray)
    counts = pub.data.meas.get_counts()
    assert set(counts) <= {"000", "111"}
    assert set(counts) == {"000", "111"}  # 500 shots of a fair coin hit both
    assert sum(counts.values()) == 500
    assert pub.metadata["shots"] == 500
    assert pub.metadata["circuit_metadata"] == {}
    assert result.metadata["version"] == 2
    spans = result.metadata["execution"]["execution_spans"]
    assert spans.pub_idxs == [0] and spans[0].size == 500

    ours = decode_sampler_result(text)
    register = ours.pubs[0].register("meas")
    assert dict(register.counts) == counts
    assert list(register.bitstrings) == pub.data.meas.get_bitstrings()
    assert register.num_bits == 3


def test_generic_device_backend_runs_transpiled_and_noisy():
    backend = GenericBackendV2(5, seed=11)
    text = run_to_text(samplerv2_params([ghz()], shots=400), backend)
    counts = runtime_decode(text)[0].data.meas.get_counts()
    assert sum(counts.values()) == 400
    assert counts.get("000", 0) + counts.get("111", 0) > 300  # noise flips only a few


def test_same_seed_same_samples_and_other_seed_differs():
    task = parse_sampler_params(samplerv2_params([ghz()], shots=200))
    first = run_sampler(task, AerSimulator(), seed=7)
    second = run_sampler(task, AerSimulator(), seed=7)
    third = run_sampler(task, AerSimulator(), seed=8)
    packed = [r["pubs"][0]["registers"][0]["packed"] for r in (first, second, third)]
    assert packed[0] == packed[1]
    assert packed[0] != packed[2]


def test_seed_from_options_simulator_is_used():
    params = samplerv2_params([ghz()], shots=100, simulator={"seed_simulator": 99})
    task = parse_sampler_params(params)
    assert task.seed_simulator == 99
    a = run_sampler(task, AerSimulator())
    b = run_sampler(task, AerSimulator(), seed=99)
    assert a["pubs"][0]["registers"] == b["pubs"][0]["registers"]


def test_default_shots_option_and_per_pub_shots():
    params = samplerv2_params([ghz(), (ghz(), None, 7)], default_shots=33)
    assert params["options"] == {"default_shots": 33}
    task = parse_sampler_params(params)
    assert [pub.shots for pub in task.pubs] == [33, 7]


def test_ibm_default_shots_without_any():
    task = parse_sampler_params(samplerv2_params([ghz()]))
    assert task.pubs[0].shots == DEFAULT_SHOTS == 4096


def test_bare_circuit_pub_and_single_element_pub():
    encoded = samplerv2_params([ghz()])["pubs"][0][0]
    task = parse_sampler_params({"pubs": [encoded, [encoded]]})
    assert [pub.bindings_shape for pub in task.pubs] == [(), ()]
    assert all(pub.num_bindings == 1 for pub in task.pubs)


# --- OpenQASM text ---------------------------------------------------------------------------

QASM2_BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""

QASM3_X = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
x q[0];
x q[2];
c = measure q;
"""


def test_qasm2_text_pub():
    text = run_to_text(qasm_pub(QASM2_BELL, 300))
    counts = runtime_decode(text)[0].data.c.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 300


def test_qasm3_text_pub():
    text = run_to_text(qasm_pub(QASM3_X, 20))
    assert runtime_decode(text)[0].data.c.get_counts() == {"101": 20}
    assert dict(decode_sampler_result(text).pubs[0].register("c").counts) == {"101": 20}


def test_qasm_without_header_tries_2_then_3():
    qasm3_body = QASM3_X.replace("OPENQASM 3.0;\n", "")
    task = parse_sampler_params(qasm_pub(qasm3_body, 5))
    assert task.pubs[0].circuit.num_qubits == 3


def test_qasm3_construct_the_importer_lacks_is_reported_on_one_line():
    text = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
"""
    error = errors_of(qasm_pub(text))
    assert error.code == CODE_BAD_CIRCUIT
    assert error.message.startswith("pub 0: the OpenQASM 3 program could not be imported: ")
    assert "InputDeclaration" in error.message
    assert "\n" not in error.message


# --- parameters and registers ----------------------------------------------------------------


def two_parameter_circuit() -> QuantumCircuit:
    # Created b before a: circuit.parameters sorts by name, so the order is a, b.
    b, a = Parameter("b"), Parameter("a")
    circuit = QuantumCircuit(2, 2)
    circuit.rx(b, 1)
    circuit.rx(a, 0)
    circuit.measure([0, 1], [0, 1])
    return circuit


def expected_bits(a: float, b: float) -> str:
    return f"{int(b > 1)}{int(a > 1)}"  # c[1] (qubit 1, angle b) is the leftmost bit


def test_parameterized_circuit_with_2d_bindings():
    circuit = two_parameter_circuit()
    pi = math.pi
    a = np.array([[0.0, pi, 0.0], [pi, pi, 0.0]])
    b = np.array([[0.0, 0.0, pi], [pi, 0.0, pi]])
    params = samplerv2_params([(circuit, {"a": a, "b": b}, 16)])
    assert params["pubs"][0][1]["__type__"] == "ndarray"

    task = parse_sampler_params(params)
    assert task.pubs[0].bindings_shape == (2, 3)
    assert task.pubs[0].num_bindings == 6
    text = encode_sampler_result(run_sampler(task, AerSimulator(), seed=SEED))

    bits = runtime_decode(text)[0].data.c
    assert bits.shape == (2, 3) and bits.num_shots == 16
    for i in range(2):
        for j in range(3):
            assert bits.get_counts((i, j)) == {expected_bits(a[i, j], b[i, j]): 16}

    register = decode_sampler_result(text).pubs[0].register("c")
    flat = [expected_bits(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True)]
    assert register.bitstrings == tuple(s for s in flat for _ in range(16))  # C order
    assert register.shots == 6 * 16


def test_parameter_values_as_dict_and_as_bindings_array():
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    by_name = {"pubs": [[encoded, {"a": [0.0, math.pi], "b": [math.pi, math.pi]}, 4]]}
    bindings = BindingsArray({("a", "b"): np.array([[0.0, math.pi], [math.pi, math.pi]])})
    as_array = {"pubs": [[encoded, json.loads(json.dumps(bindings, cls=RuntimeEncoder)), 4]]}
    for params in (by_name, as_array):
        task = parse_sampler_params(params)
        np.testing.assert_allclose(
            task.pubs[0].parameter_values, [[0, math.pi], [math.pi, math.pi]]
        )
        bits = runtime_decode(run_to_text(params))[0].data.c
        assert bits.get_counts(0) == {"10": 4}
        assert bits.get_counts(1) == {"11": 4}


def test_multiple_registers_and_multibyte_register():
    wide = QuantumRegister(12, "q")
    first = ClassicalRegister(2, "alpha")
    second = ClassicalRegister(10, "beta")
    circuit = QuantumCircuit(wide, first, second)
    for q in (1, 2, 9, 11):
        circuit.x(q)
    circuit.measure(wide[0:2], first)
    circuit.measure(wide[2:12], second)
    text = run_to_text(samplerv2_params([circuit], shots=6))
    data = runtime_decode(text)[0].data

    assert list(data) == ["alpha", "beta"]
    assert data.alpha.get_counts() == {"10": 6}
    # beta[0] = q2, beta[7] = q9, beta[9] = q11.
    beta = "1010000001"
    assert data.beta.get_counts() == {beta: 6}
    assert data.beta.array.shape == (6, 2)
    np.testing.assert_array_equal(data.beta.array, BitArray.from_samples([beta] * 6, 10).array)

    ours = decode_sampler_result(text).pubs[0]
    assert [r.name for r in ours.registers] == ["alpha", "beta"]
    assert dict(ours.register("beta").counts) == {beta: 6}


@pytest.mark.parametrize("num_bits", [1, 5, 8, 9, 17])
def test_pack_register_matches_bitarray_from_samples(num_bits):
    rng = np.random.default_rng(num_bits)
    samples = [int(v) for v in rng.integers(0, 2**num_bits, size=50)]
    clbits = np.array([[(v >> k) & 1 for k in range(num_bits)] for v in samples], dtype=bool)
    packed = pack_register(clbits, list(range(num_bits)))
    np.testing.assert_array_equal(packed, BitArray.from_samples(samples, num_bits).array)


def test_pack_register_picks_the_register_columns():
    # clbits: 0 1 2 3; the register is clbits 3 and 1, lowest first.
    clbits = np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=bool)
    packed = pack_register(clbits, [3, 1])
    assert BitArray(packed, 2).get_bitstrings() == ["01", "10"]


def test_circuit_metadata_is_kept():
    circuit = ghz()
    circuit.metadata = {"experiment": "ghz", "n": 3}
    text = run_to_text(samplerv2_params([circuit], shots=10))
    assert runtime_decode(text)[0].metadata["circuit_metadata"] == {"experiment": "ghz", "n": 3}


# --- stopping --------------------------------------------------------------------------------


def test_should_stop_stops_between_executions():
    circuit = two_parameter_circuit()
    params = samplerv2_params([(circuit, np.zeros((5, 2)), 3)])
    task = parse_sampler_params(params)
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(SamplerStopped):
        run_sampler(task, BasicSimulator(), seed=SEED, should_stop=should_stop)
    assert len(calls) == 3  # two executions ran, the third was never started


def test_should_stop_false_runs_everything():
    task = parse_sampler_params(samplerv2_params([(two_parameter_circuit(), np.zeros((4, 2)), 2)]))
    calls = []
    result = run_sampler(task, BasicSimulator(), should_stop=lambda: calls.append(1) is not None)
    assert len(calls) == 4
    assert result["pubs"][0]["shape"] == [4]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [None, [1, 2], "pubs", 3])
def test_params_not_an_object(params):
    error = errors_of(params)
    assert error.code == CODE_BAD_PARAMS
    assert "must be an object" in error.message
    assert error.solution


@pytest.mark.parametrize("params", [{}, {"pubs": []}, {"pubs": None}, {"pubs": {"a": 1}}])
def test_no_pubs(params):
    error = errors_of(params)
    assert error.code == CODE_BAD_PARAMS
    assert "params.pubs must be a non-empty array" in error.message


def test_sampler_v1_params_are_named():
    error = errors_of({"circuits": [], "parameters": []})
    assert error.code == CODE_BAD_PARAMS and "Sampler V1" in error.message


def test_pub_of_wrong_length():
    encoded = samplerv2_params([ghz()])["pubs"][0][0]
    error = errors_of({"pubs": [[encoded, None, 10, "extra"]]})
    assert error.code == CODE_BAD_PARAMS and "pub 0 has 4 elements" in error.message


def circuit_value(raw: bytes, compress: bool = True) -> dict:
    data = zlib.compress(raw) if compress else raw
    return {"__type__": "QuantumCircuit", "__value__": b64(data)}


def qpy_bytes(circuit: QuantumCircuit) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"__type__": "QuantumCircuit", "__value__": "@@not base64@@"}, "not valid base64"),
        ({"__type__": "QuantumCircuit", "__value__": 42}, "must be a base64 string"),
        (circuit_value(b"plain bytes", compress=False), "not zlib-compressed"),
        (circuit_value(b"these bytes are not QPY"), "not QPY data"),
        (
            {
                "__type__": "QuantumCircuit",
                "__value__": b64(zlib.compress(qpy_bytes(ghz()))[:-10]),
            },
            "truncated",
        ),
        (circuit_value(qpy_bytes(ghz())[:40]), "could not be loaded"),
        (circuit_value(b"QISKIT\xff" + qpy_bytes(ghz())[7:]), "QPY version 255"),
        ({"__type__": "Instruction", "__value__": ""}, "must be an encoded QuantumCircuit"),
        (12, "must be an encoded QuantumCircuit or OpenQASM text"),
    ],
)
def test_bad_encoded_circuit(value, fragment):
    error = errors_of({"pubs": [[value, None, 10]]})
    assert error.code == CODE_BAD_CIRCUIT
    assert error.message.startswith("pub 0: ")
    assert fragment in error.message
    assert error.solution


def test_second_pub_is_named():
    good = samplerv2_params([ghz()])["pubs"][0]
    error = errors_of({"pubs": [good, [circuit_value(b"junk")]]})
    assert error.message.startswith("pub 1: ")


def test_qasm2_parse_error_names_line_and_column():
    broken = QASM2_BELL.replace("h q[0];", "hh q[0];")
    error = errors_of(qasm_pub(broken))
    assert error.code == CODE_BAD_CIRCUIT
    assert error.message.startswith("pub 0: OpenQASM 2 parse error at line 5, col 1:")
    assert "'hh' is not defined" in error.message  # the parser's own quotes are kept
    assert "\n" not in error.message


def test_qasm3_parse_error_names_line_and_column(capfd):
    broken = QASM3_X.replace("bit[3] c;", "bit[3] c")
    error = errors_of(qasm_pub(broken))
    assert error.code == CODE_BAD_CIRCUIT
    assert error.message.startswith("pub 0: OpenQASM 3 parse error at line 4, col 9: ")
    assert "\n" not in error.message
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the parser's printout was caught, not leaked


def test_text_that_is_no_qasm_at_all():
    error = errors_of(qasm_pub("print('hello')"))
    assert error.code == CODE_BAD_CIRCUIT
    assert "neither OpenQASM 2" in error.message and "nor OpenQASM 3" in error.message


@pytest.mark.parametrize(
    "include",
    ['include "/etc/hostname";', "include '/etc/hostname';", 'include "other.inc";'],
)
@pytest.mark.parametrize("header", ["OPENQASM 2.0;", "OPENQASM 3.0;"])
def test_qasm_includes_of_files_are_refused(header, include, capfd):
    error = errors_of(qasm_pub(f"{header}\n{include}\nqubit q;\n"))
    assert error.code == CODE_BAD_CIRCUIT
    assert "the program includes" in error.message
    out, _ = capfd.readouterr()
    assert out == ""


def test_circuit_without_measurements_is_refused():
    circuit = QuantumCircuit(2)
    circuit.h(0)
    encoded = json.loads(json.dumps(circuit, cls=RuntimeEncoder))
    error = errors_of({"pubs": [[encoded, None, 10]]})
    assert error.code == CODE_NO_MEASUREMENTS
    assert "no measurements" in error.message and "IBM's sampler refuses" in error.message
    assert "measure_all" in error.solution


def test_measurement_inside_control_flow_counts():
    circuit = QuantumCircuit(1, 1)
    with circuit.for_loop(range(2)):
        circuit.measure(0, 0)
    encoded = json.loads(json.dumps(circuit, cls=RuntimeEncoder))
    assert parse_sampler_params({"pubs": [[encoded]]}).pubs[0].shots == DEFAULT_SHOTS


def test_register_named_like_a_databin_method_is_refused():
    circuit = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1, "shape"))
    circuit.measure(0, 0)
    encoded = json.loads(json.dumps(circuit, cls=RuntimeEncoder))
    error = errors_of({"pubs": [[encoded]]})
    assert error.code == CODE_BAD_CIRCUIT and "'shape' is reserved" in error.message


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (np.zeros((3, 1)), "shape (3, 1)"),
        (np.zeros((4, 3)), "shape (4, 3)"),
        (np.zeros((0, 2)), "holds no value sets"),
        ([[1.0, "x"]], "rectangular array of real numbers"),
        ([[1.0, 2.0], [3.0]], "rectangular array of real numbers"),
        ([[1.0, float("nan")]], "NaN or infinity"),
        ({"a": [1.0, 2.0]}, "no values for parameter(s) ['b']"),
        ({"a": [1.0, 2.0], "b": [1.0]}, "have shape (1,)"),
        ({"a": 1.0, "b": 2.0, "zeta": 3.0}, "no parameter named 'zeta'"),
    ],
)
def test_parameter_values_that_do_not_fit(values, fragment):
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    if isinstance(values, np.ndarray):
        values = json.loads(json.dumps(values, cls=RuntimeEncoder))
    error = errors_of({"pubs": [[encoded, values, 10]]})
    assert error.code == CODE_BAD_PARAMETER_VALUES
    assert error.message.startswith("pub 0: ")
    assert fragment in error.message
    if "shape (" in fragment and "have shape" not in fragment:
        assert "2 parameter(s) ['a', 'b']" in error.message


def test_one_dimensional_values_are_a_single_set():
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    task = parse_sampler_params({"pubs": [[encoded, [0.5, 0.25], 10]]})
    assert task.pubs[0].bindings_shape == ()
    np.testing.assert_array_equal(task.pubs[0].parameter_values, [0.5, 0.25])


def test_parameterized_circuit_without_values():
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    error = errors_of({"pubs": [[encoded, None, 10]]})
    assert error.code == CODE_BAD_PARAMETER_VALUES
    assert "2 parameter(s) ['a', 'b'] but the pub gives no values" in error.message


def test_bad_npy_values():
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    values = {"__type__": "ndarray", "__value__": b64(zlib.compress(b"not npy"))}
    error = errors_of({"pubs": [[encoded, values, 10]]})
    assert error.code == CODE_BAD_PARAMETER_VALUES and "not a NumPy .npy array" in error.message


def test_too_many_executions():
    encoded = json.loads(json.dumps(two_parameter_circuit(), cls=RuntimeEncoder))
    values = json.loads(json.dumps(np.zeros((11, 2)), cls=RuntimeEncoder))
    error = errors_of({"pubs": [[encoded, values, 10]]}, max_executions=10)
    assert error.code == CODE_BAD_PARAMETER_VALUES and "11 executions" in error.message


@pytest.mark.parametrize("shots", [0, -5, "100", 1.5, True, [10]])
def test_shots_must_be_a_positive_int(shots):
    encoded = samplerv2_params([ghz()])["pubs"][0][0]
    error = errors_of({"pubs": [[encoded, None, shots]]})
    assert error.code == CODE_BAD_PARAMS
    assert error.message.startswith("pub 0: shots must be a positive integer")


def test_shots_above_maximum():
    params = samplerv2_params([ghz()], shots=5000)
    error = errors_of(params, max_shots=1000)
    assert error.code == CODE_TOO_MANY_SHOTS
    assert "5000" in error.message and "maximum of 1000" in error.message
    assert "at most 1000" in error.solution


def test_default_shots_option_is_checked():
    params = samplerv2_params([ghz()], default_shots=10)
    params["options"]["default_shots"] = -1
    error = errors_of(params)
    assert error.code == CODE_BAD_PARAMS and "options.default_shots" in error.message
    params["options"]["default_shots"] = 10**9
    assert errors_of(params).code == CODE_TOO_MANY_SHOTS


def test_options_must_be_an_object():
    params = samplerv2_params([ghz()])
    params["options"] = [1]
    assert errors_of(params).code == CODE_BAD_PARAMS


def test_too_many_qubits_at_parse():
    error = errors_of(samplerv2_params([ghz(3)]), max_qubits=2)
    assert error.code == CODE_TOO_MANY_QUBITS
    assert "uses 3 qubits" in error.message and "only 2" in error.message


def test_too_many_qubits_for_the_device_backend():
    task = parse_sampler_params(samplerv2_params([ghz(4)], shots=10))
    with pytest.raises(ProgramError) as caught:
        run_sampler(task, GenericBackendV2(3, seed=1))
    assert caught.value.code == CODE_TOO_MANY_QUBITS
    assert "uses 4 qubits" in caught.value.message


def test_too_many_qubits_for_the_basic_simulator():
    circuit = QuantumCircuit(25, 1)
    circuit.x(24)
    circuit.measure(24, 0)
    task = parse_sampler_params(samplerv2_params([circuit], shots=2))
    with pytest.raises(ProgramError) as caught:
        run_sampler(task, BasicSimulator())
    assert caught.value.code == CODE_TOO_MANY_QUBITS
    assert "25" in caught.value.message


def test_unsupported_instruction():
    text = """OPENQASM 2.0;
include "qelib1.inc";
opaque mystery a;
qreg q[1];
creg c[1];
mystery q[0];
measure q -> c;
"""
    task = parse_sampler_params(qasm_pub(text, 10))
    with pytest.raises(ProgramError) as caught:
        run_sampler(task, BasicSimulator())
    assert caught.value.code == CODE_UNSUPPORTED_INSTRUCTION
    assert caught.value.message.startswith("pub 0: the circuit cannot be compiled")
    assert "mystery" in caught.value.message
    assert "cx" in caught.value.solution


def test_transpiled_for_device_keeps_register_meaning():
    # On a 5-qubit device with a sparse coupling map, layout moves qubits; clbits must not move.
    circuit = QuantumCircuit(3, 3)
    circuit.x(2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    backend = GenericBackendV2(5, seed=3, noise_info=False)
    assert transpile(circuit, backend, seed_transpiler=1).num_clbits == 3
    text = run_to_text(samplerv2_params([circuit], shots=50), backend)
    assert runtime_decode(text)[0].data.c.get_counts() == {"100": 50}
