"""Job handles for Python scripts, with the methods of Qiskit's old job classes.

``BasicAerJob``, ``IBMCircuitJob`` and ``CQCExtractorJob`` were removed from Qiskit, and scripts
that used ``job.status()``, ``job.queue_position()`` or ``job.time_per_step()`` lost them. These
synchronous handles bring those names back over the async ``JobClient``, which runs on a private
event loop in a background thread so a script never has to know about asyncio::

    from qjob_tui.jobs import JobService
    service = JobService("http://127.0.0.1:8765")
    job = service.run(qasm_text, backend="basic_simulator", shots=1000)
    print(job.result().pubs[0].registers[0].counts)

Random-extractor jobs of the local service (the retired CQC extractor service, brought back) get
``ExtractorJob`` handles, with ``block_until_ready()``, ``extractor_method`` and ``parameters``
as ``CQCExtractorJob`` had, and ``service.cqc_extractor`` has the old ``CQCExtractor`` methods::

    bits = service.cqc_extractor.run(n, m, raw_bytes, wsr_bytes, 0, 0)
    job = service.run_extractor("both", raw_job=sampler_job)
    print(job.block_until_ready(timeout=60, wait=1)[:16], job.parameters)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from dateutil import tz
from numpy.typing import ArrayLike

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.api.parse import JobMetrics
from qjob_tui.api.source import Source
from qjob_tui.extract import as_bits, bits_to_bytes
from qjob_tui.model import (
    Backend,
    InstanceUsage,
    Job,
    JobStatus,
    ProgramId,
    QueueInfo,
    Session,
    Usage,
)
from qjob_tui.results import ExtractorResult, JobResult
from qjob_tui.wire.extractor import extractor_params

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

T = TypeVar("T")

WsrGenerator = Callable[[int], ArrayLike]
"""Makes a weak random string of the given number of bits, as ``ext2_wsr_generator`` did."""


class JobOperationError(Exception):
    """A job cannot do what was asked (as ``qiskit.providers.exceptions.JobOperationError``)."""


class JobTimeoutError(JobOperationError):
    """Waiting for a job took longer than the timeout."""


class JobFailureError(JobOperationError):
    """The job failed, so it has no result."""


class JobCancelledError(JobOperationError):
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

    def __init__(
        self, source: Source | str, token: str | None = None, *, apikey: str | None = None
    ) -> None:
        """A service URL with its token or IAM API key (those ``serve`` was given), or a Source."""
        if isinstance(source, str):
            source = Source.local(source, token, apikey=apikey)
        self.source = source
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

    def _handle(self, job: Job) -> QuantumJob:
        """The handle that fits the job's program: extractor jobs get ``ExtractorJob``."""
        if job.program == ProgramId.RANDOM_EXTRACTOR:
            return ExtractorJob(self, job)
        return QuantumJob(self, job)

    def job(self, job_id: str) -> QuantumJob:
        return self._handle(self._run(self._client.job(job_id)))

    def jobs(self, limit: int = 10, **filters: Any) -> list[QuantumJob]:
        page = self._run(self._client.jobs(limit=limit, **filters))
        return [self._handle(job) for job in page.jobs]

    def extractor_job(self, job_id: str) -> ExtractorJob:
        """The handle of a random-extractor job; JobOperationError for another program's job."""
        handle = self.job(job_id)
        if not isinstance(handle, ExtractorJob):
            raise JobOperationError(f"Job {job_id} is not a random-extractor job.")
        return handle

    def run_extractor(
        self,
        method: str,
        *,
        raw_job: str | QuantumJob | None = None,
        backend: str | None = None,
        tags: Sequence[str] = (),
        name: str | None = None,
        **fields: Any,
    ) -> ExtractorJob:
        """Submit a random-extractor job and return its handle.

        ``method`` is ``ext1``, ``ext2`` or ``both``; ``raw_job`` (an id or a handle) names a
        finished sampler job whose measured bits are ext1's raw source; ``fields`` are the other
        params, named as in ``qjob_tui.wire.extractor.extractor_params`` (bytes as bytes).
        """
        if isinstance(raw_job, QuantumJob):
            raw_job = raw_job.job_id()
        params = extractor_params(method, raw_job=raw_job, **fields)
        job_id = self._run(
            self._client.submit_extractor(params, backend=backend, tags=tags, name=name)
        )
        return ExtractorJob(self, self._run(self._client.job(job_id)), params=params)

    @property
    def cqc_extractor(self) -> CQCExtractor:
        """The old ``provider.random.cqc_extractor``, running on this service."""
        return CQCExtractor(self)

    def backends(self) -> list[Backend]:
        return self._run(self._client.backends())

    # --- sessions, batches and usage (qiskit-ibm-runtime's Session / Batch, service.usage) --

    def session(self, session_id: str) -> Session:
        """A session's or batch's details (``Session.details()``) as a ``model.Session``."""
        return self._run(self._client.session(session_id))

    def session_jobs(self, session_id: str) -> list[QuantumJob]:
        """Every job of a session or batch, newest first (``service.jobs(session_id=)``)."""
        return [self._handle(job) for job in self._run(self._client.session_jobs(session_id))]

    def close_session(self, session_id: str) -> None:
        """Stop the session accepting jobs; its jobs still run (``Session.close()``)."""
        self._run(self._client.close_session(session_id))

    def cancel_session(self, session_id: str) -> None:
        """Close the session so its queued jobs never run (``Session.cancel()``)."""
        self._run(self._client.cancel_session(session_id))

    def usage(self) -> InstanceUsage:
        """Quantum time used this period and the limit, if any (``service.usage()``)."""
        return self._run(self._client.usage())


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
            if timeout is None:
                time.sleep(wait)
                continue
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                raise JobTimeoutError(f"Timeout while waiting for job {self._job.id}.")
            # A long poll interval (old default: 10 s) must not overshoot the timeout.
            time.sleep(min(wait, remaining))

    def _wait_until_done(self, timeout: float | None, wait: float) -> None:
        """Wait for the final state; raise unless the job completed."""
        self.wait_for_final_state(timeout=timeout, wait=wait)
        if self._job.status is JobStatus.ERROR:
            raise JobFailureError(self.error_message() or f"Job {self._job.id} failed.")
        if self._job.status is JobStatus.CANCELLED:
            raise JobCancelledError(f"Job {self._job.id} was cancelled.")

    def result(self, timeout: float | None = None, wait: float = 0.5) -> JobResult:
        """Wait for the job, then return its counts and bitstrings per register."""
        self._wait_until_done(timeout, wait)
        result = self._run(self._client.results(self._job.id))
        if result is None:
            raise JobOperationError(f"Job {self._job.id} has no result.")
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

    @property
    def session_id(self) -> str | None:
        """The session or batch the job ran in, as ``RuntimeJobV2.session_id``."""
        return self._job.session_id

    @property
    def user_id(self) -> str | None:
        """Who submitted the job, where the server says."""
        return self._job.user_id

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
        from qjob_tui.wire.circuits import decode_circuits

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
        raise JobOperationError(
            "job.submit() is not supported. Use JobService.run() to submit a job."
        )


