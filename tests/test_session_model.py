"""Sessions, workloads and usage as the client reads them: pure parsing and arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qjob_tui.api import parse
from qjob_tui.model import InstanceUsage, Session, SessionMode, SessionState

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


def ibm_session(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "s-1",
        "backend_name": "fake_lima",
        "state": "active",
        "accepting_jobs": True,
        "mode": "dedicated",
        "interactive_ttl": 60,
        "max_ttl": 28800,
        "active_ttl": 28000,
        "started_at": "2026-11-22T14:00:00Z",
        "activated_at": "2026-11-22T14:10:00Z",
        "closed_at": None,
        "last_job_started": "2026-11-22T14:20:00Z",
        "last_job_completed": "2026-11-22T14:29:00Z",
        "elapsed_time": 1140.5,
        "timestamps": [
            {"status": "open", "timestamp": "2026-11-22T14:00:00Z"},
            {"status": "active", "timestamp": "2026-11-22T14:10:00Z"},
        ],
        "user_id": "user-a",
    }
    body.update(fields)
    return body


def test_a_session_reads_every_field() -> None:
    session = parse.session_from_api(ibm_session(), "ibm")
    assert session.key == ("ibm", "s-1")
    assert session.mode is SessionMode.DEDICATED and session.state is SessionState.ACTIVE
    assert session.backend == "fake_lima" and session.user_id == "user-a"
    assert session.elapsed_seconds == 1140.5 and session.max_ttl == 28800
    assert [step.name for step in session.steps] == ["open", "active"]
    assert session.status_text == "In progress, accepting new jobs"
    # 20 minutes since activation of 8 hours; a minute idle of a 60 s interactive TTL.
    assert session.ttl_left(NOW) == 28800 - 20 * 60
    assert session.interactive_left(NOW) == 0.0
    assert session.interactive_left(NOW - timedelta(seconds=30)) == 30.0


def test_status_text_as_qiskit_ibm_runtime() -> None:
    def text(**fields: object) -> str:
        return parse.session_from_api(ibm_session(**fields), "x").status_text

    assert text(state="open") == "Pending"
    assert text(state="inactive") == "Pending"
    assert text(state="active", accepting_jobs=False) == "In progress, not accepting new jobs"
    assert text(state="pending_inactive", accepting_jobs=None) == "In progress, accepting new jobs"
    assert text(state="pending_closed", accepting_jobs=None) == (
        "In progress, not accepting new jobs"
    )
    assert text(state="closed", accepting_jobs=False) == "Closed"


def test_a_batch_and_a_closed_session_have_no_ttl_left() -> None:
    batch = parse.session_from_api(ibm_session(mode="batch", activated_at=None), "x")
    assert batch.mode is SessionMode.BATCH
    assert batch.ttl_left(NOW) == 28800  # not started: all of it
    assert batch.interactive_left(NOW) is None
    closed = parse.session_from_api(ibm_session(state="closed", closed_at=NOW.isoformat()), "x")
    assert closed.closed and closed.ttl_left(NOW) is None
    assert closed.closed_at == NOW


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", None, "without an id"),
        ("state", "exploded", "unknown state"),
        ("state", 3, "no state"),
        ("mode", "party", "unknown mode"),
        ("max_ttl", "long", "not a number"),
        ("started_at", "yesterday", "not an ISO 8601 time"),
        ("timestamps", {"a": 1}, "not a list"),
    ],
)
def test_a_malformed_session_is_a_shape_error(field: str, value: object, message: str) -> None:
    with pytest.raises(parse.ShapeError, match=message):
        parse.session_from_api(ibm_session(**{field: value}), "x")


def test_server_strings_in_a_session_are_cleaned() -> None:
    session = parse.session_from_api(
        ibm_session(backend_name="lima\x1b[31m", state_reason="ttl\x07 expired"), "x"
    )
    assert "\x1b" not in (session.backend or "")
    assert "\x07" not in (session.state_reason or "")


def test_usage_with_a_limit_and_with_an_allocation() -> None:
    limited = parse.usage_from_api(
        {
            "instance_id": "crn:1",
            "usage_consumed_seconds": 570,
            "usage_limit_seconds": 600,
            "usage_limit_reached": False,
            "usage_period": {"start_time": "2026-11-01T00:00:00Z", "end_time": None},
        }
    )
    assert limited.remaining_seconds == 30 and limited.fraction_left == pytest.approx(0.05)
    assert limited.low and limited.instance == "crn:1"
    assert limited.period_start == datetime(2026, 11, 1, tzinfo=UTC)
    allocated = parse.usage_from_api({"usage_consumed_seconds": 10, "usage_allocation_seconds": 60})
    assert allocated.limit_seconds == 60 and not allocated.low
    unlimited = parse.usage_from_api({"usage_consumed_seconds": 10})
    assert unlimited.remaining_seconds is None and unlimited.fraction_left is None
    assert not unlimited.low


def test_usage_past_its_limit_has_nothing_left() -> None:
    usage = InstanceUsage(consumed_seconds=700, limit_seconds=600, limit_reached=True)
    assert usage.remaining_seconds == 0 and usage.fraction_left == 0 and usage.low
    with pytest.raises(parse.ShapeError):
        parse.usage_from_api({"usage_consumed_seconds": "lots"})


def test_workloads_and_user_ids() -> None:
    item = parse.workload_from_api(
        {
            "id": "s-9",
            "mode": "batch",
            "status": "in_progress",
            "created": "2026-11-22T14:00:00Z",
            "backend": "fake_lima",
            "user_id": "user-a",
            "tags": ["x"],
            "usage": {"qpu_charge_time_seconds": 4.5, "status": "pending"},
        },
        "local",
    )
    assert (item.mode, item.status, item.user_id, item.quantum_seconds) == (
        "batch",
        "in_progress",
        "user-a",
        4.5,
    )
    job = parse.job_from_api(
        {
            "id": "j1",
            "state": {"status": "Queued"},
            "created": "2026-11-22T14:00:00Z",
            "session_id": "s-9",
            "user_id": "user-a",
        },
        "local",
    )
    assert job.session_id == "s-9" and job.user_id == "user-a"


def test_session_is_a_value() -> None:
    one = Session("s", "x", SessionMode.BATCH, SessionState.OPEN)
    assert one == Session("s", "x", SessionMode.BATCH, SessionState.OPEN)
    assert one.status_text == "Pending" and one.ttl_left(NOW) is None
