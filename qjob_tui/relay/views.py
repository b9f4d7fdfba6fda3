"""``model`` objects back into the IBM Quantum REST API v1's JSON, for the relay's answers.

The inverse of ``api/parse.py``: what ``job_json`` writes, ``job_from_api`` reads back as the
same ``Job`` (and ``metrics_json`` with ``metrics_from_api``), so that a dashboard watching the
relay sees what the relay's store sees.
"""

from __future__ import annotations

from typing import Any

from qjob_tui.model import Backend, InstanceUsage, Job, JobStatus, Session
from qjob_tui.store.changes import SourceHealth
from qjob_tui.wire import rest
from qjob_tui.wire.rest import iso


def api_status(status: JobStatus) -> str:
    return rest.STATUS_OF[status]


def _usage(job: Job) -> dict[str, Any]:
    return rest.usage_body(job.usage.quantum_seconds, job.usage.final)


def job_json(job: Job) -> dict[str, Any]:
    """One job as ``GET /jobs/{id}`` answers it (without params)."""
    error = job.error
    body = rest.job_body(
        job_id=job.id,
        backend=job.backend,
        status=api_status(job.status),
        program=job.program,
        created=job.created,
        tags=list(job.tags),
        name=job.name,
        session_id=job.session_id,
        usage=_usage(job),
        estimated_running_seconds=job.estimated_running_seconds,
        reason=error.message if error is not None else None,
        reason_code=error.code if error is not None else None,
        reason_solution=error.solution if error is not None else None,
        private=job.private,
    )
    if job.status is JobStatus.QUEUED and job.queue.position is not None:
        body.update(queue_json(job))  # one listing refreshes every place, as the service's
    return body


def queue_json(job: Job) -> dict[str, Any]:
    queue = job.queue
    return rest.queue_body(queue.position, queue.estimated_start, queue.estimated_completion)


def metrics_json(job: Job) -> dict[str, Any]:
    """The job's steps, queue place and usage as ``GET /jobs/{id}/metrics`` answers them."""
    timestamps = {step.name: iso(step.at) for step in job.steps}
    return rest.metrics_body(timestamps, _usage(job), queue_json(job))


def device_json(backend: Backend) -> dict[str, Any]:
    """One entry of ``GET /backends`` (``devices[]``)."""
    return rest.device_body(
        name=backend.name,
        state=backend.state.value,
        reason=backend.message,
        queue_length=backend.queue_length,
        qubits=backend.num_qubits,
        simulator=backend.simulator,
    )


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
    return rest.session_body(
        session_id=session.id,
        mode=session.mode.value,
        state=session.state.value,
        state_reason=session.state_reason,
        accepting_jobs=session.accepting_jobs,
        backend=session.backend,
        interactive_ttl=session.interactive_ttl,
        max_ttl=session.max_ttl,
        active_ttl=session.active_ttl,
        started_at=session.started_at,
        activated_at=session.activated_at,
        closed_at=session.closed_at,
        last_job_started=session.last_job_started,
        last_job_completed=session.last_job_completed,
        elapsed_seconds=session.elapsed_seconds,
        user_id=session.user_id,
        steps=[(step.name, step.at) for step in session.steps],
    )


def usage_json(usage: InstanceUsage) -> dict[str, Any]:
    """An instance's usage as ``GET /instances/usage`` answers it."""
    return rest.instance_usage_body(
        consumed=usage.consumed_seconds,
        limit=usage.limit_seconds,
        reached=usage.limit_reached,
        start=usage.period_start,
        end=usage.period_end,
        instance=usage.instance,
    )
