"""Worker processes that run jobs, one job per process at a time.

Processes are started with ``spawn`` (the service has threads, so ``fork`` is unsafe) and kept
for the next job, since importing Qiskit costs a second. Cancelling a running job kills its
process, which stops any simulation at once; a fresh process replaces it when needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import Executor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from qjob_tui.service.errors import CODE_OUT_OF_MEMORY
from qjob_tui.service.worker import Outcome, Task, serve


class WorkerGone(Exception):
    """The worker process died or was killed before it answered."""


class WorkerLost(WorkerGone):
    """The worker went away by itself (a machine or process lost, not a kill): worth one retry."""


class Worker:
    """One worker process and its pipe."""

    def __init__(self, memory_limit: int | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process: BaseProcess = ctx.Process(
            target=serve, args=(child, memory_limit), daemon=True, name="qjob-tui-worker"
        )
        self._process.start()
        child.close()
        self._ready = False
        self.job_id: str | None = None

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _wait(self) -> object:
        """Block until the worker says something (in a thread, never on the event loop)."""
        conn: Connection = self._conn
        try:
            return conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerGone(str(exc) or "worker exited") from None

    async def run(self, task: Task, waits: Executor | None = None) -> Outcome:
        """Run a task in this worker and wait for its outcome (in a thread of ``waits``)."""
        loop = asyncio.get_running_loop()
        if not self._ready:
            await loop.run_in_executor(waits, self._wait)
            self._ready = True
        self.job_id = task.job_id
        try:
            self._conn.send(task)
            answer = await loop.run_in_executor(waits, self._wait)
        except (OSError, ValueError) as exc:
            raise WorkerGone(str(exc)) from None
        finally:
            self.job_id = None
        if not isinstance(answer, Outcome):
            raise WorkerGone(f"unexpected answer {type(answer).__name__}")
        return answer

    def kill(self) -> None:
        """Stop the process now; any task it runs is abandoned."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)

    def dispose(self) -> None:
        """Kill the process and release its pipe, once no thread reads from it."""
        self.kill()
        self._conn.close()

    def close(self) -> None:
        """Ask the process to exit after its current task, then reap it."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._conn.close()


class WorkerPool:
    """At most ``size`` worker processes, handed out to running jobs."""

    def __init__(self, size: int, memory_limit: int | None = None) -> None:
        self.size = max(1, size)
        self.memory_limit = memory_limit
        # One thread per worker to wait on its pipe, apart from the threads that serve reads.
        self._waits = ThreadPoolExecutor(max_workers=self.size + 1, thread_name_prefix="qjob-wait")
        self._idle: list[Worker] = []
        self._busy: dict[str, Worker] = {}

    @property
    def has_capacity(self) -> bool:
        return len(self._busy) < self.size

    def prestart(self, count: int = 1) -> None:
        """Start processes ahead of the first job, so that it does not wait for Qiskit."""
        while len(self._idle) + len(self._busy) < min(count, self.size):
            self._idle.append(Worker(self.memory_limit))

    async def run(self, task: Task) -> Outcome:
        worker = None
        while self._idle:
            candidate = self._idle.pop()
            if candidate.alive:
                worker = candidate
                break
            candidate.dispose()
        if worker is None:
            worker = Worker(self.memory_limit)
        self._busy[task.job_id] = worker
        try:
            outcome = await worker.run(task, self._waits)
        except WorkerGone:
            worker.dispose()
            raise
        finally:
            self._busy.pop(task.job_id, None)
        if outcome.code == CODE_OUT_OF_MEMORY:
            worker.dispose()  # a process that ran out of memory is not trusted with the next job
        else:
            self._idle.append(worker)
        return outcome

    def pid(self, job_id: str) -> int | None:
        """The process id of the worker running this job, if one does."""
        worker = self._busy.get(job_id)
        return worker.pid if worker is not None else None

    def kill(self, job_id: str) -> bool:
        """Kill the worker running this job; False if no worker runs it."""
        worker = self._busy.pop(job_id, None)
        if worker is None:
            return False
        worker.kill()
        return True

    def close(self) -> None:
        for worker in self._idle:
            worker.close()
        for worker in self._busy.values():
            worker.kill()  # its job's coroutine sees WorkerGone and disposes of it
        self._idle.clear()
        self._busy.clear()
        self._waits.shutdown(wait=False)
