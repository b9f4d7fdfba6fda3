"""How many shots a submitted job asks for, read cheaply from its params at submit time.

The scheduler needs it to estimate queue times before a worker has decoded the job; decoding
circuits here would block the event loop, so only the plain numbers are read.
"""

from __future__ import annotations

from typing import Any

from qjob_tui.model import ProgramId

# SamplerV2's default when neither the pub nor the options give a number.
DEFAULT_SHOTS = 4096


def count_shots(program: str, params: dict[str, Any]) -> int:
    """Total shots of a sampler job's pubs; 0 for programs without shots or odd params."""
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
    return total
