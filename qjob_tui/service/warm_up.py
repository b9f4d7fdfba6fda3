"""A worker's warm-up: what its first job would otherwise pay, paid before it says it is ready.

That is importing Qiskit, the sampler's modules and the transpiler's stage plugins (they import
all of qiskit-ibm-runtime: the largest part of a worker's start), then the first uses: a
worker's first job cost about 100 ms more than the next ones, none of it its own (the
transpiler's first ``isinstance`` checks of each pass against abstract classes fill Python's
caches; the sampler loads modules as it first needs them). Tiny jobs of the worker's own pay
those, and nothing of them stays where a later job could find it.
"""

from __future__ import annotations

import contextlib
import json

from qjob_tui.model import ProgramId
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.worker import Outcome, Task, run_group, run_task

# The warm-up jobs' circuit and backend: a one-qubit flip on a backend of their own name.
# A job may send the same circuit; it finds nothing of these in the caches, which are emptied.
WARM_UP_CIRCUIT = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n'
)
WARM_UP_BACKEND = "warm-up"


def import_for_jobs() -> None:
    """Import what every sampler job needs, and load the transpiler's stage plugins."""
    import qiskit  # noqa: F401
    from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePluginManager

    import qjob_tui.service.programs.sampler
    import qjob_tui.service.programs.sampler_run
    import qjob_tui.wire.sampler_results  # noqa: F401

    PassManagerStagePluginManager()


def run_warm_up_jobs() -> list[Outcome]:
    """Run one tiny sampler job alone and two as a group, then forget their circuits and
    backend; their outcomes. Only in a process that runs no job meanwhile: the caches it
    empties are the jobs' too."""
    from qjob_tui.service.programs import circuit_cache
    from qjob_tui.service.simulators import forget_backend
    from qjob_tui.wire.sampler_params import encode_sampler_params

    spec = BackendSpec(name=WARM_UP_BACKEND, kind="basic", num_qubits=1, simulator=True)
    params = json.dumps(encode_sampler_params([WARM_UP_CIRCUIT], 1))
    tasks = [Task(f"warm-up-{n}", ProgramId.SAMPLER, params, spec) for n in range(3)]
    try:
        return [run_task(tasks[0]), *run_group(tasks[1:])]
    finally:
        circuit_cache.forget_all()
        forget_backend(WARM_UP_BACKEND)


def warm_up(jobs: bool = True) -> None:
    """Import for jobs, then (``jobs``) run the warm-up jobs. Those are only a speed-up:
    should they fail (a --job-memory too small for them), the first real job fails in its own
    words."""
    import_for_jobs()
    if jobs:
        with contextlib.suppress(Exception):
            run_warm_up_jobs()
