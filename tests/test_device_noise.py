"""A device's noise, kept for the qubits a circuit uses (the rest only cost time to convert)."""

from __future__ import annotations

import subprocess
import sys
import warnings

from qiskit import QuantumCircuit, transpile
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeLimaV2

from qjob_tui.service.programs.device_noise import active_qubits, restricted, runner_for


def lima() -> FakeLimaV2:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FakeLimaV2()


def bell_on(backend: FakeLimaV2) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return transpile(circuit, target=backend.target, initial_layout=[3, 1], seed_transpiler=1)


def errors_of(model) -> set[tuple[str, tuple[int, ...]]]:
    quantum = {(name, on) for name, errors in model._local_quantum_errors.items() for on in errors}
    readout = {("readout", on) for on in model._local_readout_errors}
    return quantum | readout


def test_the_restricted_model_keeps_exactly_the_errors_within_the_qubits():
    full = lima()._get_noise_model_from_backend_v2()
    kept = restricted(full, frozenset({1, 3}))
    expected = {(name, on) for name, on in errors_of(full) if set(on) <= {1, 3}}
    assert errors_of(kept) == expected
    assert ("cx", (1, 3)) in expected and ("readout", (3,)) in expected
    assert kept._custom_noise_passes == full._custom_noise_passes  # relaxation during delays


def test_a_device_circuit_runs_on_aer_with_its_qubits_noise():
    backend = lima()
    circuit = bell_on(backend)
    assert active_qubits(circuit) == {1, 3}
    runner = runner_for(backend, circuit)
    assert isinstance(runner, AerSimulator)
    assert runner_for(backend, circuit) is runner  # one simulator per set of qubits, kept
    counts = runner.run(circuit, shots=4000, seed_simulator=3).result().get_counts()
    # Lima is noisy: its readout and CX errors show as some 01 and 10; the pair still dominates.
    assert counts.get("01", 0) + counts.get("10", 0) > 0
    assert counts.get("00", 0) + counts.get("11", 0) > 3000


def test_a_simulator_runs_as_it_is():
    simulator = BasicSimulator()
    assert runner_for(simulator, QuantumCircuit(1)) is simulator


def test_a_simulator_run_does_not_import_the_fake_devices():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from qiskit import QuantumCircuit;"
            "from qiskit.providers.basic_provider import BasicSimulator;"
            "from qjob_tui.service.programs.device_noise import runner_for;"
            "runner_for(BasicSimulator(), QuantumCircuit(1));"
            "print('qiskit_ibm_runtime' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "False", done.stderr
