"""IBM Quantum API JSON to ``model`` objects, treating every answer as untrusted.

A field of the wrong type or an unknown status raises ``ShapeError`` (which the client turns into
``BadResponse``) rather than leaking a KeyError; strings are cleaned of escape sequences here,
once, so nothing downstream has to remember to.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from qjob_tui.model import (
    Backend,
    BackendState,
    InstanceUsage,
    Job,
    JobError,
    JobStatus,
    QueueInfo,
    Session,
    SessionMode,
    SessionState,
    Step,
    Usage,
    Workload,
)
from qjob_tui.text import clean, one_line
from qjob_tui.wire.rest import status_from_api

# The order in which a job's steps happen; metrics timestamps are shown in this order.
STEP_ORDER = ("created", "queued", "validating", "running", "finished")


class ShapeError(ValueError):
    """An answer that does not have the shape of the IBM API."""


def as_object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what} is not an object")
    return value


def _opt_str(value: object, what: str, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{what} is not a string")
    return one_line(value, limit)


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ShapeError(f"{what} is not a number")
    try:
        return int(value)
    except ValueError:
        raise ShapeError(f"{what} is not a number") from None


def _opt_float(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"{what} is not a number")
    number = float(value)
    return number if math.isfinite(number) else None


def parse_time(value: object, what: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive times are UTC, as IBM sends them)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{what} is not a time")
    try:
        moment = _iso_parser()(value)
    except (ValueError, OverflowError):
        raise ShapeError(f"{what} is not an ISO 8601 time: {one_line(value, 40)!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@functools.cache
def _iso_parser() -> Callable[[str], datetime]:
    """dateutil's ISO 8601 parser, imported at the first answer: the dashboard's first paint,
    from the cache, needs none."""
    from dateutil.parser import isoparse

    return isoparse


def _usage(value: object) -> Usage:
    if not isinstance(value, Mapping):
        return Usage()
    seconds = value.get("qpu_charge_time_seconds", value.get("quantum_seconds"))
    number = _opt_float(seconds, "usage seconds") or 0.0
    return Usage(quantum_seconds=number, final=value.get("status", "complete") == "complete")


def job_from_api(data: object, source: str) -> Job:
    """A ``JobResponseV3`` as a Job."""
    body = as_object(data, "job")
    job_id = body.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise ShapeError("job without an id")
    state = body.get("state") if isinstance(body.get("state"), Mapping) else {}
    raw_status = state.get("status", body.get("status"))
    if not isinstance(raw_status, str):
        raise ShapeError(f"job {one_line(job_id, 40)} has no status")
    reason_code = _opt_int(state.get("reason_code", state.get("reasonCode")), "state.reason_code")
    try:
        status = status_from_api(raw_status, reason_code)
    except ValueError:
        raise ShapeError(
            f"job {one_line(job_id, 40)} has unknown status {one_line(raw_status, 40)!r}"
        ) from None
    reason = state.get("reason")
    error = None
    if status is JobStatus.ERROR or (status is JobStatus.CANCELLED and reason_code):
        error = JobError(
            code=reason_code,
            message=clean(reason) if isinstance(reason, str) else "no reason given",
            solution=_opt_str(state.get("reason_solution"), "state.reason_solution", 500),
        )
    program = body.get("program")
    tags = body.get("tags") or []
    if not isinstance(tags, list):
        raise ShapeError("job tags are not a list")
    created = parse_time(body.get("created"), "job created")
    if created is None:
        raise ShapeError(f"job {one_line(job_id, 40)} has no creation time")
    steps = (Step("created", created),)
    # A listing may carry a queued job's place (the local service's extension): one listing
    # then refreshes every place, with no request per job.
    queue = _queue(body) if status is JobStatus.QUEUED else QueueInfo()
    return Job(
        id=one_line(job_id, 80),
        source=source,
        status=status,
        created=created,
        backend=_opt_str(body.get("backend"), "job backend", 100),
        program=_opt_str(program.get("id"), "program id", 100)
        if isinstance(program, Mapping)
        else None,
        tags=tuple(one_line(t, 86) for t in tags if isinstance(t, str)),
        name=_opt_str(body.get("name"), "job name", 120),
        session_id=_opt_str(body.get("session_id"), "session id", 100),
        steps=steps,
        usage=_usage(body.get("usage")),
        estimated_running_seconds=_opt_float(
            body.get("estimated_running_time_seconds"), "estimated_running_time_seconds"
        ),
        error=error,
        queue=queue,
        private=bool(body.get("private", False)),
        user_id=_opt_str(body.get("user_id"), "user id", 100),
    )


@dataclass(frozen=True)
class JobMetrics:
    """What ``/jobs/{id}/metrics`` adds to a job: its steps, queue place and usage."""

    steps: tuple[Step, ...]
    queue: QueueInfo
    usage: Usage
    num_circuits: int | None = None
    num_qubits: tuple[int, ...] = ()
    qiskit_version: str | None = None
    caller: str | None = None


def _queue(body: Mapping[str, Any]) -> QueueInfo:
    """A queued job's place and times, where the answer has them."""
    return QueueInfo(
        position=_opt_int(body.get("position_in_queue"), "position_in_queue"),
        estimated_start=parse_time(body.get("estimated_start_time"), "estimated_start_time"),
        estimated_completion=parse_time(
            body.get("estimated_completion_time"), "estimated_completion_time"
        ),
    )


