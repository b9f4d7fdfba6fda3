"""The backends the local service offers, described without importing Qiskit.

The service process answers ``/backends`` and the configuration endpoints from these specs; the
worker processes turn a spec into a real Qiskit backend (``simulators.build_backend``). The devices
are qiskit-ibm-runtime's fake_provider backends: IBM's own configuration and calibration
snapshots of real processors (coupling maps, gate sets, errors, noise), served as IBM serves them,
with a per-shot latency so that jobs take time and queues form.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from qjob_tui.service.reference import runtime_root

# Qiskit's BasicSimulator is a statevector simulator: 24 qubits is its documented maximum.
BASIC_MAX_QUBITS = 24
AER_MAX_QUBITS = 30
DEVICE_BASIS = ("ecr", "id", "rz", "sx", "x")


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
    # A device from qiskit-ibm-runtime's fake_provider: its folder under fake_provider/backends
    # (e.g. "lima") and its class (e.g. "FakeLimaV2"), which the worker builds.
    snapshot: str = ""
    fake_class: str = ""
    physical_qubits: int | None = None
    calibration_id: str | None = None

    def expected_seconds(self, shots: int) -> float:
        """How long a job of this many shots should occupy the backend, before any history."""
        return shots * self.shot_latency + 0.05


def aer_available() -> bool:
    return importlib.util.find_spec("qiskit_aer") is not None


@dataclass(frozen=True)
class Device:
    """One device of the line-up: which snapshot, how slow, and what to say of it."""

    name: str
    snapshot: str
    fake_class: str
    shot_latency: float
    description: str
    physical_qubits: int | None = None


# The line-up: small Falcons, a slow 27-qubit Falcon where queues form, and a Heron of today.
DEVICES = (
    Device("fake_lima", "lima", "FakeLimaV2", 0.0005, "IBM Lima, 5-qubit Falcon r4T: noisy"),
    Device("fake_perth", "perth", "FakePerth", 0.001, "IBM Perth, 7-qubit Falcon r5.11H: noisy"),
    Device(
        "fake_cairo",
        "cairo",
        "FakeCairoV2",
        0.004,
        "IBM Cairo, 27-qubit heavy-hex Falcon r5.11: slow, long queues form here",
    ),
    Device(
        "fake_fez",
        "fez",
        "FakeFez",
        0.0002,
        "IBM Fez, 156-qubit Heron r2 with CZ gates",
        physical_qubits=332,
    ),
)


def _snapshot_file(snapshot: str, kind: str) -> Path | None:
    root = runtime_root()
    if root is None:
        return None
    path = root / "fake_provider" / "backends" / snapshot / f"{kind}_{snapshot}.json"
    return path if path.is_file() else None


@cache
def _snapshot(snapshot: str, kind: str) -> dict[str, Any]:
    """A fake_provider JSON file ("conf" or "props"), read once."""
    path = _snapshot_file(snapshot, kind)
    if path is None:
        return {}
    return dict(json.loads(path.read_text()))


def calibration_id_of(snapshot: str) -> str:
    """The id of a device's one calibration: a digest of its properties snapshot."""
    path = _snapshot_file(snapshot, "props")
    digest = hashlib.sha256(path.read_bytes() if path is not None else snapshot.encode())
    return digest.hexdigest()[:24]


def device_spec(device: Device, latency_scale: float = 1.0) -> BackendSpec | None:
    """The spec of a fake_provider device, or None without qiskit-ibm-runtime."""
    conf = _snapshot(device.snapshot, "conf")
    if not conf:
        return None
    family = conf.get("processor_type", {}).get("family", "") if conf.get("processor_type") else ""
    return BackendSpec(
        name=device.name,
        kind="device",
        num_qubits=int(conf["n_qubits"]),
        simulator=False,
        shot_latency=device.shot_latency * latency_scale,
        coupling_map=conf.get("coupling_map"),
        basis_gates=tuple(conf.get("basis_gates", ())),
        max_shots=min(int(conf.get("max_shots", 100_000)), 100_000),
        description=device.description,
        processor_family=str(family),
        snapshot=device.snapshot,
        fake_class=device.fake_class,
        physical_qubits=device.physical_qubits or int(conf["n_qubits"]),
        calibration_id=calibration_id_of(device.snapshot),
    )


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
    for device in DEVICES:
        spec = device_spec(device, latency_scale)
        if spec is not None:
            specs.append(spec)
    return {spec.name: spec for spec in specs}


_ONLINE_DATE = "2026-01-01T00:00:00Z"


def configuration(spec: BackendSpec) -> dict[str, object]:
    """``GET /backends/{name}/configuration``, in the shape qiskit-ibm-runtime converts."""
    if spec.snapshot:
        return {**_snapshot(spec.snapshot, "conf"), "backend_name": spec.name}
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
    """``GET /backends/{name}/properties``: a device's calibration snapshot, as IBM sends it."""
    if spec.snapshot:
        props = _snapshot(spec.snapshot, "props")
        return {**props, "backend_name": spec.name, "calibration_id": spec.calibration_id}
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
