"""Sessions and batches as IBM Quantum schedules them, kept in memory and saved on every change.

A dedicated session holds its backend between its jobs: while it is active, the backend runs only
that session's jobs and waits for the next one until the interactive TTL runs out, after which the
session goes inactive and the backend is free again. A batch holds nothing: its jobs queue and
interleave with everyone else's. Both close when their max TTL, counted from the first job's start,
runs out (queued jobs are cancelled, a running one finishes), or when the user closes them.

The book only decides; the scheduler asks it which job a backend runs next, tells it when jobs
start and end, and carries out what it returns (jobs to cancel, sessions to save).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dateutil.parser import isoparse

from qjob_tui.service.ids import new_id
from qjob_tui.wire import rest

MODES = ("dedicated", "batch")
# IBM's defaults: 60 s between a dedicated session's jobs, 8 hours in all.
DEFAULT_INTERACTIVE_TTL = 60
DEFAULT_MAX_TTL = 28_800
MAX_TTL_LIMIT = 28_800

REASON_INTERACTIVE = "interactive TTL expired: no job came within the interactive time"
REASON_MAX_TTL = "max TTL reached: the session was open for its maximum time"
REASON_CLOSED = "closed by the user: no new jobs accepted"
REASON_CANCELLED = "cancelled by the user: queued jobs will not run"


def new_session_id() -> str:
    """A 20-character id, like IBM's session ids (which look like job ids)."""
    return new_id("s")


def _parse(value: object) -> datetime | None:
    return isoparse(value) if isinstance(value, str) and value else None


