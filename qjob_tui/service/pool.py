"""Worker processes that run jobs, a batch of one backend's jobs per process at a time.

Processes are started with ``spawn`` (the service has threads, so ``fork`` is unsafe) and kept
for the next batch, since importing Qiskit costs a second. A worker gets the next few jobs of a
backend at once and runs them one after the other (or, on a simulator, as a group that shares
its simulator calls), so it never waits for the service between jobs; a thread per worker reads
its pipe and hands each message to the event loop. Cancelling a job that waits in a batch tells
the worker to skip it, and the batch lasts until the worker says the skip back (one that began
the job as the skip was sent is killed, never handed the next batch); cancelling the running
one kills its process, which stops any simulation at once (a job running in a group is left to
end with it, unless every job of the group is stopped); a fresh process replaces it when needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import threading
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from qjob_tui.service.errors import CODE_OUT_OF_MEMORY
from qjob_tui.service.worker import Outcome, Skip, Started, Task
from qjob_tui.service.worker_process import serve

# Jobs of one backend handed to a worker at once, at most.
BATCH_SIZE = 16


_CLOSED = object()  # ends a worker's writer thread


class WorkerGone(Exception):
    """The worker process died or was killed before it answered."""


class WorkerLost(WorkerGone):
    """The worker went away by itself (a machine or process lost, not a kill): worth one retry."""


class Worker:
    """One worker process, its pipe, and the jobs of the batch it holds."""

    def __init__(self, memory_limit: int | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process: BaseProcess = ctx.Process(
            target=serve,
            args=(child, memory_limit, os.getpid()),
            daemon=True,
            name="qjob-tui-worker",
        )
        self._process.start()
        child.close()
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, daemon=True, name="qjob-pipe-out")
        self._writer.start()
        self._inbox: asyncio.Queue[object] | None = None
        self._gone: WorkerGone | None = None
        self.running: list[str] = []  # the jobs it runs now: one, or a group started together
        self.stopped: set[str] = set()  # jobs of the running group stopped (cancelled, limits)
        self.waiting: list[str] = []  # the jobs of its batch not started yet
        self.unanswered: set[str] = set()  # jobs skipped whose Skip the process has not said back

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _listen(self) -> asyncio.Queue[object]:
        """Start the thread that moves the pipe's messages to the event loop (once)."""
        if self._inbox is None:
            loop = asyncio.get_running_loop()
            self._inbox = asyncio.Queue()
            reader = threading.Thread(
                target=self._read, args=(loop, self._inbox), daemon=True, name="qjob-pipe"
            )
            reader.start()
        return self._inbox

    def _read(self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[object]) -> None:
        """Blocking reads of the pipe, in the reader thread, until the process is gone."""
        conn: Connection = self._conn
        while True:
            try:
                message: object = conn.recv()
            except (EOFError, OSError) as exc:
                message = WorkerGone(str(exc) or "worker exited")
            except Exception as exc:  # an answer that does not unpickle
                message = WorkerGone(f"unreadable answer: {exc}")
            try:
                loop.call_soon_threadsafe(inbox.put_nowait, message)
            except RuntimeError:  # the loop closed
                return
            if isinstance(message, WorkerGone):
                return

    async def next(self) -> object:
        """The worker's next message; WorkerGone once its process is gone."""
        if self._gone is not None:
            raise self._gone
        message = await self._listen().get()
        if isinstance(message, WorkerGone):
            self._gone = message
            raise message
        return message

    def _write(self) -> None:
        """Blocking writes of the pipe, in the writer thread: a process that reads late (still
        importing Qiskit) or a large batch never holds the event loop."""
        while (message := self._outbox.get()) is not _CLOSED:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                return  # the process is gone: its reader says so

    def send(self, message: object) -> None:
        """Queue a message for the process, in order; a dead process shows as WorkerGone in
        ``next``."""
        self._outbox.put(message)

    def _stop_writing(self) -> None:
        self._outbox.put(_CLOSED)
        self._writer.join(timeout=5)  # the process is gone: a write pending fails at once

    def skip(self, job_id: str) -> None:
        """Drop a job of the batch that has not started. The process may have begun it as the
        skip was sent: the batch lasts until the process says the skip back."""
        self.waiting.remove(job_id)
        self.unanswered.add(job_id)
        self.send(Skip((job_id,)))

    def kill(self) -> None:
        """Stop the process now; any task it runs is abandoned."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)

    def dispose(self) -> None:
        """Kill the process and release its pipe (its reader thread ends at the EOF)."""
        self.kill()
        self._stop_writing()
        self._conn.close()

    def close(self) -> None:
        """Ask the process to exit after its current task, then reap it."""
        self.send(None)
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._stop_writing()
        self._conn.close()


class WorkerPool:
    """At most ``size`` worker processes, each running one batch of one backend at a time."""

    batch_size = BATCH_SIZE

    def __init__(self, size: int, memory_limit: int | None = None) -> None:
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self._idle: list[Worker] = []
        self._in_use: list[Worker] = []
        self._busy: dict[str, Worker] = {}  # job id -> the worker holding it (running or not)

    @property
    def has_capacity(self) -> bool:
        return len(self._in_use) < self.size

    @property
    def slots(self) -> int:
        """Batches that may run at once: one per process, never more processes than ``size``."""
        return self.size

    @property
    def processes(self) -> int:
        """Worker processes alive or starting now."""
        return len(self._idle) + len(self._in_use)

    def prestart(self, count: int = 1) -> None:
        """Start processes ahead of the first job, so that it does not wait for Qiskit."""
        while self.processes < min(count, self.size):
            self._idle.append(Worker(self.memory_limit))

    def _take(self) -> Worker:
        while self._idle:
            candidate = self._idle.pop()
            if candidate.alive:
                return candidate
            candidate.dispose()
        return Worker(self.memory_limit)

    async def run(self, task: Task) -> Outcome:
        """Run one task and return its outcome."""
        async for message in self.run_batch([task]):  # one task: never a group
            if isinstance(message, Outcome):
                return message
        raise WorkerGone("the worker ended without an outcome")

    async def run_batch(
        self, tasks: Sequence[Task]
    ) -> AsyncIterator[Started | tuple[Started, ...] | Outcome]:
        """Hand a batch to one worker; yield each job's ``Started`` and ``Outcome`` in turn.

        Jobs the worker runs as a group (see ``worker.next_group``) start together: their
        ``Started`` come as one tuple, then each one's ``Outcome``. Raises WorkerGone when the
        process dies; the jobs it had not started are the caller's to queue again. Closing the
        iterator early kills the worker if it still holds jobs.
        """
        worker = self._take()
        self._in_use.append(worker)
        worker.waiting = [task.job_id for task in tasks]
        for task in tasks:
            self._busy[task.job_id] = worker
        trusted = True
        try:
            worker.send(list(tasks))
            while worker.waiting or worker.running or worker.unanswered:
                message = await worker.next()
                if message == "ready":
                    continue
                if isinstance(message, Skip):
                    worker.unanswered.difference_update(message.job_ids)
                    continue
                if isinstance(message, Started):
                    if message.job_id not in worker.waiting:
                        # Skipped too late: the job was cancelled as it began. Stop it; the
                        # batch's jobs not started are the caller's to queue again.
                        worker.kill()
                        return
                    worker.waiting.remove(message.job_id)
                    worker.running = [message.job_id]
                    yield message
                elif isinstance(message, tuple) and all(isinstance(m, Started) for m in message):
                    # A group: a job skipped too late is already final; its outcome is dropped.
                    group = tuple(m for m in message if m.job_id in worker.waiting)
                    for started in group:
                        worker.waiting.remove(started.job_id)
                    worker.running = [started.job_id for started in group]
                    worker.stopped = set()
                    if group:
                        yield group
                elif isinstance(message, tuple) and all(isinstance(m, Outcome) for m in message):
                    for outcome in message:
                        if not self._ended(worker, outcome):
                            continue
                        yield outcome
                        if outcome.code == CODE_OUT_OF_MEMORY:
                            trusted = False  # not trusted with the next job; the rest re-queue
                    if not trusted:
                        return
                elif isinstance(message, Outcome):
                    if not self._ended(worker, message):
                        continue  # the outcome of a job killed or skipped meanwhile
                    if message.code == CODE_OUT_OF_MEMORY:
                        trusted = False  # not trusted with the next job; the rest re-queue
                    yield message
                    if not trusted:
                        return
                else:
                    raise WorkerGone(f"unexpected answer {type(message).__name__}")
        except WorkerGone:
            trusted = False
            raise
        finally:
            for job_id in [*worker.waiting, *worker.running]:
                if self._busy.get(job_id) is worker:
                    del self._busy[job_id]
            busy = bool(worker.running) or bool(worker.waiting) or bool(worker.unanswered)
            worker.running = []
            worker.waiting = []
            worker.unanswered = set()
            with contextlib.suppress(ValueError):
                self._in_use.remove(worker)
            if trusted and not busy and worker.alive:
                self._idle.append(worker)
            else:
                worker.dispose()

    def _ended(self, worker: Worker, outcome: Outcome) -> bool:
        """Note that a running job ended; False for the outcome of a job it no longer runs."""
        if outcome.job_id not in worker.running:
            return False
        worker.running.remove(outcome.job_id)
        self._busy.pop(outcome.job_id, None)
        return True

    def pid(self, job_id: str) -> int | None:
        """The process id of the worker running this job, if one does."""
        worker = self._busy.get(job_id)
        return worker.pid if worker is not None and job_id in worker.running else None

    def kill(self, job_id: str) -> bool:
        """Stop this job: skip it if it waits in a batch, kill its worker if it runs."""
        worker = self._busy.pop(job_id, None)
        if worker is None:
            return False
        if job_id in worker.waiting:
            worker.skip(job_id)
        elif len(worker.running) > 1 and not set(worker.running) <= {*worker.stopped, job_id}:
            # It runs in a group whose simulator calls it shares with the group's other jobs:
            # killing the worker would end jobs nobody stopped. The job is final already (its
            # outcome's write changes nothing), and the group, a batch's few small jobs of a
            # simulator, ends soon; once every job of the group is stopped, the worker is killed.
            worker.stopped.add(job_id)
        else:
            worker.kill()
        return True

    def close(self) -> None:
        for worker in self._idle:
            worker.close()
        for worker in self._in_use:
            worker.kill()  # its batch's iterator sees WorkerGone and disposes of it
        self._idle.clear()
        self._busy.clear()
