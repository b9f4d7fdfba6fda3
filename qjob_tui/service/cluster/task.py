"""The code a Dask worker runs for a job: the same ``run_task`` as the service's own workers."""

from __future__ import annotations

import warnings

from qjob_tui.service.worker import Outcome, Task, run_task


def run_on_worker(task: Task) -> Outcome:
    """Run one job to an Outcome; never raises, so an exception means the worker failed."""
    warnings.simplefilter("ignore")
    return run_task(task)


def warm_up() -> None:
    """Import Qiskit on a worker before its first job, which would otherwise wait a second."""
    warnings.simplefilter("ignore")
    import qiskit  # noqa: F401
