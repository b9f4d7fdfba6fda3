"""The code a Dask worker runs for a job: the same ``run_task`` as the service's own workers."""

from __future__ import annotations

import warnings

from qjob_tui.service.warm_up import import_for_jobs
from qjob_tui.service.worker import Outcome, Task, run_task


def run_on_worker(task: Task) -> Outcome:
    """Run one job to an Outcome; never raises, so an exception means the worker failed."""
    warnings.simplefilter("ignore")
    return run_task(task)


def warm_up() -> None:
    """Import for jobs on a Dask worker, which would otherwise make its first job wait. No
    warm-up jobs: a worker may already run a job in another thread, whose caches they empty."""
    warnings.simplefilter("ignore")
    import_for_jobs()
