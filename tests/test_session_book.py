"""The session book's scheduling rules, on a fixed clock (pure code, no service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qjob_tui.service.sessions import (
    REASON_CANCELLED,
    REASON_CLOSED,
    REASON_INTERACTIVE,
    REASON_MAX_TTL,
    Session,
    SessionBook,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def book_with(mode: str = "dedicated", **ttl: int) -> tuple[SessionBook, Session]:
    book = SessionBook()
    session = book.create(mode, "dev", ttl.get("max_ttl", 600), ttl.get("interactive_ttl", 10), T0)
    return book, session


def test_a_dedicated_session_holds_its_backend_until_the_interactive_ttl() -> None:
    book, session = book_with()
    of = {"a": session.id, "b": session.id}
    book.job_queued(session.id, "a", "dev")
    assert book.choose("dev", ["x", "a"], of) == "x"  # not active yet: plain order
    assert book.choose("dev", ["a", "x"], of) == "a"
    book.job_started(session.id, "a", at(1))
    assert session.state == "active" and session.started_at == at(1)
    book.job_ended(session.id, "a", at(2), ran=True, charged=1.0)
    assert book.choose("dev", ["x"], of) is None  # held for the session's next job
    book.job_queued(session.id, "b", "dev")
    assert book.choose("dev", ["x", "b"], of) == "b"
    book.job_started(session.id, "b", at(3))
    book.job_ended(session.id, "b", at(4), ran=True)
    assert book.next_deadline() == at(14)
    assert book.expire(at(13)) == []
    assert session.state == "active"
    assert book.expire(at(14)) == []
    assert session.state == "inactive" and session.state_reason == REASON_INTERACTIVE
    assert book.choose("dev", ["x"], of) == "x"  # free again
    assert session.elapsed_time(at(100)) == 13.0  # active from 1 s to 14 s


def test_a_batch_holds_nothing_and_charges_its_jobs_time() -> None:
    book, batch = book_with("batch")
    of = {"a": batch.id}
    book.job_queued(batch.id, "a", "dev")
    book.job_started(batch.id, "a", at(1))
    book.job_ended(batch.id, "a", at(3), ran=True, charged=1.5)
    assert book.choose("dev", ["x"], of) == "x"
    assert batch.state == "inactive"
    assert batch.elapsed_time(at(50)) == 1.5


def test_the_max_ttl_cancels_queued_jobs_and_closes_after_the_running_one() -> None:
    book, session = book_with(max_ttl=5)
    for job in ("a", "b", "c"):
        book.job_queued(session.id, job, "dev")
    book.job_started(session.id, "a", at(0))
    assert book.next_deadline() == at(5)
    assert book.expire(at(5)) == ["b", "c"]
    assert session.accepting_jobs is False and session.state == "active"
    assert book.next_deadline() is None  # expires once
    book.job_ended(session.id, "a", at(7), ran=True)
    assert session.state == "closed" and session.state_reason == REASON_MAX_TTL
    assert session.closed_at == at(7)


def test_close_waits_for_pending_jobs_and_cancel_returns_the_queued_ones() -> None:
    book, session = book_with()
    book.job_queued(session.id, "a", "dev")
    book.close(session, at(1))
    assert session.state == "open" and not session.accepting_jobs
    assert book.admit(session) is not None
    book.job_started(session.id, "a", at(2))
    book.job_ended(session.id, "a", at(3), ran=True)
    assert session.state == "closed" and session.state_reason == REASON_CLOSED

    book, other = book_with()
    for job in ("a", "b"):
        book.job_queued(other.id, job, "dev")
    book.job_started(other.id, "a", at(1))
    assert book.cancel(other, at(2)) == ["b"]
    assert other.state == "active"
    book.job_ended(other.id, "a", at(3), ran=True)
    assert other.state == "closed" and other.state_reason == REASON_CANCELLED


def test_a_record_round_trips_and_a_loaded_active_session_holds_again() -> None:
    book, session = book_with()
    book.job_queued(session.id, "a", "dev")
    book.job_started(session.id, "a", at(1))
    book.job_ended(session.id, "a", at(2), ran=True)
    copy = Session.from_record(session.to_record())
    assert copy.to_json(at(5)) == session.to_json(at(5))
    fresh = SessionBook()
    fresh.load([copy])
    assert fresh.choose("dev", ["x"], {}) is None
    assert [t["status"] for t in copy.timestamps] == ["open", "active"]