def metrics_from_api(data: object) -> JobMetrics:
    body = as_object(data, "metrics")
    stamps = body.get("timestamps") or {}
    if not isinstance(stamps, Mapping):
        raise ShapeError("metrics timestamps are not an object")
    steps = []
    for name in STEP_ORDER:
        moment = parse_time(stamps.get(name), f"timestamps.{name}")
        if moment is not None:
            steps.append(Step(name, moment))
    queue = _queue(body)
    qubits = body.get("num_qubits")
    return JobMetrics(
        steps=tuple(steps),
        queue=queue,
        usage=_usage(body.get("usage")),
        num_circuits=_opt_int(body.get("num_circuits"), "num_circuits"),
        num_qubits=tuple(int(q) for q in qubits if isinstance(q, int))
        if isinstance(qubits, list)
        else (),
        qiskit_version=_opt_str(body.get("qiskit_version"), "qiskit_version", 40),
        caller=_opt_str(body.get("caller"), "caller", 200),
    )


def with_metrics(job: Job, metrics: JobMetrics) -> Job:
    """The job with the steps, queue information and usage its metrics report."""
    steps = metrics.steps or job.steps
    usage = metrics.usage if metrics.usage.quantum_seconds or metrics.usage.final else job.usage
    queue = metrics.queue if job.status is JobStatus.QUEUED else QueueInfo()
    return replace(job, steps=steps, queue=queue, usage=usage)


def backend_from_api(data: object, source: str) -> Backend:
    """One ``devices[]`` entry of ``GET /backends`` as a Backend."""
    body = as_object(data, "backend")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ShapeError("backend without a name")
    status = body.get("status")
    state_name = status.get("name") if isinstance(status, Mapping) else status
    try:
        state = BackendState(str(state_name).lower())
    except ValueError:
        state = BackendState.OFFLINE
    reason = status.get("reason") if isinstance(status, Mapping) else None
    return Backend(
        name=one_line(name, 100),
        source=source,
        state=state,
        queue_length=max(_opt_int(body.get("queue_length"), "queue_length") or 0, 0),
        num_qubits=_opt_int(body.get("qubits"), "qubits"),
        simulator=bool(body.get("is_simulator", False)),
        message=one_line(reason, 200) if isinstance(reason, str) else "",
    )


def backend_status_from_api(data: object, name: str, source: str) -> Backend:
    """``GET /backends/{name}/status`` (note ``length_queue``) as a Backend."""
    body = as_object(data, "backend status")
    operational = bool(body.get("state", False))
    status = str(body.get("status", "")).lower()
    if not operational:
        state = BackendState.OFFLINE
    elif status in ("paused", "maintenance", "internal"):
        state = BackendState.PAUSED
    else:
        state = BackendState.ONLINE
    return Backend(
        name=name,
        source=source,
        state=state,
        queue_length=max(_opt_int(body.get("length_queue"), "length_queue") or 0, 0),
        message=_opt_str(body.get("message"), "status message") or "",
    )


# The transitional states of the IBM API, as (state, accepting jobs).
_PENDING_STATES = {
    "pending_inactive": (SessionState.ACTIVE, True),
    "pending_closed": (SessionState.ACTIVE, False),
}


