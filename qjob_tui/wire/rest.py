"""The IBM Quantum REST API v1's shapes, once: status names, the time format, route paths, and
the JSON bodies of a job, its metrics, a device, a session, an instance's usage, and the events
of the change stream (``GET /stream``, an extension of the local service and the relay).

The service writes them from its records, the relay from the store's ``model`` objects, and
the client (``api/parse.py``) reads them back: all three build and read through this module,
and a round-trip property test (``tests/test_rest_shapes.py``) pins them to one shape. Field
names and title-case statuses follow IBM's OpenAPI description (see
``shared/reference/ibm-quantum-api.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from qjob_tui.model import JobStatus

# --- status names ------------------------------------------------------------------------

QUEUED = "Queued"
RUNNING = "Running"
COMPLETED = "Completed"
CANCELLED = "Cancelled"
FAILED = "Failed"
STATUSES = (QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED)
PENDING = (QUEUED, RUNNING)
FINAL = (COMPLETED, CANCELLED, FAILED)

# How a ``JobStatus`` is written on the wire (the legacy names where the API has no other).
STATUS_OF = {
    JobStatus.INITIALIZING: "INITIALIZING",
    JobStatus.QUEUED: QUEUED,
    JobStatus.VALIDATING: "VALIDATING",
    JobStatus.RUNNING: RUNNING,
    JobStatus.DONE: COMPLETED,
    JobStatus.CANCELLED: CANCELLED,
    JobStatus.ERROR: FAILED,
}

# qiskit-ibm-runtime's RuntimeJobV2.API_TO_JOB_STATUS, keyed by the upper-cased API string.
_JOB_STATUS = {
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
    # Older and composite strings of the legacy APIs.
    "CANCELLED - RAN TOO LONG": JobStatus.ERROR,
    "INITIALIZING": JobStatus.INITIALIZING,
    "VALIDATING": JobStatus.VALIDATING,
    "DONE": JobStatus.DONE,
    "ERROR": JobStatus.ERROR,
}

# Reason code with which IBM cancels a job that ran longer than its maximum execution time.
REASON_RAN_TOO_LONG = 1305


def status_from_api(status: str, reason_code: int | None = None) -> JobStatus:
    """Map a wire status to a JobStatus exactly as qiskit-ibm-runtime does.

    ``Cancelled`` with reason code 1305 is an ERROR (the job ran too long), not a cancel the
    user asked for. An unknown string raises ValueError, so a caller can say what it saw.
    """
    key = status.strip().upper()
    try:
        mapped = _JOB_STATUS[key]
    except KeyError:
        raise ValueError(f"unknown job status {status!r}") from None
    if mapped is JobStatus.CANCELLED and reason_code == REASON_RAN_TOO_LONG:
        return JobStatus.ERROR
    return mapped


# --- times -------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """A time as the API writes it: UTC, fixed-width ISO 8601 with microseconds and a ``Z``
    (so that text order is time order)."""
    if moment is None:
        return None
    # isoformat, not strftime: it pads the year to four digits and costs half as much (the
    # service writes a few of these for every job).
    return moment.astimezone(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


# --- route paths (below ``/api/v1``) --------------------------------------------------------

JOBS = "/jobs"
JOB = "/jobs/{job_id}"
JOB_METRICS = "/jobs/{job_id}/metrics"
JOB_RESULTS = "/jobs/{job_id}/results"
JOB_LOGS = "/jobs/{job_id}/logs"
JOB_CANCEL = "/jobs/{job_id}/cancel"
JOB_TAGS = "/jobs/{job_id}/tags"
BACKENDS = "/backends"
BACKEND_STATUS = "/backends/{name}/status"
BACKEND_CONFIGURATION = "/backends/{name}/configuration"
BACKEND_PROPERTIES = "/backends/{name}/properties"
USAGE = "/instances/usage"
VERSION = "/version"
# Every answer of a qjob-tui service (and of a relay, per source) names who answers, so that a
# client can tell at once that another server answers at an address.
INSTANCE_HEADER = "X-Qjob-Tui-Instance"
SESSIONS = "/sessions"
SESSION = "/sessions/{session_id}"
SESSION_CLOSE = "/sessions/{session_id}/close"
WORKLOADS = "/workloads"
STREAM = "/stream"


def path(route: str, **names: str) -> str:
    """A route with its names filled in, each quoted whole (an id is one path segment)."""
    return route.format(**{key: quote(value, safe="") for key, value in names.items()})


# --- bodies ------------------------------------------------------------------------------


def usage_body(seconds: float, final: bool) -> dict[str, Any]:
    """A job's usage (``usage`` of a job and of its metrics)."""
    return {
        "qpu_charge_time_seconds": seconds,
        "quantum_seconds": seconds,
        "seconds": seconds,
        "status": "complete" if final else "pending",
    }


def job_body(
    *,
    job_id: str,
    backend: str | None,
    status: str,
    program: str | None,
    created: datetime | str,
    tags: list[str],
    name: str | None,
    session_id: str | None,
    usage: dict[str, Any],
    estimated_running_seconds: float | None,
    reason: str | None = None,
    reason_code: int | None = None,
    reason_solution: str | None = None,
    private: bool = False,
) -> dict[str, Any]:
    """One job, as ``GET /jobs/{id}`` and the entries of ``GET /jobs`` have it
    (``JobResponseV3``), without params."""
    state: dict[str, Any] = {"status": status}
    if reason is not None:
        state["reason"] = reason
    if reason_code is not None:
        state["reason_code"] = reason_code
    if reason_solution is not None:
        state["reason_solution"] = reason_solution
    body: dict[str, Any] = {
        "id": job_id,
        "backend": backend,
        "state": state,
        "status": status,
        "program": {"id": program} if program else None,
        "created": created if isinstance(created, str) else iso(created),
        "tags": tags,
        "session_id": session_id,
        "usage": usage,
        "estimated_running_time_seconds": estimated_running_seconds,
        "name": name,
    }
    if private:
        body["private"] = True
    return body


