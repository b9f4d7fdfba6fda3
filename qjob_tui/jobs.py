"""Job handles for Python scripts, with the methods of Qiskit's old job classes.

``BasicAerJob``, ``IBMCircuitJob`` and ``CQCExtractorJob`` were removed from Qiskit, and scripts
that used ``job.status()``, ``job.queue_position()`` or ``job.time_per_step()`` lost them. These
synchronous handles bring those names back over the async ``JobClient``, which runs on a private
event loop in a background thread so a script never has to know about asyncio::

    from qjob_tui.jobs import JobService
    service = JobService("http://127.0.0.1:8765")
    job = service.run(qasm_text, backend="basic_simulator", shots=1000)
    print(job.result().pubs[0].registers[0].counts)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from dateutil import tz

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.api.parse import JobMetrics
from qjob_tui.api.source import Source
from qjob_tui.model import Backend, Job, JobResult, JobStatus, QueueInfo, Usage

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

T = TypeVar("T")


class JobError(Exception):
    """A job cannot do what was asked (as ``qiskit.providers.exceptions.JobError``)."""


class JobTimeoutError(JobError):
    """Waiting for a job took longer than the timeout."""


class JobFailureError(JobError):
    """The job failed, so it has no result."""


class JobCancelledError(JobError):
    """The job was cancelled, so it has no result."""


class _Loop:
    """One event loop in a daemon thread, shared by every synchronous handle of the process."""

    _lock = threading.Lock()
    _instance: _Loop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self.loop.run_forever, name="qjob-tui-jobs", daemon=True)
        thread.start()

    @classmethod
    def get(cls) -> _Loop:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


class JobService:
    """A synchronous entry point to one source: submit jobs, fetch them, list them."""

    def __init__(self, source: Source | str, token: str | None = None) -> None:
        self.source = Source.local(source, token) if isinstance(source, str) else source
        self._loop = _Loop.get()
        self._client = self._loop.run(self._make_client())

    async def _make_client(self) -> JobClient:
        return JobClient(self.source)

    def __repr__(self) -> str:
        return f"JobService({self.source!r})"

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run(coro)

    def close(self) -> None:
        self._run(self._client.aclose())

    def __enter__(self) -> JobService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        circuits: QuantumCircuit | str | Sequence[QuantumCircuit | str],
        backend: str,
        *,
        shots: int | None = None,
        tags: Sequence[str] = (),
        name: str | None = None,
    ) -> QuantumJob:
        """Submit one or more circuits (Qiskit or OpenQASM) and return the job's handle."""
        if isinstance(circuits, str) or not isinstance(circuits, Sequence):
            circuits = [circuits]
        job_id = self._run(
            self._client.submit(list(circuits), backend, shots=shots, tags=tags, name=name)
        )
        return self.job(job_id)

    def job(self, job_id: str) -> QuantumJob:
        return QuantumJob(self, self._run(self._client.job(job_id)))

    def jobs(self, limit: int = 10, **filters: Any) -> list[QuantumJob]:
        page = self._run(self._client.jobs(limit=limit, **filters))
        return [QuantumJob(self, job) for job in page.jobs]

    def backends(self) -> list[Backend]:
        return self._run(self._client.backends())