def session_from_api(data: object, source: str) -> Session:
    """``GET /sessions/{id}`` as a Session."""
    body = as_object(data, "session")
    session_id = body.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise ShapeError("session without an id")
    raw_state = body.get("state")
    if not isinstance(raw_state, str):
        raise ShapeError(f"session {one_line(session_id, 40)} has no state")
    accepting = body.get("accepting_jobs")
    key = raw_state.strip().lower()
    if key in _PENDING_STATES:
        state, accepting_default = _PENDING_STATES[key]
        accepting = accepting_default if accepting is None else accepting
    else:
        try:
            state = SessionState(key)
        except ValueError:
            raise ShapeError(
                f"session {one_line(session_id, 40)} has unknown state {one_line(raw_state, 40)!r}"
            ) from None
    raw_mode = body.get("mode") or "dedicated"
    try:
        mode = SessionMode(str(raw_mode).lower())
    except ValueError:
        raise ShapeError(f"session has unknown mode {one_line(str(raw_mode), 40)!r}") from None
    not_closed = state is not SessionState.CLOSED
    stamps = body.get("timestamps") or []
    if not isinstance(stamps, list):
        raise ShapeError("session timestamps are not a list")
    steps = []
    for item in stamps:
        if isinstance(item, Mapping) and isinstance(item.get("status"), str):
            moment = parse_time(item.get("timestamp"), "session timestamp")
            if moment is not None:
                steps.append(Step(one_line(item["status"], 40).lower(), moment))
    return Session(
        id=one_line(session_id, 100),
        source=source,
        mode=mode,
        state=state,
        accepting_jobs=bool(accepting) if accepting is not None else not_closed,
        backend=_opt_str(body.get("backend_name", body.get("backend")), "session backend", 100),
        interactive_ttl=_opt_float(body.get("interactive_ttl"), "interactive_ttl"),
        max_ttl=_opt_float(body.get("max_ttl"), "max_ttl"),
        active_ttl=_opt_float(body.get("active_ttl"), "active_ttl"),
        started_at=parse_time(body.get("started_at"), "started_at"),
        activated_at=parse_time(body.get("activated_at"), "activated_at"),
        closed_at=parse_time(body.get("closed_at"), "closed_at"),
        last_job_started=parse_time(body.get("last_job_started"), "last_job_started"),
        last_job_completed=parse_time(body.get("last_job_completed"), "last_job_completed"),
        elapsed_seconds=_opt_float(body.get("elapsed_time"), "elapsed_time"),
        state_reason=_opt_str(body.get("state_reason"), "state_reason", 300),
        user_id=_opt_str(body.get("user_id"), "user id", 100),
        steps=tuple(steps),
    )


def usage_from_api(data: object) -> InstanceUsage:
    """``GET /instances/usage`` as an InstanceUsage (the limit, else the allocation)."""
    body = as_object(data, "usage")
    consumed = _opt_float(body.get("usage_consumed_seconds"), "usage_consumed_seconds") or 0.0
    limit = _opt_float(body.get("usage_limit_seconds"), "usage_limit_seconds")
    if limit is None:
        limit = _opt_float(body.get("usage_allocation_seconds"), "usage_allocation_seconds")
    period = body.get("usage_period")
    start = end = None
    if isinstance(period, Mapping):
        start = parse_time(period.get("start_time"), "usage_period.start_time")
        end = parse_time(period.get("end_time"), "usage_period.end_time")
    reached = body.get("usage_limit_reached")
    return InstanceUsage(
        consumed_seconds=max(consumed, 0.0),
        limit_seconds=limit,
        limit_reached=bool(reached) if isinstance(reached, bool) else False,
        period_start=start,
        period_end=end,
        instance=_opt_str(body.get("instance_id"), "instance_id", 300),
    )


def workload_from_api(data: object, source: str) -> Workload:
    """One ``workloads[]`` entry of ``GET /workloads``."""
    body = as_object(data, "workload")
    workload_id = body.get("id")
    if not isinstance(workload_id, str) or not workload_id:
        raise ShapeError("workload without an id")
    tags = body.get("tags") or []
    if not isinstance(tags, list):
        raise ShapeError("workload tags are not a list")
    accepting = body.get("accepting_jobs")
    return Workload(
        id=one_line(workload_id, 100),
        source=source,
        mode=_opt_str(body.get("mode"), "workload mode", 20) or "job",
        status=_opt_str(body.get("status"), "workload status", 40) or "",
        created=parse_time(body.get("created"), "workload created"),
        ended=parse_time(body.get("ended"), "workload ended"),
        backend=_opt_str(body.get("backend"), "workload backend", 100),
        user_id=_opt_str(body.get("user_id"), "user id", 100),
        tags=tuple(one_line(t, 86) for t in tags if isinstance(t, str)),
        accepting_jobs=accepting if isinstance(accepting, bool) else None,
        quantum_seconds=_usage(body.get("usage")).quantum_seconds,
    )


def now() -> datetime:
    return datetime.now(UTC)
