"""A sampler job's decoded params: what ``parse_sampler_params`` makes and ``run_sampler`` runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit


class SamplerStopped(Exception):
    """Raised by ``run_sampler`` when ``should_stop`` asked it to give up between executions."""


@dataclass(frozen=True, eq=False)
class SamplerPubTask:
    """One decoded pub: a circuit, its parameter-value sets and the shots of each set."""

    circuit: QuantumCircuit
    # Shape ``bindings_shape + (num_parameters,)``, columns in ``circuit.parameters`` order, as
    # ``BindingsArray.as_array(circuit.parameters)`` makes them on the client.
    parameter_values: np.ndarray
    shots: int
    # The circuit's wire form as the job sent it (``circuit_cache.wire_key``), None if not kept.
    key: str | None = None

    @property
    def bindings_shape(self) -> tuple[int, ...]:
        """The shape of the parameter-value sets; the result's BitArrays lead with it."""
        return tuple(int(n) for n in self.parameter_values.shape[:-1])

    @property
    def num_bindings(self) -> int:
        """How many separate executions the pub needs."""
        return math.prod(self.bindings_shape)


@dataclass(frozen=True, eq=False)
class SamplerTask:
    """A sampler job's decoded params, ready for ``run_sampler``."""

    pubs: tuple[SamplerPubTask, ...]
    options: Mapping[str, Any]
    # ``options.simulator.seed_simulator`` of SamplerV2, used when the service gives no seed.
    seed_simulator: int | None = None
