"""Which of Qiskit's translation methods the service's transpiler uses for a device.

Qiskit 2.5.0 (still so in 2.6.2) broke its default ``BasisTranslator`` on targets whose qubit
pairs do not all share one two-qubit gate, such as IBM Cairo's snapshot in qiskit-ibm-runtime
(``cx`` on 12 pairs, ``ecr`` on 14, each in one direction): the translator now leaves a
placeholder operation named ``cx`` in the circuit (``compose_transforms`` builds a Rust
``CustomDummy`` where 2.4 built a real ``CXGate``), which ``GateDirection`` cannot flip, so
``transpile(ghz5, FakeCairoV2())`` fails with "cx would be supported on [15, 18] if the
direction was swapped, but no rules are known to do that". Qiskit's ``synthesis`` translation
method does not go through that code and compiles such devices correctly on every Qiskit the
service supports; devices with one two-qubit gate everywhere keep the default.
"""

from __future__ import annotations

from qiskit.transpiler import Target


def mixed_two_qubit_gates(target: Target) -> bool:
    """Whether the target's qubit pairs do not all offer the same two-qubit gates."""
    gates_of_pair: dict[frozenset[int], set[str]] = {}
    for name in target.operation_names:
        pairs = target.qargs_for_operation_name(name)
        if pairs is None:  # a gate every qubit (or pair) has: the same everywhere
            continue
        for qargs in pairs:
            if len(qargs) == 2:
                gates_of_pair.setdefault(frozenset(qargs), set()).add(name)
    return len({frozenset(gates) for gates in gates_of_pair.values()}) > 1


def translation_method(target: Target) -> str | None:
    """``"synthesis"`` for a target of mixed two-qubit gates, else None (Qiskit's default)."""
    return "synthesis" if mixed_two_qubit_gates(target) else None
