"""``model`` objects back into the IBM Quantum REST API v1's JSON, for the relay's answers.

The inverse of ``api/parse.py``: what ``job_json`` writes, ``job_from_api`` reads back as the
same ``Job`` (and ``metrics_json`` with ``metrics_from_api``), so that a dashboard watching the
relay sees what the relay's store sees.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qjob_tui.model import (
    API_CANCELLED,
    API_COMPLETED,
    API_FAILED,
    API_QUEUED,
    API_RUNNING,
    Backend,
    InstanceUsage,
    Job,
    JobStatus,
    Session,
)
from qjob_tui.store.changes import SourceHealth

_API_STATUS = {
    JobStatus.INITIALIZING: "INITIALIZING",
    JobStatus.QUEUED: API_QUEUED,
    JobStatus.VALIDATING: "VALIDATING",
    JobStatus.RUNNING: API_RUNNING,
    JobStatus.DONE: API_COMPLETED,
    JobStatus.CANCELLED: API_CANCELLED,
    JobStatus.ERROR: API_FAILED,
}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def api_status(status: JobStatus) -> str:
    return _API_STATUS[status]


def _usage(job: Job) -> dict[str, Any]:
    seconds = job.usage.quantum_seconds
    return {
        "qpu_charge_time_seconds": seconds,
        "quantum_seconds": seconds,
        "seconds": seconds,
        "status": "complete" if job.usage.final else "pending",
    }


def job_json(job: Job) -> dict[str, Any]:
    """One job as ``GET /jobs/{id}`` answers it (without params)."""
    status = api_status(job.status)
    state: dict[str, Any] = {"status": status}
    if job.error is not None:
        state["reason"] = job.error.message
        if job.error.code is not None:
            state["reason_code"] = job.error.code
        if job.error.solution is not None:
            state["reason_solution"] = job.error.solution
    return {
        "id": job.id,
        "backend": job.backend,
        "state": state,
        "status": status,
        "program": {"id": job.program} if job.program else None,
        "created": iso(job.created),
        "tags": list(job.tags),
        "name": job.name,
        "session_id": job.session_id,
        "usage": _usage(job),
        "estimated_running_time_seconds": job.estimated_running_seconds,
        "private": job.private,
    }


def metrics_json(job: Job) -> dict[str, Any]:
    """The job's steps, queue place and usage as ``GET /jobs/{id}/metrics`` answers them."""
    return {
        "timestamps": {step.name: iso(step.at) for step in job.steps},
        "usage": _usage(job),
        "position_in_queue": job.queue.position,
        "estimated_start_time": iso(job.queue.estimated_start),
        "estimated_completion_time": iso(job.queue.estimated_completion),
    }


def device_json(backend: Backend) -> dict[str, Any]:
    """One entry of ``GET /backends`` (``devices[]``)."""
    return {
        "name": backend.name,
        "status": {"name": backend.state.value, "reason": backend.message},
        "queue_length": backend.queue_length,
        "qubits": backend.num_qubits,
        "is_simulator": backend.simulator,
    }


def health_json(health: SourceHealth) -> dict[str, Any]:
    """A source's health as the relay's ``GET /sources`` lists it."""
    return {
        "ok": health.ok,
        "stale": health.stale,
        "streaming": health.streaming,
        "last_success": iso(health.last_success),
        "last_error": health.last_error,
        "last_error_at": iso(health.last_error_at),
        "failures": health.failures,
        "interval": health.interval,
    }


def session_json(session: Session) -> dict[str, Any]:
    """A session or batch as ``GET /sessions/{id}`` answers it."""
    return {
        "id": session.id,
        "mode": session.mode.value,
        "state": session.state.value,
        "accepting_jobs": session.accepting_jobs,
        "backend_name": session.backend,
        "interactive_ttl": session.interactive_ttl,
        "max_ttl": session.max_ttl,
        "active_ttl": session.active_ttl,
        "started_at": iso(session.started_at),
        "activated_at": iso(session.activated_at),
        "closed_at": iso(session.closed_at),
        "last_job_started": iso(session.last_job_started),
        "last_job_completed": iso(session.last_job_completed),
        "elapsed_time": session.elapsed_seconds,
        "state_reason": session.state_reason,
        "user_id": session.user_id,
        "timestamps": [{"status": step.name, "timestamp": iso(step.at)} for step in session.steps],
    }


def usage_json(usage: InstanceUsage) -> dict[str, Any]:
    """An instance's usage as ``GET /instances/usage`` answers it."""
    period = None
    if usage.period_start is not None or usage.period_end is not None:
        period = {"start_time": iso(usage.period_start), "end_time": iso(usage.period_end)}
    return {
        "usage_consumed_seconds": usage.consumed_seconds,
        "usage_limit_seconds": usage.limit_seconds,
        "usage_limit_reached": usage.limit_reached,
        "usage_period": period,
        "instance_id": usage.instance,
    }
