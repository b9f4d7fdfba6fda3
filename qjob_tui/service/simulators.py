"""The Qiskit backend behind each device spec, built once per worker process (it is slow)."""

from __future__ import annotations

import warnings
from typing import Any

from qjob_tui.service.backends import BackendSpec

_backends: dict[str, Any] = {}


def build_backend(spec: BackendSpec) -> Any:
    """The Qiskit backend of a spec, built once per worker."""
    backend = _backends.get(spec.name)
    if backend is not None:
        return backend
    if spec.kind == "basic":
        from qiskit.providers.basic_provider import BasicSimulator

        backend = BasicSimulator()
    elif spec.kind == "aer":
        from qiskit_aer import AerSimulator

        backend = AerSimulator()
    elif spec.fake_class:
        # IBM's own snapshot of the device: its target, calibration and noise model.
        from qiskit_ibm_runtime import fake_provider

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend = getattr(fake_provider, spec.fake_class)()
    else:
        from qiskit.providers.fake_provider import GenericBackendV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend = GenericBackendV2(
                spec.num_qubits,
                basis_gates=list(spec.basis_gates),
                coupling_map=spec.coupling_map,
                seed=spec.seed,
            )
    _backends[spec.name] = backend
    return backend


def forget_backend(name: str) -> None:
    """Drop a backend built for ``name`` (the worker's warm-up builds one of its own)."""
    _backends.pop(name, None)
