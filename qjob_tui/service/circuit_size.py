"""How many operations a circuit becomes once every custom gate is expanded, found cheaply.

Parsing OpenQASM 2 is lazy: a 2 KB program whose gates each call the previous one twice parses
in milliseconds, and only the transpiler's expansion to basis gates turns it into 2^39
operations (hours, and gigabytes). Counting the expansion with one memo per gate definition
costs a few microseconds per definition, so such a job fails at once, before the transpiler
starts. Runs in the worker (it reads Qiskit objects).
"""

from __future__ import annotations

from typing import Any

from qjob_tui.service.errors import CODE_CIRCUIT_TOO_LARGE, ProgramError

# Far above what the bundled simulators run in reasonable time (a million gates transpile for
# about a minute on this project's 2-core machine).
MAX_EXPANDED_OPERATIONS = 1_000_000
# Gate definitions that call one another deeper than this are refused, not recursed into.
MAX_DEFINITION_DEPTH = 200


def check_expansion(
    circuit: Any, where: str = "the circuit", limit: int = MAX_EXPANDED_OPERATIONS
) -> int:
    """The circuit's expanded size; raises ProgramError when it is above ``limit``."""
    memo: dict[tuple[str, int, int], int] = {}
    size = _circuit_size(circuit, memo, 0, limit, where)
    if size > limit:
        raise ProgramError(
            CODE_CIRCUIT_TOO_LARGE,
            f"{where}: the circuit expands to more than {limit:,} operations once its gate "
            "definitions are unrolled",
            "Define gates that do not call each other repeatedly, or split the work into "
            "smaller circuits.",
        )
    return size


def _circuit_size(
    circuit: Any, memo: dict[tuple[str, int, int], int], depth: int, limit: int, where: str
) -> int:
    total = 0
    for instruction in circuit.data:
        total += _operation_size(instruction.operation, memo, depth, limit, where)
        if total > limit:
            return total
    return total


def _operation_size(
    operation: Any, memo: dict[tuple[str, int, int], int], depth: int, limit: int, where: str
) -> int:
    blocks = getattr(operation, "blocks", None)
    if blocks:  # control flow: the blocks' sizes, a for loop's times its iterations
        inner = sum(_circuit_size(b, memo, depth + 1, limit, where) for b in blocks)
        params = getattr(operation, "params", None) or ()
        repeats = len(params[0]) if operation.name == "for_loop" and params else 1
        return inner * max(repeats, 1)
    if getattr(operation, "_standard_gate", None) is not None or not _has_definition(operation):
        return 1
    key = (operation.name, operation.num_qubits, operation.num_clbits)
    known = memo.get(key)
    if known is not None:
        return known
    if depth >= MAX_DEFINITION_DEPTH:
        raise ProgramError(
            CODE_CIRCUIT_TOO_LARGE,
            f"{where}: gate definitions call one another more than {MAX_DEFINITION_DEPTH} "
            "levels deep",
            "Flatten the gate definitions.",
        )
    definition = operation.definition
    size = 1 if definition is None else _circuit_size(definition, memo, depth + 1, limit, where)
    memo[key] = max(size, 1)
    return memo[key]


def _has_definition(operation: Any) -> bool:
    """Whether expanding the operation means reading its definition (custom gates do)."""
    return operation.name not in _LEAVES and hasattr(operation, "definition")


_LEAVES = frozenset({"measure", "reset", "barrier", "delay", "store", "box"})
