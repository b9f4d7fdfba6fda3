"""How many shots a submitted job asks for, read cheaply from its params at submit time.

The scheduler needs it to estimate queue times before a worker has decoded the job; decoding
circuits here would block the event loop, so only the plain numbers are read.
"""

from __future__ import annotations

import math
from typing import Any

from qjob_tui.model import ProgramId

# SamplerV2's default when neither the pub nor the options give a number.
DEFAULT_SHOTS = 4096
_MOST_SHOTS = 2**63 - 1


def count_shots(program: str, params: dict[str, Any]) -> int:
    """Total shots of a sampler job's pubs; 0 for programs without shots or odd params."""
    if program == ProgramId.ESTIMATOR:
        return _estimator_shots(params)
    if program == ProgramId.EXECUTOR:
        return _executor_shots(params)
    if program != ProgramId.SAMPLER:
        return 0
    options = params.get("options")
    default = DEFAULT_SHOTS
    if isinstance(options, dict) and isinstance(options.get("default_shots"), int):
        default = options["default_shots"]
    if isinstance(params.get("shots"), int):
        default = params["shots"]
    pubs = params.get("pubs")
    if not isinstance(pubs, list):
        return 0
    total = 0
    for pub in pubs:
        shots = default
        if isinstance(pub, list) and len(pub) >= 3 and isinstance(pub[2], int):
            shots = pub[2]
        total += max(shots, 0)
    # Stored in a 64-bit column: absurd counts saturate here and the worker refuses the job.
    return min(total, _MOST_SHOTS)


# BackendEstimatorV2's default precision: 1 / precision**2 shots per pub.
DEFAULT_PRECISION = 0.015625


def _estimator_shots(params: dict[str, Any]) -> int:
    """Shots an estimator job needs, from each pub's precision (parameter sets not counted)."""
    options = params.get("options")
    default = DEFAULT_PRECISION
    if isinstance(options, dict):
        precision = options.get("default_precision")
        if isinstance(precision, int | float) and not isinstance(precision, bool) and precision > 0:
            default = float(precision)
    pubs = params.get("pubs")
    if not isinstance(pubs, list):
        return 0
    total = 0
    for pub in pubs:
        precision = default
        given = pub[3] if isinstance(pub, list) and len(pub) >= 4 else None
        if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
            precision = float(given)
        total += min(round(1 / precision**2), 10**7)
    return total


def _executor_shots(params: dict[str, Any]) -> int:
    """A QuantumProgram's shots for each element of each item's shape (schema v1 and v2)."""
    program = params.get("quantum_program")
    if not isinstance(program, dict) or not isinstance(program.get("shots"), int):
        return 0
    items = program.get("items")
    if not isinstance(items, list):
        return 0
    total = 0
    for item in items:
        shape = item.get("shape") if isinstance(item, dict) else None
        size = 1
        if isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape):
            size = max(math.prod(shape), 1)
        total += max(program["shots"], 0) * min(size, 10**7)
    return total
