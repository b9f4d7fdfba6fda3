"""A worker process's life: warm up, say it is ready, then tasks in and outcomes out until the
pipe closes (what a task and a group do is ``worker.py``'s; the warm-up is ``warm_up.py``'s)."""

from __future__ import annotations

import os
import signal
import threading
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

PARENT_CHECK_SECONDS = 0.5


def _end_with(parent: int) -> None:
    """End this process once its service is gone (killed, or hung up on): an orphan ran its
    job on, and a restarted service ran the same job again beside it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="qjob-parent-watch").start()


def serve(conn: Connection, memory_limit: int | None = None, service: int | None = None) -> None:
    """The worker process's main loop: tasks in, outcomes out, until the pipe closes.
    ``service``: the service's process id (gone already if this one's parent is not it)."""
    # A Ctrl-C at the terminal reaches the whole process group; the service stops its workers
    # itself, so a worker ignores it (else it printed a traceback from its warm-up imports).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with(os.getppid() if service is None else service)
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