class ExtractorJob(QuantumJob):
    """A random-extractor job, with the methods of the old ``CQCExtractorJob``."""

    def __init__(self, service: JobService, job: Job, params: dict[str, Any] | None = None) -> None:
        super().__init__(service, job)
        self._submitted = params
        self._extracted: ExtractorResult | None = None

    def _submitted_params(self) -> dict[str, Any]:
        """The params as submitted; fetched once, since they never change."""
        if self._submitted is None:
            self._submitted = self._params()
        return self._submitted

    @property
    def extractor_method(self) -> str:
        """``ext1`` (Dodis), ``ext2`` (Hayashi) or ``both`` (ext1, then ext2 seeded by it)."""
        method = self._submitted_params().get("method")
        return method if isinstance(method, str) else ""

    @property
    def parameters(self) -> dict[str, Any]:
        """The params the job was submitted with, byte fields as ``bytes``, as the old job had.

        The sizes the service derived (from a ``raw_job``) are in ``result().params``.
        """
        decoded: dict[str, Any] = {}
        for key, value in self._submitted_params().items():
            if key.endswith("_bytes") and isinstance(value, str):
                try:
                    decoded[key] = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    decoded[key] = value
            else:
                decoded[key] = value
        return decoded

    def result(  # type: ignore[override]
        self, timeout: float | None = None, wait: float = 0.5
    ) -> ExtractorResult:
        """Wait for the job, then return its bits, the parameters used and their quality."""
        if self._extracted is None:
            self._wait_until_done(timeout, wait)
            extracted = self._run(self._client.extractor_result(self._job.id))
            if extracted is None:
                raise JobOperationError(f"Job {self._job.id} has no result.")
            self._extracted = extracted
        return self._extracted

    def block_until_ready(self, timeout: float | None = None, wait: float = 10) -> list[int]:
        """Wait for the job and return the extracted bits as a list of 0/1 ints.

        As ``CQCExtractorJob.block_until_ready``: polls every ``wait`` seconds and raises
        ``JobTimeoutError('Timeout while waiting for job {id}.')`` after ``timeout`` seconds.
        """
        return self.result(timeout=timeout, wait=wait).to_list()


CQCExtractorJob = ExtractorJob
"""The old class name, for scripts that check ``isinstance(job, CQCExtractorJob)``."""


def _packed(bits: ArrayLike, num_bits: int, what: str) -> bytes:
    """Bits (the first ``num_bits``) packed LSB first, as ``bitarray_to_bytes`` did."""
    arr = as_bits(np.asarray(bits).reshape(-1), what)
    if arr.size < num_bits:
        raise ValueError(f"{what} holds {arr.size} bits, fewer than the {num_bits} needed")
    return bits_to_bytes(arr[:num_bits])


