"""The backends the local service offers, described without importing Qiskit.

The service process answers ``/backends`` and the configuration endpoints from these specs; the
worker processes turn a spec into a real Qiskit backend (``worker.build_backend``). The "devices"
have a real coupling map and a per-shot latency, so that jobs take time and queues form.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Qiskit's BasicSimulator is a statevector simulator: 24 qubits is its documented maximum.
BASIC_MAX_QUBITS = 24
AER_MAX_QUBITS = 30
DEVICE_BASIS = ("ecr", "id", "rz", "sx", "x")


def _heavy_hex_falcon() -> list[list[int]]:
    """The 27-qubit heavy-hex coupling map of IBM's Falcon r5.11 processors."""
    pairs = [
        (0, 1), (1, 2), (1, 4), (2, 3), (3, 5), (4, 7), (5, 8), (6, 7), (7, 10), (8, 9),
        (8, 11), (10, 12), (11, 14), (12, 13), (12, 15), (13, 14), (14, 16), (15, 18),
        (16, 19), (17, 18), (18, 21), (19, 20), (19, 22), (21, 23), (22, 25), (23, 24),
        (24, 25), (25, 26),
    ]  # fmt: skip
    return _both_ways(pairs)


def _both_ways(pairs: list[tuple[int, int]]) -> list[list[int]]:
    return [list(p) for a, b in pairs for p in ((a, b), (b, a))]


@dataclass(frozen=True)
class BackendSpec:
    """What the service needs to know of a backend to list it, queue for it and run on it."""

    name: str
    kind: str  # "basic", "aer" or "device"
    num_qubits: int
    simulator: bool
    shot_latency: float = 0.0
    coupling_map: list[list[int]] | None = None
    basis_gates: tuple[str, ...] = ()
    max_shots: int = 100_000
    description: str = ""
    seed: int = 0
    processor_family: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def expected_seconds(self, shots: int) -> float:
        """How long a job of this many shots should occupy the backend, before any history."""
        return shots * self.shot_latency + 0.05


def aer_available() -> bool:
    return importlib.util.find_spec("qiskit_aer") is not None


def default_backends(latency_scale: float = 1.0) -> dict[str, BackendSpec]:
    """The standard line-up; ``latency_scale`` stretches or removes the devices' slowness."""
    specs = [
        BackendSpec(
            name="basic_simulator",
            kind="basic",
            num_qubits=BASIC_MAX_QUBITS,
            simulator=True,
            description="Qiskit BasicSimulator: exact, noiseless, pure Python",
        )
    ]
    if aer_available():
        specs.append(
            BackendSpec(
                name="aer_simulator",
                kind="aer",
                num_qubits=AER_MAX_QUBITS,
                simulator=True,
                max_shots=1_000_000,
                description="Qiskit Aer simulator: fast, noiseless",
            )
        )
    specs += [
        BackendSpec(
            name="fake_lima",
            kind="device",
            num_qubits=5,
            simulator=False,
            shot_latency=0.0005 * latency_scale,
            coupling_map=_both_ways([(0, 1), (1, 2), (1, 3), (3, 4)]),
            basis_gates=DEVICE_BASIS,
            description="A 5-qubit T-shaped device with per-shot latency",
            seed=5,
            processor_family="Falcon",
        ),
        BackendSpec(
            name="fake_perth",
            kind="device",
            num_qubits=7,
            simulator=False,
            shot_latency=0.001 * latency_scale,
            coupling_map=_both_ways([(0, 1), (1, 2), (1, 3), (3, 5), (4, 5), (5, 6)]),
            basis_gates=DEVICE_BASIS,
            description="A 7-qubit H-shaped device with per-shot latency",
            seed=7,
            processor_family="Falcon",
        ),
        BackendSpec(
            name="fake_cairo",
            kind="device",
            num_qubits=27,
            simulator=False,
            shot_latency=0.004 * latency_scale,
            coupling_map=_heavy_hex_falcon(),
            basis_gates=DEVICE_BASIS,
            description="A 27-qubit heavy-hex device, slow: long queues form here",
            seed=27,
            processor_family="Falcon",
        ),
    ]
    return {spec.name: spec for spec in specs}


_ONLINE_DATE = "2026-01-01T00:00:00Z"


def configuration(spec: BackendSpec) -> dict[str, object]:
    """``GET /backends/{name}/configuration``, in the shape qiskit-ibm-runtime converts."""
    basis = list(spec.basis_gates or ("cx", "id", "rz", "sx", "x", "h", "measure"))
    coupling = spec.coupling_map
    gates: list[dict[str, object]] = []
    for gate in basis:
        if gate in ("measure",):
            continue
        two_qubit = gate in ("cx", "ecr", "cz")
        if two_qubit:
            qubits = coupling if coupling is not None else []
        else:
            qubits = [[q] for q in range(spec.num_qubits)]
        gate_params = ["theta"] if gate == "rz" else []
        gates.append(
            {"name": gate, "parameters": gate_params, "qasm_def": gate, "coupling_map": qubits}
        )
    return {
        "backend_name": spec.name,
        "backend_version": "1.0.0",
        "n_qubits": spec.num_qubits,
        "basis_gates": basis,
        "gates": gates,
        "local": False,
        "simulator": spec.simulator,
        "conditional": False,
        "open_pulse": False,
        "memory": True,
        "max_shots": spec.max_shots,
        "max_experiments": 300,
        "coupling_map": coupling,
        "supported_instructions": [*basis, "measure", "delay", "reset", "barrier"],
        "dynamic_reprate_enabled": False,
        "rep_delay_range": [0.0, 500.0],
        "default_rep_delay": 250.0,
        "description": spec.description,
        "online_date": _ONLINE_DATE,
        "coords": [],
        "u_channel_lo": [],
        "dt": 0.2222,
        "processor_type": {"family": spec.processor_family or "simulator", "revision": 1},
        "credits_required": False,
    }


def properties(spec: BackendSpec) -> dict[str, object]:
    """``GET /backends/{name}/properties``: plausible, fixed calibration data for devices."""
    date = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    qubits = []
    for q in range(spec.num_qubits):
        drift = ((q * 37 + spec.seed) % 17) / 17
        qubits.append(
            [
                {"date": date, "name": "T1", "unit": "us", "value": 120.0 + 80 * drift},
                {"date": date, "name": "T2", "unit": "us", "value": 90.0 + 60 * drift},
                {"date": date, "name": "frequency", "unit": "GHz", "value": 4.9 + 0.2 * drift},
                {"date": date, "name": "readout_error", "unit": "", "value": 0.01 + 0.02 * drift},
                {"date": date, "name": "readout_length", "unit": "ns", "value": 800.0},
            ]
        )
    gates = []
    config = configuration(spec)
    for gate in config["gates"]:  # type: ignore[union-attr]
        for qargs in gate["coupling_map"]:  # type: ignore[index]
            two = len(qargs) == 2
            gates.append(
                {
                    "gate": gate["name"],  # type: ignore[index]
                    "qubits": qargs,
                    "parameters": [
                        {
                            "date": date,
                            "name": "gate_error",
                            "unit": "",
                            "value": 0.007 if two else 0.0003,
                        },
                        {
                            "date": date,
                            "name": "gate_length",
                            "unit": "ns",
                            "value": 660.0 if two else 35.5,
                        },
                    ],
                }
            )
    return {
        "backend_name": spec.name,
        "backend_version": "1.0.0",
        "last_update_date": date,
        "qubits": qubits if not spec.simulator else [],
        "gates": gates if not spec.simulator else [],
        "general": [],
    }
