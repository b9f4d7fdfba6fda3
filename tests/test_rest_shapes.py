"""One REST shape: the service's, the relay's and the client's, pinned to ``wire/rest.py``.

What the relay writes from a ``Job`` the client reads back as the same job; what the service
writes from its records the client reads back as those records say; and both write the same
fields (the service adds only its documented extensions).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from qjob_tui.api.parse import job_from_api, metrics_from_api
from qjob_tui.model import Job, JobError, JobStatus, QueueInfo, Step, Usage
from qjob_tui.relay.views import job_json, metrics_json
from qjob_tui.service import views
from qjob_tui.service.db import JobRow
from qjob_tui.service.scheduler import QueueEstimate
from qjob_tui.wire import rest

# Strings as a server keeps them after its own checks: printable, no escapes, trimmed.
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=30)
MOMENTS = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
SECONDS = st.floats(min_value=0, max_value=1e6, allow_nan=False)
# The service's extensions to IBM's job: not part of the shared shape.
SERVICE_EXTRAS = {"runtime", "cost", "user_id", "calibration_id", "params"}


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    status = draw(st.sampled_from(list(JobStatus)))
    created = draw(MOMENTS)
    error = None
    if status is JobStatus.ERROR:
        error = JobError(
            code=draw(st.none() | st.integers(1000, 9999)),
            message=draw(WORDS),
            solution=draw(st.none() | WORDS),
        )
    queue = QueueInfo()
    if status is JobStatus.QUEUED:
        queue = QueueInfo(
            position=draw(st.none() | st.integers(1, 10_000)),
            estimated_start=draw(st.none() | MOMENTS),
            estimated_completion=draw(st.none() | MOMENTS),
        )
    return Job(
        id=draw(WORDS),
        source="relay",
        status=status,
        created=created,
        backend=draw(st.none() | WORDS),
        program=draw(st.none() | WORDS),
        tags=tuple(draw(st.lists(WORDS, max_size=5))),
        name=draw(st.none() | WORDS),
        session_id=draw(st.none() | WORDS),
        steps=(Step("created", created),),
        queue=queue,
        usage=Usage(quantum_seconds=draw(SECONDS), final=status.is_final),
        estimated_running_seconds=draw(st.none() | SECONDS),
        error=error,
        private=draw(st.booleans()),
    )


@given(jobs())
def test_what_the_relay_writes_the_client_reads_back(job: Job) -> None:
    body = json.loads(json.dumps(job_json(job)))  # through the wire: plain JSON
    read = job_from_api(body, "relay")
    queue = job.queue if job.queue.position is not None else QueueInfo()
    assert read == job.__class__(**{**job.__dict__, "queue": queue})
    metrics = metrics_from_api(json.loads(json.dumps(metrics_json(job))))
    assert metrics.steps == job.steps
    assert metrics.queue == job.queue


@st.composite
def rows(draw: st.DrawFn) -> JobRow:
    row = JobRow.new(
        draw(WORDS),
        draw(WORDS),
        "{}",
        tags=draw(st.lists(WORDS, max_size=5)),
        name=draw(st.none() | WORDS),
        private=draw(st.booleans()),
        session_id=draw(st.none() | WORDS),
    )
    row.id = draw(WORDS)
    row.status = draw(st.sampled_from(rest.STATUSES))
    created = draw(MOMENTS)
    row.created = rest.iso(created)  # type: ignore[assignment]
    row.queued = rest.iso(created + timedelta(seconds=1))
    if row.status == rest.FAILED:
        row.reason = draw(WORDS)
        row.reason_code = draw(st.none() | st.integers(1000, 9999))
    row.quantum_seconds = draw(st.none() | SECONDS)
    row.estimated_seconds = draw(SECONDS)
    return row


@given(rows(), st.none() | st.integers(1, 1000))
def test_what_the_service_writes_the_client_reads_back(row: JobRow, place: int | None) -> None:
    estimate = QueueEstimate(place, None, None)
    body = views.job(row, with_params=False)
    if row.status == rest.QUEUED:
        body.update(views.queue_place(estimate))
    read = job_from_api(json.loads(json.dumps(body)), "local")
    assert read.id == row.id and read.backend == row.backend and read.program == row.program
    assert rest.STATUS_OF[read.status] == row.status or (
        row.status == rest.CANCELLED and read.status is JobStatus.ERROR  # ran too long
    )
    assert rest.iso(read.created) == row.created
    assert (read.tags, read.name, read.session_id) == (tuple(row.tags), row.name, row.session_id)
    assert read.usage.quantum_seconds == (row.quantum_seconds or 0.0)
    assert read.usage.final == (row.status in rest.FINAL)
    assert read.private == row.private
    assert read.queue.position == (place if row.status == rest.QUEUED else None)
    metrics = metrics_from_api(json.loads(json.dumps(views.metrics(row, estimate))))
    assert [step.name for step in metrics.steps] == ["created", "queued"]


@given(rows(), jobs())
def test_the_service_and_the_relay_write_one_shape(row: JobRow, job: Job) -> None:
    service = set(views.job(row, with_params=True)) - SERVICE_EXTRAS
    relay = set(job_json(job))
    optional = {"private", "position_in_queue", "position_in_provider"}
    optional |= {"estimated_start_time", "estimated_completion_time"}
    assert service - optional == relay - optional
    assert set(views.metrics(row, QueueEstimate(None, None, None))) >= set(metrics_json(job))
