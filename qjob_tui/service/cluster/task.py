"""The code a Dask worker runs for a job: the same ``run_task`` as the service's own workers."""

from __future__ import annotations

import warnings

from qjob_tui.service import worker
from qjob_tui.service.worker import Outcome, Task, run_task


def run_on_worker(task: Task) -> Outcome:
    """Run one job to an Outcome; never raises, so an exception means the worker failed."""
    warnings.simplefilter("ignore")
    return run_task(task)


def warm_up() -> None:
    """Ready a Dask worker as the service readies its own (``worker.warm_up``): Qiskit and the
    transpiler's plugins imported, first uses paid, before its first job."""
    warnings.simplefilter("ignore")
    worker.warm_up()