def queue_body(
    position: int | None, start: datetime | None, completion: datetime | None
) -> dict[str, Any]:
    """A queued job's place and times: the old API's metrics fields (and, as an extension of
    the local service, on the entries of ``GET /jobs``)."""
    return {
        "position_in_queue": position,
        "position_in_provider": position,
        "estimated_start_time": iso(start),
        "estimated_completion_time": iso(completion),
    }


def metrics_body(
    timestamps: dict[str, str | None], usage: dict[str, Any], queue: dict[str, Any]
) -> dict[str, Any]:
    """``GET /jobs/{id}/metrics``: the steps' times, the usage and the queue place."""
    return {"timestamps": timestamps, "usage": usage, **queue}


def device_body(
    *,
    name: str,
    state: str,
    reason: str,
    queue_length: int,
    qubits: int | None,
    simulator: bool,
) -> dict[str, Any]:
    """One entry of ``GET /backends`` (``devices[]``)."""
    return {
        "name": name,
        "status": {"name": state, "reason": reason},
        "queue_length": queue_length,
        "qubits": qubits,
        "is_simulator": simulator,
    }


def instance_usage_body(
    *,
    consumed: float,
    limit: float | None,
    reached: bool,
    start: datetime | None,
    end: datetime | None,
    instance: str | None,
) -> dict[str, Any]:
    """``GET /instances/usage``."""
    period = None
    if start is not None or end is not None:
        period = {"start_time": iso(start), "end_time": iso(end)}
    return {
        "usage_consumed_seconds": consumed,
        "usage_limit_seconds": limit,
        "usage_limit_reached": reached,
        "usage_period": period,
        "instance_id": instance,
    }


def session_body(
    *,
    session_id: str,
    mode: str,
    state: str,
    state_reason: str | None,
    accepting_jobs: bool,
    backend: str | None,
    interactive_ttl: float | None,
    max_ttl: float | None,
    active_ttl: float | None,
    started_at: datetime | None,
    activated_at: datetime | None,
    closed_at: datetime | None,
    last_job_started: datetime | None,
    last_job_completed: datetime | None,
    elapsed_seconds: float | None,
    user_id: str | None,
    steps: Iterable[tuple[str, datetime]],
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """``GET /sessions/{id}``: a session or batch, with the moments of its state changes."""
    return {
        "id": session_id,
        "backend_name": backend,
        "mode": mode,
        "state": state,
        "state_reason": state_reason,
        "accepting_jobs": accepting_jobs,
        "interactive_ttl": interactive_ttl,
        "max_ttl": max_ttl,
        "active_ttl": active_ttl,
        "started_at": iso(started_at),
        "activated_at": iso(activated_at),
        "closed_at": iso(closed_at),
        "last_job_started": iso(last_job_started),
        "last_job_completed": iso(last_job_completed),
        "elapsed_time": elapsed_seconds,
        "timestamps": [{"status": name, "timestamp": iso(at)} for name, at in steps],
        "user_id": user_id,
        "created_at": iso(created_at),
    }


# --- the change stream (``GET /stream``) --------------------------------------------------

HELLO_EVENT = "hello"
JOB_EVENT = "job"
HEALTH_EVENT = "health"  # the relay's word on its upstream
STREAM_VERSION = 1
# Seconds between comment lines on an idle stream, said in the hello: a client that hears
# nothing for this long plus its request timeout knows the server stopped answering.
KEEPALIVE = 5.0
# The fields of a job body whose change a job event names.
CHANGE_FIELDS = ("status", "name", "tags", "backend", "usage", "estimated_running_time_seconds")


def hello_body(source: str | None = None) -> dict[str, Any]:
    """The first event of a stream (the relay names the source it streams)."""
    body: dict[str, Any] = {"version": STREAM_VERSION, "keepalive": KEEPALIVE}
    if source is not None:
        body["source"] = source
    return body


def change_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    """What of a job body a later event compares with, to name the fields that changed."""
    return {name: job.get(name) for name in CHANGE_FIELDS}


def changed_fields(before: Mapping[str, Any] | None, job: Mapping[str, Any]) -> list[str]:
    """The fields of a job body that changed since ``before`` (its ``change_summary``; None:
    never sent, so all of them)."""
    return [name for name in CHANGE_FIELDS if before is None or before.get(name) != job.get(name)]


def job_event_body(
    job: dict[str, Any], metrics: dict[str, Any], changed: list[str]
) -> dict[str, Any]:
    """A ``job`` event: the job and its metrics as ``GET /jobs/{id}`` and ``/metrics`` have
    them, so that a client needs no further request."""
    return {
        "id": job["id"],
        "status": job["status"],
        "changed": changed,
        "job": job,
        "metrics": metrics,
    }


def deleted_event_body(job_id: str) -> dict[str, Any]:
    """A ``job`` event for a job that is gone."""
    return {"id": job_id, "deleted": True}
