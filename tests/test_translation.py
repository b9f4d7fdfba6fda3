"""The service's transpilation of device circuits, around Qiskit 2.5's translator regression.

See ``qjob_tui/service/programs/translation.py`` for the why. The workaround stays while the last
test here passes: on a Qiskit whose default translator compiles GHZ-5 for IBM Cairo again, that
test fails, and the workaround can go.
"""

from __future__ import annotations

import warnings

import pytest
import qiskit
from qiskit import QuantumCircuit
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeCairoV2, FakeFez, FakeLimaV2, FakePerth

from qjob_tui.service.errors import (
    CODE_TOO_MANY_QUBITS,
    CODE_TRANSPILER_FAILED,
    CODE_UNSUPPORTED_INSTRUCTION,
    ProgramError,
)
from qjob_tui.service.programs import sampler_run
from qjob_tui.service.programs.translation import mixed_two_qubit_gates, translation_method


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    circuit.measure_all()
    return circuit


def quietly(make):  # the fake devices warn about their age when built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


def test_only_a_device_of_mixed_two_qubit_gates_gets_the_synthesis_method():
    assert mixed_two_qubit_gates(quietly(FakeCairoV2).target)  # cx on some pairs, ecr on others
    for uniform in (FakeLimaV2, FakePerth, FakeFez, BasicSimulator, AerSimulator):
        target = quietly(uniform).target
        assert not mixed_two_qubit_gates(target), uniform
        assert translation_method(target) is None
    assert translation_method(quietly(FakeCairoV2).target) == "synthesis"


@pytest.mark.parametrize("width", [2, 5, 12])
def test_ghz_compiles_for_cairo_to_gates_it_has_on_the_pairs_it_has(width: int):
    backend = quietly(FakeCairoV2)
    compiled = sampler_run._transpile(ghz(width), backend, 7, "pub 0")
    for instruction in compiled.data:
        name = instruction.operation.name
        qargs = tuple(compiled.find_bit(q).index for q in instruction.qubits)
        assert name == "barrier" or backend.target.instruction_supported(name, qargs), (name, qargs)


def test_a_fault_of_the_transpiler_is_the_services_not_the_circuits(monkeypatch):
    class Broken:
        def run(self, *args, **kwargs):
            raise qiskit.transpiler.TranspilerError("an internal transpiler fault")

    # The worker's pass manager (built once per backend and seed) fails as it runs.
    monkeypatch.setattr(sampler_run, "_pass_manager", lambda backend, seed: Broken())
    with pytest.raises(ProgramError) as caught:
        sampler_run._transpile(ghz(2), BasicSimulator(), 1, "pub 0")
    assert caught.value.code == CODE_TRANSPILER_FAILED
    assert "a fault of the service, not of the circuit" in caught.value.message
    assert "an internal transpiler fault" in caught.value.message
    assert "another backend" in caught.value.solution


def test_a_circuit_wider_than_the_devices_connected_qubits_is_the_circuits_fault():
    # Cairo's snapshot has no two-qubit gate on qubit 0: 26 connected qubits, not 27.
    with pytest.raises(ProgramError) as caught:
        sampler_run._transpile(ghz(27), quietly(FakeCairoV2), 1, "pub 0")
    assert caught.value.code == CODE_TOO_MANY_QUBITS
    assert "does not fit backend fake_cairo" in caught.value.message


def test_an_undefined_gate_is_the_circuits_fault():
    circuit = QuantumCircuit(1)
    circuit.append(qiskit.circuit.Gate("mystery", 1, []), [0])
    with pytest.raises(ProgramError) as caught:
        sampler_run._transpile(circuit, quietly(FakeCairoV2), 1, "pub 0")
    assert caught.value.code == CODE_UNSUPPORTED_INSTRUCTION
    assert "mystery" in caught.value.message


@pytest.mark.skipif(
    tuple(int(part) for part in qiskit.__version__.split(".")[:2]) < (2, 5),
    reason="the regression came with Qiskit 2.5.0",
)
def test_why_qiskits_default_translator_still_fails_on_cairo(monkeypatch):
    """Without the workaround, GHZ-5 on Cairo fails, and the job blames the service."""
    monkeypatch.setattr(sampler_run, "translation_method", lambda target: None)
    with pytest.raises(ProgramError) as caught:
        sampler_run._transpile(ghz(5), quietly(FakeCairoV2), 7, "pub 0")
    assert caught.value.code == CODE_TRANSPILER_FAILED
    assert "if the direction was swapped" in caught.value.message