class QuantumJob:
    """One job, with the method names Qiskit users know from the old job classes."""

    def __init__(self, service: JobService, job: Job) -> None:
        self._service = service
        self._job = job
        self._metrics: JobMetrics | None = None

    def __repr__(self) -> str:
        return f"<QuantumJob {self._job.id} {self._job.status.value} on {self._job.backend}>"

    @property
    def _client(self) -> JobClient:
        return self._service._client

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._service._run(coro)

    @property
    def snapshot(self) -> Job:
        """The job as last fetched."""
        return self._job

    # --- identity and state --------------------------------------------------------------

    def job_id(self) -> str:
        return self._job.id

    def refresh(self) -> None:
        """Fetch the job and its metrics again."""
        self._job = self._run(self._client.job(self._job.id))
        self._metrics = self._run(self._client.metrics(self._job.id))

    def status(self) -> JobStatus:
        """The current status; fetched from the service until the job is final."""
        if not self._job.status.is_final:
            self._job = self._run(self._client.job(self._job.id))
        return self._job.status

    def done(self) -> bool:
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        return self.status().is_final

    def cancel(self) -> bool:
        """Ask the service to cancel the job; False if it was already final or refused."""
        try:
            self._run(self._client.cancel(self._job.id))
        except ApiError:
            return False
        self.refresh()
        return True

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 0.5,
        callback: Callable[[str, JobStatus, QuantumJob], None] | None = None,
    ) -> None:
        """Poll until the job is final; ``callback(job_id, status, job)`` after each poll."""
        start = time.monotonic()
        wait = max(wait, 0.1)
        while True:
            status = self.status()
            if callback is not None:
                callback(self._job.id, status, self)
            if status.is_final:
                return
            if timeout is not None and time.monotonic() - start >= timeout:
                raise JobTimeoutError(f"Timeout while waiting for job {self._job.id}.")
            time.sleep(wait)

    def result(self, timeout: float | None = None, wait: float = 0.5) -> JobResult:
        """Wait for the job, then return its counts and bitstrings per register."""
        self.wait_for_final_state(timeout=timeout, wait=wait)
        if self._job.status is JobStatus.ERROR:
            raise JobFailureError(self.error_message() or f"Job {self._job.id} failed.")
        if self._job.status is JobStatus.CANCELLED:
            raise JobCancelledError(f"Job {self._job.id} was cancelled.")
        result = self._run(self._client.results(self._job.id))
        if result is None:
            raise JobError(f"Job {self._job.id} has no result.")
        return result

    def error_message(self) -> str | None:
        """Why the job failed, as qiskit-ibm-runtime words it; None unless it failed."""
        if self.status() is not JobStatus.ERROR or self._job.error is None:
            return None
        error = self._job.error
        lines = [f"Job {self._job.id} has failed:", str(error)]
        if error.solution:
            lines.append(f"Solution: {error.solution}")
        return "\n".join(lines)

    # --- times and queue -----------------------------------------------------------------

    def _fetch_metrics(self, refresh: bool = True) -> JobMetrics:
        if self._metrics is None or refresh:
            self._metrics = self._run(self._client.metrics(self._job.id))
        return self._metrics

    def creation_date(self) -> datetime:
        """When the job was created, in local time."""
        return self._job.created.astimezone(tz.tzlocal())

    def time_per_step(self) -> dict[str, datetime]:
        """When the job reached each step (created, queued, running, finished), local time."""
        metrics = self._fetch_metrics(
            refresh=not self._job.status.is_final or self._metrics is None
        )
        return {step.name.upper(): step.at.astimezone(tz.tzlocal()) for step in metrics.steps}

    def queue_position(self, refresh: bool = False) -> int | None:
        """The job's place in its backend's queue; None when not queued or not provided."""
        if refresh or self._metrics is None:
            self.status()
            self._fetch_metrics()
        if self._job.status is not JobStatus.QUEUED or self._metrics is None:
            return None
        return self._metrics.queue.position

    def queue_info(self) -> QueueInfo | None:
        """Position and estimated start and completion, where the service gives them."""
        if self.status() is not JobStatus.QUEUED:
            return None
        return self._fetch_metrics().queue

    @property
    def usage_estimation(self) -> dict[str, float | None]:
        return {"quantum_seconds": self._job.estimated_running_seconds}

    def usage(self) -> Usage:
        return self._fetch_metrics().usage

    @property
    def client_version(self) -> dict[str, str]:
        metrics = self._fetch_metrics(refresh=False)
        return {"qiskit": metrics.qiskit_version} if metrics.qiskit_version else {}

    # --- description ---------------------------------------------------------------------

    def backend(self) -> str | None:
        """The name of the backend the job runs on."""
        return self._job.backend

    def tags(self) -> list[str]:
        return list(self._job.tags)

    def update_tags(
        self,
        new_tags: Sequence[str] | None = None,
        *,
        additional_tags: Sequence[str] = (),
        removal_tags: Sequence[str] = (),
    ) -> list[str]:
        """Replace the tags (qiskit-ibm-runtime), or add and remove some (IBMCircuitJob)."""
        tags = list(self._job.tags if new_tags is None else new_tags)
        tags = [t for t in tags if t not in set(removal_tags)] + list(additional_tags)
        self._run(self._client.set_tags(self._job.id, tags))
        self._job = self._run(self._client.job(self._job.id))
        return self.tags()

    def name(self) -> str | None:
        return self._job.name

    def update_name(self, name: str) -> str | None:
        self._run(self._client.rename(self._job.id, name))
        self._job = self._run(self._client.job(self._job.id))
        return self._job.name

    def _params(self) -> dict[str, Any]:
        return self._run(self._client.params(self._job.id)) or {}

    def backend_options(self) -> dict[str, Any]:
        """The run options the job was submitted with."""
        options = self._params().get("options")
        return dict(options) if isinstance(options, dict) else {}

    def circuits(self) -> list[QuantumCircuit]:
        """The job's circuits, decoded, where the service returns the job's params."""
        from qjob_tui.api.codec import decode_circuits

        return decode_circuits(self._params())

    def header(self) -> dict[str, Any]:
        """What the old qobj header held: backend, job name and tags."""
        return {"backend_name": self._job.backend, "job_name": self._job.name, "tags": self.tags()}

    def properties(self) -> dict[str, Any] | None:
        """The backend's calibration data when the job ran (None for simulators)."""
        if not self._job.backend:
            return None
        metrics = self._fetch_metrics(refresh=False)
        ran = next((step.at for step in metrics.steps if step.name == "running"), None)
        return self._run(self._client.backend_properties(self._job.backend, ran))

    def scheduling_mode(self) -> str | None:
        """Fair-share scheduling is the only mode IBM Quantum Platform has today."""
        return "fairshare" if self._job.backend else None

    def submit(self) -> None:
        raise JobError("job.submit() is not supported. Use JobService.run() to submit a job.")
