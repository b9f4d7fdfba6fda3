"""The relay speaks the client's JSON: what ``relay/views.py`` writes, ``api/parse`` reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qjob_tui.api.parse import (
    job_from_api,
    metrics_from_api,
    session_from_api,
    usage_from_api,
    with_metrics,
)
from qjob_tui.model import (
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
)
from qjob_tui.relay.views import job_json, metrics_json, session_json, usage_json

T0 = datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)


def job(**fields: object) -> Job:
    values: dict[str, object] = {
        "id": "j1",
        "source": "lab",
        "status": JobStatus.QUEUED,
        "created": T0,
        "backend": "ibm_torino",
        "program": "sampler",
        "tags": ("a", "b"),
        "name": "bell",
        "steps": (Step("created", T0), Step("queued", T0 + timedelta(seconds=1))),
        "queue": QueueInfo(3, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)),
        "usage": Usage(0.0, False),
        "estimated_running_seconds": 3.5,
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "original",
    [
        job(),
        job(status=JobStatus.RUNNING, queue=QueueInfo(), name=None, tags=()),
        job(
            status=JobStatus.DONE,
            queue=QueueInfo(),
            usage=Usage(2.5, True),
            steps=(Step("created", T0), Step("finished", T0 + timedelta(seconds=9))),
        ),
        job(status=JobStatus.ERROR, queue=QueueInfo(), error=JobError(1305, "ran too long", "x")),
        job(status=JobStatus.CANCELLED, queue=QueueInfo(), session_id="s1", private=True),
    ],
)
def test_a_job_survives_the_round_trip(original: Job) -> None:
    read = job_from_api(job_json(original), "lab")
    read = with_metrics(read, metrics_from_api(metrics_json(original)))
    assert read == original


@pytest.mark.parametrize(
    "original",
    [
        Session("s1", "lab", SessionMode.BATCH, SessionState.OPEN),
        Session(
            "s2",
            "lab",
            SessionMode.DEDICATED,
            SessionState.ACTIVE,
            accepting_jobs=False,
            backend="ibm_torino",
            interactive_ttl=60.0,
            max_ttl=28800.0,
            active_ttl=120.5,
            started_at=T0,
            activated_at=T0 + timedelta(seconds=5),
            last_job_started=T0 + timedelta(seconds=6),
            last_job_completed=T0 + timedelta(seconds=9),
            elapsed_seconds=4.0,
            user_id="u1",
            steps=(Step("open", T0), Step("active", T0 + timedelta(seconds=5))),
        ),
        Session(
            "s3",
            "lab",
            SessionMode.BATCH,
            SessionState.CLOSED,
            accepting_jobs=False,
            closed_at=T0 + timedelta(hours=1),
            state_reason="closed by the user",
        ),
    ],
)
def test_a_session_survives_the_round_trip(original: Session) -> None:
    assert session_from_api(session_json(original), "lab") == original


@pytest.mark.parametrize(
    "original",
    [
        InstanceUsage(12.5),
        InstanceUsage(600.0, 600.0, True, T0, T0 + timedelta(days=28), "crn:v1:x"),
    ],
)
def test_usage_survives_the_round_trip(original: InstanceUsage) -> None:
    assert usage_from_api(usage_json(original)) == original