class CQCExtractor:
    """The retired ``CQCExtractor`` (``provider.random.cqc_extractor``) on the local service.

    Same methods and arguments; each call submits a ``random-extractor`` job. Where the old
    client made the ext2 WSR with numpy by default, the service now does, from a seed it
    records in the result (``result().params["wsr_seed"]``).
    """

    name = "cqc"
    extractor_methods = ("ext1", "ext2")

    def __init__(
        self, service: JobService, *, backend: str | None = None, tags: Sequence[str] = ()
    ) -> None:
        self._service = service
        self._backend = backend
        self._tags = tuple(tags)

    def __repr__(self) -> str:
        return f"<CQCExtractor on {self._service.source.name}>"

    def _submit(self, method: str, **fields: Any) -> ExtractorJob:
        return self._service.run_extractor(method, backend=self._backend, tags=self._tags, **fields)

    @staticmethod
    def _ext2_wsr(
        generator: WsrGenerator | None, seed_num_bits: int, multiplier: int
    ) -> bytes | None:
        """The generator's WSR for ext2 (a * c bits) as bytes; None leaves it to the service."""
        if generator is None:
            return None
        num_bits = seed_num_bits * multiplier
        return _packed(generator(num_bits), num_bits, "ext2_wsr_generator's output")

    def run_async_ext1(
        self,
        ext1_input_num_bits: int,
        ext1_output_num_bits: int,
        ext1_raw_bytes: bytes,
        ext1_wsr_bytes: bytes,
    ) -> ExtractorJob:
        """Start ext1 (Dodis) on n raw bits and n WSR bits, for m output bits."""
        if not ext1_input_num_bits or not ext1_output_num_bits:
            raise ValueError(
                "Invalid input arguments. ext1_input_num_bits and ext1_output_num_bits "
                "must be non-zero."
            )
        return self._submit(
            "ext1",
            ext1_input_num_bits=ext1_input_num_bits,
            ext1_output_num_bits=ext1_output_num_bits,
            ext1_raw_bytes=ext1_raw_bytes,
            ext1_wsr_bytes=ext1_wsr_bytes,
        )

    def run_async_ext2(
        self,
        ext2_seed: ArrayLike,
        ext2_seed_num_bits: int,
        ext2_wsr_multiplier: int,
        ext2_wsr_generator: WsrGenerator | None = None,
    ) -> ExtractorJob:
        """Start ext2 (Hayashi) seeded by the first ``ext2_seed_num_bits`` bits of ``ext2_seed``."""
        if not ext2_seed_num_bits or not ext2_wsr_multiplier:
            raise ValueError(
                "Invalid input arguments. ext2_seed_num_bits and ext2_wsr_multiplier "
                "must be non-zero."
            )
        return self._submit(
            "ext2",
            ext2_seed_num_bits=ext2_seed_num_bits,
            ext2_wsr_multiplier=ext2_wsr_multiplier,
            ext2_seed_bytes=_packed(ext2_seed, ext2_seed_num_bits, "ext2_seed"),
            ext2_wsr_bytes=self._ext2_wsr(
                ext2_wsr_generator, ext2_seed_num_bits, ext2_wsr_multiplier
            ),
        )

    def run(
        self,
        ext1_input_num_bits: int,
        ext1_output_num_bits: int,
        ext1_raw_bytes: bytes,
        ext1_wsr_bytes: bytes,
        ext2_seed_num_bits: int,
        ext2_wsr_multiplier: int,
        ext2_wsr_generator: WsrGenerator | None = None,
        *,
        timeout: float | None = None,
        wait: float = 1.0,
    ) -> list[int]:
        """ext1, then ext2 seeded by its output unless ``ext2_wsr_multiplier`` is 0; blocks.

        Returns ext1's bits followed by ext2's, as a list of 0/1 ints, like the old ``run``.
        Both stages run in one ``both`` job, so the ext1 output never leaves the service.
        """
        if ext2_wsr_multiplier == 0:
            job = self.run_async_ext1(
                ext1_input_num_bits, ext1_output_num_bits, ext1_raw_bytes, ext1_wsr_bytes
            )
            return job.block_until_ready(timeout=timeout, wait=wait)
        if not ext1_input_num_bits or not ext1_output_num_bits:
            raise ValueError(
                "Invalid input arguments. ext1_input_num_bits and ext1_output_num_bits "
                "must be non-zero."
            )
        if not ext2_seed_num_bits:
            raise ValueError(
                "Invalid input arguments. ext2_seed_num_bits and ext2_wsr_multiplier "
                "must be non-zero."
            )
        job = self._submit(
            "both",
            ext1_input_num_bits=ext1_input_num_bits,
            ext1_output_num_bits=ext1_output_num_bits,
            ext1_raw_bytes=ext1_raw_bytes,
            ext1_wsr_bytes=ext1_wsr_bytes,
            ext2_seed_num_bits=ext2_seed_num_bits,
            ext2_wsr_multiplier=ext2_wsr_multiplier,
            ext2_wsr_bytes=self._ext2_wsr(
                ext2_wsr_generator, ext2_seed_num_bits, ext2_wsr_multiplier
            ),
        )
        return job.block_until_ready(timeout=timeout, wait=wait)

    def retrieve_job(self, job_id: str) -> ExtractorJob:
        """The handle of an earlier extractor job."""
        return self._service.extractor_job(job_id)