@dataclass
class Session:
    """One session or batch: what IBM reports of it, and the jobs it has in the queue now."""

    id: str
    mode: str
    backend: str | None
    max_ttl: int
    interactive_ttl: int
    created: datetime
    user_id: str = "local-user"
    state: str = "open"
    state_reason: str | None = None
    accepting_jobs: bool = True
    started_at: datetime | None = None
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    last_job_started: datetime | None = None
    last_job_completed: datetime | None = None
    active_seconds: float = 0.0  # time spent active before the current activation (dedicated)
    usage_seconds: float = 0.0  # quantum seconds of its jobs (what a batch is charged)
    timestamps: list[dict[str, str]] = field(default_factory=list)
    queued: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)

    @property
    def pending(self) -> bool:
        return bool(self.queued or self.running)

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    def elapsed_time(self, now: datetime) -> float:
        """IBM's usage of a session: active time of a dedicated one, jobs' time of a batch."""
        if self.mode == "batch":
            return round(self.usage_seconds, 3)
        seconds = self.active_seconds
        if self.state == "active" and self.activated_at is not None:
            seconds += (now - self.activated_at).total_seconds()
        return round(seconds, 3)

    def to_json(self, now: datetime) -> dict[str, Any]:
        """``GET /sessions/{id}`` as IBM answers it."""
        steps = [(step["status"], _parse(step.get("timestamp"))) for step in self.timestamps]
        return rest.session_body(
            session_id=self.id,
            mode=self.mode,
            state=self.state,
            state_reason=self.state_reason,
            accepting_jobs=self.accepting_jobs,
            backend=self.backend,
            interactive_ttl=self.interactive_ttl,
            max_ttl=self.max_ttl,
            active_ttl=self.max_ttl,
            started_at=self.started_at,
            activated_at=self.activated_at,
            closed_at=self.closed_at,
            last_job_started=self.last_job_started,
            last_job_completed=self.last_job_completed,
            elapsed_seconds=self.elapsed_time(now),
            user_id=self.user_id,
            steps=[(name, at) for name, at in steps if at is not None],
            created_at=self.created,
        )

    def to_record(self) -> dict[str, Any]:
        """What is saved: everything but the live job sets, which the queue rebuilds."""
        return {
            "id": self.id,
            "mode": self.mode,
            "backend": self.backend,
            "max_ttl": self.max_ttl,
            "interactive_ttl": self.interactive_ttl,
            "created": rest.iso(self.created),
            "user_id": self.user_id,
            "state": self.state,
            "state_reason": self.state_reason,
            "accepting_jobs": self.accepting_jobs,
            "started_at": rest.iso(self.started_at),
            "activated_at": rest.iso(self.activated_at),
            "closed_at": rest.iso(self.closed_at),
            "last_job_started": rest.iso(self.last_job_started),
            "last_job_completed": rest.iso(self.last_job_completed),
            "active_seconds": self.active_seconds,
            "usage_seconds": self.usage_seconds,
            "timestamps": self.timestamps,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Session:
        created = _parse(record.get("created"))
        assert created is not None
        return cls(
            id=str(record["id"]),
            mode=str(record["mode"]),
            backend=record.get("backend"),
            max_ttl=int(record["max_ttl"]),
            interactive_ttl=int(record["interactive_ttl"]),
            created=created,
            user_id=str(record.get("user_id") or "local-user"),
            state=str(record.get("state") or "open"),
            state_reason=record.get("state_reason"),
            accepting_jobs=bool(record.get("accepting_jobs", True)),
            started_at=_parse(record.get("started_at")),
            activated_at=_parse(record.get("activated_at")),
            closed_at=_parse(record.get("closed_at")),
            last_job_started=_parse(record.get("last_job_started")),
            last_job_completed=_parse(record.get("last_job_completed")),
            active_seconds=float(record.get("active_seconds") or 0.0),
            usage_seconds=float(record.get("usage_seconds") or 0.0),
            timestamps=list(record.get("timestamps") or []),
        )


class SessionBook:
    """Every session of the service and the backends that dedicated sessions hold."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._holders: dict[str, str] = {}  # backend -> id of the dedicated session holding it
        self.dirty: set[str] = set()  # ids of sessions changed since the scheduler last saved

    # --- records ---------------------------------------------------------------------------

    def load(self, sessions: Iterable[Session]) -> None:
        """Sessions a previous run saved; an active dedicated one holds its backend again."""
        for session in sessions:
            self._sessions[session.id] = session
            if session.mode == "dedicated" and session.state == "active" and session.backend:
                self._holders[session.backend] = session.id

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def create(
        self, mode: str, backend: str | None, max_ttl: int, interactive_ttl: int, now: datetime
    ) -> Session:
        session = Session(
            id=new_session_id(),
            mode=mode,
            backend=backend,
            max_ttl=max_ttl,
            interactive_ttl=interactive_ttl,
            created=now,
        )
        self._sessions[session.id] = session
        self._mark(session, "open", None, now)
        return session

    def _mark(self, session: Session, state: str, reason: str | None, now: datetime) -> None:
        if session.state != state or not session.timestamps:
            session.timestamps.append({"status": state, "timestamp": rest.iso(now) or ""})
        session.state = state
        session.state_reason = reason
        self.dirty.add(session.id)

    # --- jobs ------------------------------------------------------------------------------

    def admit(self, session: Session) -> str | None:
        """Why the session cannot take a new job, or None if it can."""
        if session.closed or not session.accepting_jobs:
            return f"Session {session.id} is closed and accepts no new jobs."
        return None

    def refuses_late(self, session_id: str | None) -> str | None:
        """Why a job admitted into the session, and written, may not queue after all: the
        session was cancelled, ran out of its max TTL or closed while the job was being
        written (its queued jobs went, or it runs nothing more), or None."""
        session = self._sessions.get(session_id or "")
        if session is None or session.accepting_jobs:
            return None
        if session.state_reason == REASON_CANCELLED:
            return "cancelled with its session"
        if session.state_reason == REASON_MAX_TTL:
            return "its session's max TTL ran out"
        return "its session closed" if session.closed else None

    def job_queued(self, session_id: str | None, job_id: str, backend: str) -> None:
        session = self._sessions.get(session_id or "")
        if session is None:
            return
        if session.backend is None:
            session.backend = backend
            self.dirty.add(session.id)
        session.queued.add(job_id)

    def choose(
        self, backend: str, queue: Sequence[str], session_of: Mapping[str, str]
    ) -> str | None:
        """The job this free backend runs next, or None while a dedicated session holds it."""
        holder = self._sessions.get(self._holders.get(backend, ""))
        if holder is not None and not holder.closed and holder.state == "active":
            for job_id in queue:
                if session_of.get(job_id) == holder.id:
                    return job_id
            return None
        return queue[0] if queue else None

    def job_started(self, session_id: str | None, job_id: str, now: datetime) -> None:
        session = self._sessions.get(session_id or "")
        if session is None:
            return
        session.queued.discard(job_id)
        session.running.add(job_id)
        session.last_job_started = now
        if session.started_at is None:
            session.started_at = now
        if session.state in ("open", "inactive"):
            session.activated_at = now
            self._mark(session, "active", None, now)
        if session.mode == "dedicated" and session.backend:
            self._holders[session.backend] = session.id
        self.dirty.add(session.id)

    def job_ended(
        self, session_id: str | None, job_id: str, now: datetime, *, ran: bool, charged: float = 0.0
    ) -> None:
        """A job of the session finished, failed or was cancelled (``ran``: it had started)."""
        session = self._sessions.get(session_id or "")
        if session is None:
            return
        was_running = job_id in session.running
        session.queued.discard(job_id)
        session.running.discard(job_id)
        if ran or was_running:
            session.last_job_completed = now
            session.usage_seconds += max(charged, 0.0)
        self.dirty.add(session.id)
        if not session.accepting_jobs and not session.pending and not session.closed:
            self._close(session, session.state_reason or REASON_CLOSED, now)
        elif session.mode == "batch" and not session.pending and session.state == "active":
            self._deactivate(session, None, now)

    # --- user actions ----------------------------------------------------------------------

    def close(self, session: Session, now: datetime) -> None:
        """``PATCH accepting_jobs: false``: queued and running jobs still run, then it closes."""
        if session.closed:
            return
        session.accepting_jobs = False
        session.state_reason = REASON_CLOSED
        self.dirty.add(session.id)
        if not session.pending:
            self._close(session, REASON_CLOSED, now)

    def cancel(self, session: Session, now: datetime) -> list[str]:
        """``DELETE /close``: no new jobs, queued ones cancelled; returns their ids."""
        if session.closed:
            return []
        queued = sorted(session.queued)
        session.accepting_jobs = False
        session.state_reason = REASON_CANCELLED
        session.queued.clear()
        self.dirty.add(session.id)
        if not session.running and not session.closed:
            self._close(session, REASON_CANCELLED, now)
        return queued

    # --- time ------------------------------------------------------------------------------

    def expire(self, now: datetime) -> list[str]:
        """Apply the TTLs that ran out by ``now``; returns the ids of queued jobs to cancel."""
        cancelled: list[str] = []
        for session in self._sessions.values():
            if session.closed:
                continue
            max_deadline = self._max_deadline(session)
            if max_deadline is not None and now >= max_deadline:
                cancelled += sorted(session.queued)
                session.queued.clear()
                session.accepting_jobs = False
                if session.running:
                    session.state_reason = REASON_MAX_TTL
                    self._release(session)
                    self.dirty.add(session.id)
                else:
                    self._close(session, REASON_MAX_TTL, now)
                continue
            idle = self._idle_deadline(session)
            if idle is not None and now >= idle:
                # A closing session keeps saying why it closes.
                reason = REASON_INTERACTIVE if session.accepting_jobs else session.state_reason
                self._deactivate(session, reason, now)
        return cancelled

    def next_deadline(self) -> datetime | None:
        """The earliest moment at which ``expire`` would change something."""
        moments = []
        for session in self._sessions.values():
            if session.closed:
                continue
            for moment in (self._max_deadline(session), self._idle_deadline(session)):
                if moment is not None:
                    moments.append(moment)
        return min(moments) if moments else None

    @staticmethod
    def _max_deadline(session: Session) -> datetime | None:
        """When the max TTL, counted from the first job's start, runs out (once only)."""
        if session.started_at is None or session.state_reason == REASON_MAX_TTL:
            return None
        return session.started_at + timedelta(seconds=session.max_ttl)

    @staticmethod
    def _idle_deadline(session: Session) -> datetime | None:
        """When an active dedicated session with nothing running goes inactive."""
        if session.mode != "dedicated" or session.state != "active" or session.running:
            return None
        last = session.last_job_completed or session.activated_at
        if last is None:
            return None
        return last + timedelta(seconds=session.interactive_ttl)

    def _release(self, session: Session) -> None:
        if session.backend and self._holders.get(session.backend) == session.id:
            del self._holders[session.backend]

    def _deactivate(self, session: Session, reason: str | None, now: datetime) -> None:
        if session.activated_at is not None:
            session.active_seconds += max((now - session.activated_at).total_seconds(), 0.0)
        self._release(session)
        self._mark(session, "inactive", reason, now)

    def _close(self, session: Session, reason: str, now: datetime) -> None:
        if session.state == "active" and session.activated_at is not None:
            session.active_seconds += max((now - session.activated_at).total_seconds(), 0.0)
        session.accepting_jobs = False
        session.closed_at = now
        self._release(session)
        self._mark(session, "closed", reason, now)
