"""The executor program, as qiskit-ibm-runtime's client-side Sampler and Estimator send it."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Batch, QiskitRuntimeService, Session
from qiskit_ibm_runtime.executor_estimator import Estimator
from qiskit_ibm_runtime.executor_sampler import Sampler

from tests.runtime_fixtures import bell, iam_service, isa, runtime  # noqa: F401


def test_executor_sampler_counts(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    circuit = isa(bell(), backend)
    job = Sampler(mode=backend).run([circuit], shots=400)
    assert job.primitive_id == "executor"
    result = job.result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 400
    assert counts.get("00", 0) + counts.get("11", 0) > 320  # noisy, but a Bell state


def test_executor_sampler_in_a_session(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_perth")
    circuit = isa(bell(), backend)
    with Session(backend) as session:
        job = Sampler(mode=session).run([circuit, circuit], shots=64)
        result = job.result()
        assert job.session_id == session.session_id
    assert [sum(r.data.meas.get_counts().values()) for r in result] == [64, 64]


def test_executor_estimator_expectation_values(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    state = QuantumCircuit(2)
    state.h(0)
    state.cx(0, 1)
    circuit = isa(state, backend)
    observables = [SparsePauliOp(p).apply_layout(circuit.layout) for p in ("ZZ", "XX", "ZI")]
    with Batch(backend) as batch:
        job = Estimator(mode=batch).run([(circuit, observables)], precision=0.03)
        result = job.result()
    evs = np.asarray(result[0].data.evs)
    assert evs.shape == (3,)
    assert evs[0] > 0.7 and evs[1] > 0.7 and abs(evs[2]) < 0.2
    assert np.all(np.asarray(result[0].data.stds) > 0)
