"""Whether qiskit-ibm-runtime, the reference of the protocol, is installed (``qjob-tui[service]``).

The estimator and executor programs run on its local runners and the devices come from its
fake_provider snapshots; without it the service still runs sampler jobs on the simulators.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

# Programs whose runner is qiskit-ibm-runtime's own.
RUNTIME_PROGRAMS = frozenset({"estimator", "executor"})
INSTALL_HINT = "install the service extra: pip install 'qjob-tui[service]'"


@cache
def runtime_root() -> Path | None:
    """The installed qiskit_ibm_runtime package folder, found without importing it."""
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def runtime_available() -> bool:
    return runtime_root() is not None
