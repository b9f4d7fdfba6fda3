"""The expansion count that stops runaway gate definitions before the transpiler starts."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit, qasm2

from qjob_tui.service.circuit_size import check_expansion
from qjob_tui.service.errors import CODE_CIRCUIT_TOO_LARGE, ProgramError


def _doubling(levels: int) -> QuantumCircuit:
    """Gates that each call the previous one twice: 2^levels operations once expanded."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "gate g0 a { x a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, levels + 1)]
    lines += ["qreg q[1];", "creg c[1];", f"g{levels} q[0];", "measure q -> c;"]
    return qasm2.loads(
        "\n".join(lines), include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
    )


def test_counts_the_expansion_without_doing_it() -> None:
    assert check_expansion(_doubling(10)) == 2**10 + 1  # and the measurement


def test_the_issues_runaway_program_is_refused() -> None:
    with pytest.raises(ProgramError) as refused:
        check_expansion(_doubling(39), "pub 0")
    assert refused.value.code == CODE_CIRCUIT_TOO_LARGE
    assert "pub 0" in refused.value.message


def test_loops_multiply_their_body() -> None:
    body = QuantumCircuit(1)
    body.x(0)
    circuit = QuantumCircuit(1, 1)
    circuit.for_loop(range(2_000_000), None, body, [0], [])
    with pytest.raises(ProgramError):
        check_expansion(circuit)
    small = QuantumCircuit(1, 1)
    small.for_loop(range(10), None, body, [0], [])
    assert check_expansion(small) == 10


def test_ordinary_circuits_pass() -> None:
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    assert check_expansion(bell) == 4
