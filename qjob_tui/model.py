"""Plain data shared by every part of qjob-tui: jobs, their states, backends, sessions (what
a finished job returned is in ``results.py``).

Nothing here does I/O or imports the rest of the project, so the service, the client, the
store and the interface can all agree on one vocabulary. Every class is a frozen dataclass:
a job as seen at one moment is a value, and a change is a new value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


class ProgramId(StrEnum):
    """The programs a job runs (``program_id`` on the API)."""

    SAMPLER = "sampler"
    ESTIMATOR = "estimator"
    EXECUTOR = "executor"
    RANDOM_EXTRACTOR = "random-extractor"


class JobStatus(StrEnum):
    """A job's state, with Qiskit's names (``qiskit.providers.JobStatus``)."""

    INITIALIZING = "INITIALIZING"
    QUEUED = "QUEUED"
    VALIDATING = "VALIDATING"
    RUNNING = "RUNNING"
    CANCELLED = "CANCELLED"
    DONE = "DONE"
    ERROR = "ERROR"

    @property
    def is_final(self) -> bool:
        """True once the job can change no more (DONE, CANCELLED, ERROR)."""
        return self in FINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """True while the job waits or runs."""
        return not self.is_final


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR})

# C0, DEL and C1: refused in tags and names, since they would reach every client's terminal.
# Characters that act on a terminal rather than show: a name, tag or filter holding one is
# refused where it is stored (the service, the relay, the client), and removed where shown.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """True if the text holds a C0 or C1 control character (or DEL)."""
    return _CONTROL_CHARACTERS.search(text) is not None


# Limits the IBM API puts on job tags (OpenAPI ``Tags``).
MAX_TAGS = 8
MAX_TAG_LENGTH = 86


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancel came to: ``ok`` when the job ends cancelled, and the words for it."""

    ok: bool
    message: str


def cancel_outcome(job_id: str, before: JobStatus, after: JobStatus) -> CancelOutcome:
    """The one rule for a cancel, from the job's state before it was asked and after: a job
    that ends cancelled, now or already, is a success; one that had already ended otherwise
    is not, named by its final state. The command line, the store's action and the dashboard
    all say it so. (``job_id`` comes from the caller, cleaned for a line.)"""
    if after is JobStatus.CANCELLED:
        if before.is_final:
            return CancelOutcome(True, f"{job_id} was already cancelled")
        return CancelOutcome(True, f"cancelled {job_id}")
    if after.is_final:
        return CancelOutcome(
            False,
            f"{job_id} cannot be cancelled: it has already ended, in final state {after.value}",
        )
    return CancelOutcome(True, f"cancelling {job_id}: {after.value} still")


# The longest job name the local service stores.
MAX_NAME_LENGTH = 120


def name_problem(name: str) -> str | None:
    """Say why a job name cannot be stored, or return None if it is fine (control characters
    would reach every client's terminal)."""
    if len(name) > MAX_NAME_LENGTH:
        return f"a job name can be at most {MAX_NAME_LENGTH} characters"
    if has_control(name):
        return "a job name cannot contain control characters"
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from JSON's "\ud800"
            return "a job name must be Unicode text (it holds a lone surrogate)"
    return None


def tag_problem(tags: list[str] | tuple[str, ...]) -> str | None:
    """Say why a list of tags breaks IBM's rules, or return None if it is fine."""
    if len(tags) > MAX_TAGS:
        return f"a job can have at most {MAX_TAGS} tags, not {len(tags)}"
    for tag in tags:
        if not isinstance(tag, str):
            return "every tag must be a string"
        if not tag.strip():
            return "a tag cannot be empty"
        if len(tag) > MAX_TAG_LENGTH:
            return (
                f"a tag can be at most {MAX_TAG_LENGTH} characters, {tag[:20]!r}... has {len(tag)}"
            )
        if has_control(tag):
            return "a tag cannot contain control characters (the rule of job names too)"
    return None


@dataclass(frozen=True)
class Step:
    """One status transition of a job and when it happened (UTC, aware)."""

    name: str
    at: datetime


@dataclass(frozen=True)
class QueueInfo:
    """Where a job stands in its backend's queue; None where the service says nothing."""

    position: int | None = None
    estimated_start: datetime | None = None
    estimated_completion: datetime | None = None


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the server's reason code, message and suggested next step."""

    code: int | None
    message: str
    solution: str | None = None

    def __str__(self) -> str:
        if self.code is not None:
            return f"Error code {self.code}; {self.message}"
        return self.message


@dataclass(frozen=True)
class Usage:
    """Quantum time a job consumed, and whether the figure is final."""

    quantum_seconds: float = 0.0
    final: bool = False


