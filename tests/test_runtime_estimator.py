"""EstimatorV2 of the real qiskit-ibm-runtime client against the local service."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Batch, EstimatorV2, QiskitRuntimeService, Session

from tests.runtime_fixtures import iam_service, isa, runtime  # noqa: F401


def bell_state() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def observables(circuit: QuantumCircuit) -> list[SparsePauliOp]:
    return [SparsePauliOp(p).apply_layout(circuit.layout) for p in ("ZZ", "XX", "ZI")]


def test_estimator_on_the_exact_simulator(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("basic_simulator")
    theta = Parameter("θ")
    circuit = QuantumCircuit(1)
    circuit.ry(theta, 0)
    angles = np.array([[0.0], [np.pi / 2], [np.pi]])
    job = EstimatorV2(mode=backend).run([(circuit, SparsePauliOp("Z"), angles)], precision=0.01)
    result = job.result()
    evs = result[0].data.evs
    stds = result[0].data.stds
    assert evs.shape == stds.shape == (3,)
    assert np.allclose(evs, [1.0, 0.0, -1.0], atol=0.06)
    assert np.all(stds <= 0.011)
    assert result[0].metadata["target_precision"] == 0.01
    assert job.status() == "DONE"


def test_estimator_inside_a_session(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    circuit = isa(bell_state(), backend)
    with Session(backend) as session:
        estimator = EstimatorV2(mode=session)
        estimator.options.default_precision = 0.02
        job = estimator.run([(circuit, observables(circuit))])
        result = job.result()
        assert job.session_id == session.session_id
    evs = result[0].data.evs
    assert evs.shape == (3,)
    # fake_lima is noisy: the Bell correlations are strong but not perfect.
    assert 0.7 < evs[0] <= 1.0 and 0.7 < evs[1] <= 1.0
    assert abs(evs[2]) < 0.15
    assert np.all(result[0].data.stds > 0)


def test_estimator_inside_a_batch(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_perth")
    circuit = isa(bell_state(), backend)
    with Batch(backend) as batch:
        estimator = EstimatorV2(mode=batch)
        jobs = [estimator.run([(circuit, observables(circuit))], precision=0.05) for _ in range(2)]
        results = [job.result() for job in jobs]
    assert {job.session_id for job in jobs} == {batch.session_id}
    for result in results:
        assert result[0].data.evs[0] > 0.7
        assert result[0].metadata["shots"] == 400


SHAPED_OBSERVABLES = {
    "one observable": "ZZ",
    "a list": ["ZZ", "XX", "ZI"],
    "an array": np.array([["ZZ", "XX"], ["ZI", "IZ"]]),
}


def test_evs_and_stds_are_arrays_of_the_pub_shape(
    runtime: QiskitRuntimeService,  # noqa: F811
) -> None:
    """As IBM sends them: ``evs`` and ``stds`` are numpy arrays of the pub's shape, 0-d too."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    for backend_name in ("basic_simulator", "fake_lima"):
        backend = runtime.backend(backend_name)
        circuit = isa(bell_state(), backend)
        pubs = []
        for paulis in SHAPED_OBSERVABLES.values():
            observables = np.vectorize(
                lambda p, layout=circuit.layout: SparsePauliOp(p).apply_layout(layout),
                otypes=[object],
            )(np.asarray(paulis))
            pubs.append((circuit, observables if observables.ndim else observables.item()))
        result = EstimatorV2(mode=backend).run(pubs, precision=0.05).result()
        for (what, _), pub, pub_result in zip(
            SHAPED_OBSERVABLES.items(), pubs, result, strict=True
        ):
            expected = EstimatorPub.coerce(pub).shape
            for field in ("evs", "stds"):
                value = getattr(pub_result.data, field)
                assert isinstance(value, np.ndarray), (backend_name, what, field, type(value))
                assert value.shape == expected, (backend_name, what, field, value.shape)
            assert pub_result.data.shape == expected


def test_twirling_randomizations_set_the_shots(
    runtime: QiskitRuntimeService,  # noqa: F811
) -> None:
    """As the client documents: num_randomizations x shots_per_randomization beats default_shots."""
    backend = runtime.backend("basic_simulator")
    circuit = bell_state()
    estimator = EstimatorV2(mode=backend)
    estimator.options.default_shots = 400
    plain = estimator.run([(circuit, SparsePauliOp("ZZ"))]).result()
    estimator.options.twirling.num_randomizations = 16
    estimator.options.twirling.shots_per_randomization = 100
    twirled = estimator.run([(circuit, SparsePauliOp("ZZ"))]).result()
    assert plain[0].metadata["shots"] == 400
    assert twirled[0].metadata["shots"] == 1600
