"""A device's noisy simulation with the device's noise on the circuit's own qubits only.

qiskit-ibm-runtime's fake devices run on Aer with a noise model of every qubit, and Aer converts
that model again for every run: IBM Fez's 156 qubits carry 1,484 errors, 10 to 40 s a run on this
project's machines, though a GHZ-5 touches 5 qubits. The errors of qubits a circuit never touches
cannot change its outcome, so each run gets a model holding only its qubits' errors: the same
error objects, taken from runtime's own model of the device. A GHZ-5 on Fez then runs in 0.5 s.
"""

from __future__ import annotations

import sys
from typing import Any

from qiskit import QuantumCircuit

from qjob_tui.service.programs.circuit_cache import LRU

# This worker's device noise models (built once: seconds each) and simulators by qubits used.
_models: dict[str, Any] = {}
_simulators: LRU[tuple[str, frozenset[int]], Any] = LRU(64)


def active_qubits(circuit: QuantumCircuit) -> frozenset[int]:
    """The indices of the qubits some instruction of the circuit acts on."""
    return frozenset(circuit.find_bit(q).index for item in circuit.data for q in item.qubits)


def restricted(model: Any, qubits: frozenset[int]) -> Any:
    """A copy of an Aer noise model with only the errors that act within ``qubits``."""
    from qiskit_aer.noise import NoiseModel

    kept = NoiseModel(basis_gates=model.basis_gates)
    for name, errors in model._local_quantum_errors.items():
        for on, error in errors.items():
            if set(on) <= qubits:
                kept.add_quantum_error(error, name, on)
    for name, error in model._default_quantum_errors.items():
        kept.add_all_qubit_quantum_error(error, name)
    for on, error in model._local_readout_errors.items():
        if set(on) <= qubits:
            kept.add_readout_error(error, on)
    if model._default_readout_error is not None:
        kept.add_all_qubit_readout_error(model._default_readout_error)
    kept._custom_noise_passes.extend(model._custom_noise_passes)
    return kept


def runner_for(backend: Any, circuit: QuantumCircuit) -> Any:
    """What runs the circuit: for a fake device, Aer with the noise of the circuit's qubits."""
    # A fake device exists only once runtime's module is loaded: a simulator never imports it.
    fakes = sys.modules.get("qiskit_ibm_runtime.fake_provider.fake_backend")
    if fakes is None or not isinstance(backend, fakes.FakeBackendV2):
        return backend
    try:
        from qiskit_aer import AerSimulator
    except ImportError:  # runtime's fake devices run noiseless on BasicSimulator then
        return backend
    qubits = active_qubits(circuit)

    def make() -> Any:
        model = _models.get(backend.name)
        if model is None:
            model = _models[backend.name] = backend._get_noise_model_from_backend_v2()
        return AerSimulator(noise_model=restricted(model, qubits))

    return _simulators.get_or_make((backend.name, qubits), make)