@dataclass(frozen=True)
class Job:
    """A job as a source reported it at one moment."""

    id: str
    source: str
    status: JobStatus
    created: datetime
    backend: str | None = None
    program: str | None = None
    tags: tuple[str, ...] = ()
    name: str | None = None
    session_id: str | None = None
    steps: tuple[Step, ...] = ()
    queue: QueueInfo = field(default_factory=QueueInfo)
    usage: Usage = field(default_factory=Usage)
    estimated_running_seconds: float | None = None
    error: JobError | None = None
    private: bool = False
    user_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Identity across sources: two services may hand out the same id."""
        return (self.source, self.id)

    def step_time(self, name: str) -> datetime | None:
        """When the job reached the named step, if it did."""
        for step in self.steps:
            if step.name == name:
                return step.at
        return None

    @property
    def finished(self) -> datetime | None:
        """When the job reached its final state, if it has."""
        return self.step_time("finished")


class BackendState(StrEnum):
    """A backend's availability, as the IBM API names it."""

    ONLINE = "online"
    PAUSED = "paused"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Backend:
    """A machine or simulator that runs jobs, with its queue as last seen."""

    name: str
    source: str
    state: BackendState
    queue_length: int
    num_qubits: int | None = None
    simulator: bool = False
    message: str = ""


class SessionMode(StrEnum):
    """How a session holds its backend: a batch's jobs may interleave with others' jobs, a
    dedicated session keeps the backend between its jobs."""

    BATCH = "batch"
    DEDICATED = "dedicated"


class SessionState(StrEnum):
    """A session's state, with the IBM API's names (``pending_*`` are folded into these)."""

    OPEN = "open"
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


@dataclass(frozen=True)
class Session:
    """A session or batch (``GET /sessions/{id}``) as a source reported it at one moment.

    TTLs are in seconds; ``max_ttl`` runs from the first job's start (``activated_at``), the
    interactive TTL from the end of the last job of a dedicated session.
    """

    id: str
    source: str
    mode: SessionMode
    state: SessionState
    accepting_jobs: bool = True
    backend: str | None = None
    interactive_ttl: float | None = None
    max_ttl: float | None = None
    active_ttl: float | None = None
    started_at: datetime | None = None
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    last_job_started: datetime | None = None
    last_job_completed: datetime | None = None
    elapsed_seconds: float | None = None
    state_reason: str | None = None
    user_id: str | None = None
    steps: tuple[Step, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)

    @property
    def closed(self) -> bool:
        """True once the session can change no more."""
        return self.state is SessionState.CLOSED

    @property
    def status_text(self) -> str:
        """The status as qiskit-ibm-runtime's ``Session.status()`` words it."""
        if self.state in (SessionState.OPEN, SessionState.INACTIVE):
            return "Pending"
        if self.state is SessionState.ACTIVE:
            if self.accepting_jobs:
                return "In progress, accepting new jobs"
            return "In progress, not accepting new jobs"
        return self.state.value.capitalize()

    def ttl_left(self, now: datetime) -> float | None:
        """Seconds until the maximum TTL closes the session; None when unknown or closed."""
        if self.closed or self.max_ttl is None:
            return None
        if self.activated_at is None:
            return self.max_ttl
        return max(self.max_ttl - (now - self.activated_at).total_seconds(), 0.0)

    def interactive_left(self, now: datetime) -> float | None:
        """Seconds a dedicated session stays active without a new job; None where it does
        not apply (a batch, a job running, no job finished yet, closed)."""
        if (
            self.mode is not SessionMode.DEDICATED
            or self.state is not SessionState.ACTIVE
            or self.interactive_ttl is None
            or self.last_job_completed is None
        ):
            return None
        if self.last_job_started is not None and self.last_job_started > self.last_job_completed:
            return None
        idle = (now - self.last_job_completed).total_seconds()
        return max(self.interactive_ttl - idle, 0.0)


@dataclass(frozen=True)
class InstanceUsage:
    """``GET /instances/usage``: quantum time consumed in the period, and the limit if any."""

    consumed_seconds: float
    limit_seconds: float | None = None
    limit_reached: bool = False
    period_start: datetime | None = None
    period_end: datetime | None = None
    instance: str | None = None

    @property
    def remaining_seconds(self) -> float | None:
        """As qiskit-ibm-runtime's ``usage_remaining_seconds``: never below zero."""
        if self.limit_seconds is None:
            return None
        return max(self.limit_seconds - self.consumed_seconds, 0.0)

    @property
    def fraction_left(self) -> float | None:
        """The share of the limit still left (0..1), None without a limit."""
        remaining = self.remaining_seconds
        if remaining is None or not self.limit_seconds:
            return None if remaining is None else 0.0
        return remaining / self.limit_seconds

    @property
    def low(self) -> bool:
        """True when under ``LOW_USAGE_FRACTION`` of the limit is left, or it is reached."""
        left = self.fraction_left
        return self.limit_reached or (left is not None and left < LOW_USAGE_FRACTION)


LOW_USAGE_FRACTION = 0.10


@dataclass(frozen=True)
class Workload:
    """One entry of ``GET /workloads``: a job, a session or a batch, in one list."""

    id: str
    source: str
    mode: str  # "job", "session" or "batch"
    status: str  # pending, in_progress, completed, failed, canceled
    created: datetime | None = None
    ended: datetime | None = None
    backend: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    accepting_jobs: bool | None = None
    quantum_seconds: float = 0.0
