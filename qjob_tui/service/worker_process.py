"""A worker process's life: warm up, say it is ready, then tasks in and outcomes out until the
pipe closes (what a task and a group do is ``worker.py``'s; the warm-up is ``warm_up.py``'s)."""

from __future__ import annotations

import signal
import time
import warnings
from collections import deque
from dataclasses import replace
from multiprocessing.connection import Connection

from qjob_tui.service.warm_up import warm_up
from qjob_tui.service.worker import (
    Skip,
    Started,
    Task,
    limit_memory,
    next_group,
    run_group,
    run_task,
    take,
)


def serve(conn: Connection, memory_limit: int | None = None) -> None:
    """The worker process's main loop: tasks in, outcomes out, until the pipe closes."""
    # A Ctrl-C at the terminal reaches the whole process group; the service stops its workers
    # itself, so a worker ignores it (else it printed a traceback from its warm-up imports).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")
    limit_memory(memory_limit)
    # A worker started for a job already sent does not keep it waiting for jobs of its own.
    warm_up(jobs=not conn.poll())
    conn.send("ready")
    waiting: deque[Task] = deque()
    while True:
        try:
            # Read everything sent so far; wait for more only when nothing is left to run.
            while not waiting or conn.poll():
                message = conn.recv()
                if message is None:
                    return
                take(waiting, message)
                if isinstance(message, Skip):
                    # Said back once read: the pool knows then that a skipped job never starts
                    # here (a Started sent before it shows the job had begun).
                    conn.send(message)
        except (EOFError, OSError, KeyboardInterrupt):
            return
        group = next_group(waiting)
        if len(group) == 1:
            task = group[0]
            conn.send(Started(task.job_id, time.time()))
            conn.send(replace(run_task(task), job_id=task.job_id))
        else:
            # One message for the group's start and one for its outcomes: one hand-over each.
            at = time.time()
            conn.send(tuple(Started(task.job_id, at) for task in group))
            conn.send(tuple(run_group(group)))
