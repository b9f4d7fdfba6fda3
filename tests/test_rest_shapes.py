"""One REST shape: the service's, the relay's and the client's, pinned to ``wire/rest.py``.

What the relay writes from a ``Job`` (or a ``Session``, or a change event) the client reads back
as the same; what the service writes from its records the client reads back as those records
say; and both write the same fields (the service adds only its documented extensions).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from dateutil.parser import isoparse
from hypothesis import given
from hypothesis import strategies as st

from qjob_tui.api.parse import job_from_api, metrics_from_api, session_from_api
from qjob_tui.api.stream import change_from_event
from qjob_tui.model import (
    Job,
    JobError,
    JobStatus,
    QueueInfo,
    Session,
    SessionMode,
    SessionState,
    Step,
    Usage,
)
from qjob_tui.relay import app as relay_app
from qjob_tui.relay.views import job_json, metrics_json, session_json
from qjob_tui.service import sessions as service_sessions
from qjob_tui.service import stream as service_stream
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


# --- sessions ------------------------------------------------------------------------------

TTLS = st.none() | st.floats(min_value=0, max_value=28_800, allow_nan=False)


@st.composite
def sessions(draw: st.DrawFn) -> Session:
    state = draw(st.sampled_from(list(SessionState)))
    return Session(
        id=draw(WORDS),
        source="relay",
        mode=draw(st.sampled_from(list(SessionMode))),
        state=state,
        accepting_jobs=draw(st.booleans()),
        backend=draw(st.none() | WORDS),
        interactive_ttl=draw(TTLS),
        max_ttl=draw(TTLS),
        active_ttl=draw(TTLS),
        started_at=draw(st.none() | MOMENTS),
        activated_at=draw(st.none() | MOMENTS),
        closed_at=draw(st.none() | MOMENTS),
        last_job_started=draw(st.none() | MOMENTS),
        last_job_completed=draw(st.none() | MOMENTS),
        elapsed_seconds=draw(st.none() | SECONDS),
        state_reason=draw(st.none() | WORDS),
        user_id=draw(st.none() | WORDS),
        steps=tuple(
            Step(draw(st.sampled_from(list(SessionState))).value, draw(MOMENTS))
            for _ in range(draw(st.integers(0, 4)))
        ),
    )


@given(sessions())
def test_what_the_relay_writes_of_a_session_the_client_reads_back(session: Session) -> None:
    assert session_from_api(json.loads(json.dumps(session_json(session))), "relay") == session


@st.composite
def service_sessions_(draw: st.DrawFn) -> service_sessions.Session:
    book = service_sessions.SessionBook()
    created = draw(MOMENTS)
    mode = draw(st.sampled_from(service_sessions.MODES))
    session = book.create(mode, draw(st.none() | WORDS), 28_800, 60, created)
    moment = created
    for step in draw(st.lists(st.sampled_from(["start", "end", "close", "expire"]), max_size=6)):
        moment += timedelta(
            seconds=draw(st.integers(1, 100_000)), microseconds=draw(st.integers(0, 999_999))
        )
        if step == "start":
            book.job_queued(session.id, "j", "fake_cairo")
            book.job_started(session.id, "j", moment)
        elif step == "end":
            book.job_ended(session.id, "j", moment, ran=True, charged=draw(SECONDS))
        elif step == "close":
            book.close(session, moment)
        else:
            book.expire(moment)
    # Saved and loaded again, as after a restart: the body is the same.
    return service_sessions.Session.from_record(json.loads(json.dumps(session.to_record())))


@given(service_sessions_(), MOMENTS)
def test_what_the_service_writes_of_a_session_the_client_reads_back(
    session: service_sessions.Session, now: datetime
) -> None:
    read = session_from_api(json.loads(json.dumps(session.to_json(now))), "local")
    assert (read.id, read.mode.value, read.backend) == (session.id, session.mode, session.backend)
    assert read.state.value == session.state and read.state_reason == session.state_reason
    assert read.accepting_jobs == session.accepting_jobs
    assert (read.max_ttl, read.interactive_ttl) == (session.max_ttl, session.interactive_ttl)
    for name in ("started_at", "activated_at", "closed_at", "last_job_started"):
        assert getattr(read, name) == getattr(session, name), name
    assert read.last_job_completed == session.last_job_completed
    assert read.elapsed_seconds == session.elapsed_time(now)
    assert [(step.name, rest.iso(step.at)) for step in read.steps] == [
        (stamp["status"], rest.iso(isoparse(stamp["timestamp"]))) for stamp in session.timestamps
    ]


@given(service_sessions_(), sessions())
def test_the_service_and_the_relay_write_one_session_shape(
    kept: service_sessions.Session, session: Session
) -> None:
    assert set(kept.to_json(kept.created)) == set(session_json(session))


# --- change stream events ------------------------------------------------------------------


def through_the_wire(body: dict) -> dict:  # type: ignore[type-arg]
    return json.loads(json.dumps(body))  # type: ignore[no-any-return]


@given(jobs(), jobs())
def test_what_the_relay_streams_the_client_reads_back(job: Job, later: Job) -> None:
    first = relay_app.job_event(job, None)
    assert first is not None
    change = change_from_event(through_the_wire(first), "relay")
    queue = job.queue if job.status is JobStatus.QUEUED else QueueInfo()
    assert change.job == job.__class__(**{**job.__dict__, "queue": queue})
    assert change.fields == rest.CHANGE_FIELDS  # never sent before: all of them
    later = later.__class__(**{**later.__dict__, "id": job.id})
    second = relay_app.job_event(later, job)
    if second is None:  # nothing a viewer would see changed
        assert (job_json(job), metrics_json(job)) == (job_json(later), metrics_json(later))
        return
    read = change_from_event(through_the_wire(second), "relay")
    assert read.fields == tuple(
        name for name in rest.CHANGE_FIELDS if job_json(job).get(name) != job_json(later).get(name)
    )
    assert relay_app.job_event(later, later) is None


@given(rows(), st.none() | st.integers(1, 1000), WORDS)
def test_what_the_service_streams_the_client_reads_back(
    row: JobRow, place: int | None, new_name: str
) -> None:
    estimate = QueueEstimate(place, None, None)
    body, summary = service_stream.job_event(row, estimate, None)
    change = change_from_event(through_the_wire(body), "local")
    assert change.job is not None and change.job.id == row.id
    assert change.job == with_service_metrics(row, estimate)
    assert change.fields == rest.CHANGE_FIELDS
    row.name = new_name if new_name != row.name else None
    body, _ = service_stream.job_event(row, estimate, summary)
    assert change_from_event(through_the_wire(body), "local").fields == ("name",)


def with_service_metrics(row: JobRow, estimate: QueueEstimate) -> Job:
    """The job the client makes of the service's job and metrics bodies, read separately."""
    from qjob_tui.api.parse import with_metrics

    job = job_from_api(through_the_wire(views.job(row, with_params=False)), "local")
    return with_metrics(job, metrics_from_api(through_the_wire(views.metrics(row, estimate))))


@given(rows(), jobs())
def test_the_service_and_the_relay_stream_one_shape(row: JobRow, job: Job) -> None:
    service, _ = service_stream.job_event(row, QueueEstimate(None, None, None), None)
    relay = relay_app.job_event(job, None)
    assert relay is not None
    assert set(service) == set(relay) == {"id", "status", "changed", "job", "metrics"}
    assert service["status"] == service["job"]["status"]
    assert relay["status"] == relay["job"]["status"]


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_iso_is_fixed_width_utc_and_reads_back(moment: datetime) -> None:
    text = rest.iso(moment)
    assert text is not None and len(text) == len("2026-12-07T06:20:51.612653Z"), text
    assert text.endswith("Z") and isoparse(text) == moment
