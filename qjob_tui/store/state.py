"""``SourceState``: everything known of one source's server, and its only writer.

Jobs, backends and their queue history, sessions, usage, the user the server says we are,
the readings of finished jobs (results of every program kind), the actions in flight, the
cursors of the history, the cache and the identity the cache is keyed by: all of it lives here.
The parts that fill it (the poller, the stream listener, the session watch, the actions) ask it
to apply what they received and publish the deltas it returns. When another server answers at
a source's address, the source gets a new ``SourceState``: nothing is cleared field by field,
so nothing of the old server can be forgotten in a corner.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from qjob_tui.api.parse import JobMetrics, with_metrics
from qjob_tui.model import Backend, InstanceUsage, Job, JobStatus, QueueInfo, Session
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cache.job_cache import CachePosition


def merge_listed(old: Job | None, new: Job) -> Job:
    """A listed job keeps the steps and queue place its last details gave, until they change."""
    if old is None:
        return new
    steps = new.steps if len(new.steps) >= len(old.steps) else old.steps
    queue = new.queue
    if new.status is JobStatus.QUEUED and queue == QueueInfo():
        queue = old.queue
    elif new.status is not JobStatus.QUEUED:
        queue = QueueInfo()
    usage = new.usage if new.usage.quantum_seconds or not old.usage.quantum_seconds else old.usage
    return replace(new, steps=steps, queue=queue, usage=usage)


@dataclass
class Delta:
    """The jobs one step (or round) changed, by id: what a change set is made of."""

    added: dict[str, Job] = field(default_factory=dict)
    changed: dict[str, Job] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def note(self, old: Job | None, new: Job) -> None:
        if old is None or new.id in self.added:
            self.added[new.id] = new
        elif new != old:
            self.changed[new.id] = new


@dataclass
class Cursors:
    """How far the server's history is known, and what is still to ask of it."""

    # ``created_after``: every job created before ``newest`` has been listed.
    newest: datetime | None = None
    # The history below the newest page: everything created at or after ``history_before``
    # is known (or, when the server pages by offset only, the first ``history_offset`` jobs).
    history_before: datetime | None = None
    history_offset: int | None = None
    history_complete: bool = False
    history_stuck: str | None = None  # why the history cannot be read further, once said
    total: int | None = None
    primed: bool = False
    # Jobs to fetch by id until their final state is known.
    due: set[str] = field(default_factory=set)
    # Jobs whose metrics (steps, usage, queue place) are still to read.
    needs_metrics: set[str] = field(default_factory=set)
    unsaved: set[str] = field(default_factory=set)  # final jobs not yet in the cache
    marks_dirty: bool = False
    saved_active: list[str] | None = None
    reconcile_due: bool = False
    # The cached jobs older than the first screenful, still to read.
    rest_due: bool = False
    rest_after: CachePosition | None = None
    # False once a queued job's metrics came without a place (IBM Quantum today): its places
    # are not asked by id again.
    places_by_metrics: bool = True
    # Loop times of the next slow steps.
    next_backends: float = 0.0
    next_reconcile: float = 0.0


class SourceState:
    """One server's state, as one source sees it; replaced whole when the server changes."""

    def __init__(
        self, name: str, identity: str | None = None, *, backfill: bool = True, samples: int = 720
    ) -> None:
        self.name = name
        self.identity = identity
        self.jobs: dict[str, Job] = {}
        self.backends: dict[str, Backend] = {}
        self.queue_history: dict[str, deque[tuple[datetime, int]]] = {}
        self._samples = samples
        self.sessions: dict[str, Session] = {}
        self.session_intents: dict[str, str] = {}
        self.missing_sessions: set[str] = set()  # ids the server does not know
        self.usage: InstanceUsage | None = None
        self.own_user: str | None = None
        self.no_workloads = False  # the server has no ``GET /workloads``
        # Finished jobs' results, by (program kind, job id): they never change.
        self.readings: dict[tuple[str, str], Any] = {}
        self.intents: dict[str, str] = {}  # actions in flight ("cancelling…"), by job id
        self.cursors = Cursors(history_complete=not backfill)
        self.cache: JobCache | None = None
        # Each job the stream changed, with the revision it did so at: a round that began
        # before then got answers older than the stream's news, and drops them.
        self.revision = 0
        self.streamed: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"SourceState({self.name!r}, {self.identity!r}, {len(self.jobs)} jobs)"

    # --- jobs ----------------------------------------------------------------------------

    def apply_listed(self, job: Job, started: int, delta: Delta) -> tuple[Job | None, Job]:
        """Merge one listed or fetched job (asked for at revision ``started``)."""
        old = self.jobs.get(job.id)
        if self.streamed.get(job.id, -1) > started:
            return old, old if old is not None else job  # the stream's news is newer
        merged = merge_listed(old, job)
        cursors = self.cursors
        if old is not None and old.status != merged.status:
            cursors.needs_metrics.add(job.id)  # a transition: steps and usage come with metrics
        delta.note(old, merged)
        self.jobs[job.id] = merged
        if merged.status.is_final:
            cursors.due.discard(job.id)
            if old is None or old != merged:
                cursors.unsaved.add(job.id)
        return old, merged

    def apply_metrics(self, job_id: str, metrics: JobMetrics, started: int, delta: Delta) -> None:
        """A job's metrics (steps, queue place, usage), unless the stream's are newer."""
        self.cursors.needs_metrics.discard(job_id)
        current = self.jobs.get(job_id)
        if current is None or self.streamed.get(job_id, -1) > started:
            return
        if current.status is JobStatus.QUEUED and metrics.queue.position is None:
            self.cursors.places_by_metrics = False
        fresh = with_metrics(current, metrics)
        if fresh != current:
            self.jobs[job_id] = fresh
            delta.note(current, fresh)
            if fresh.status.is_final:
                self.cursors.unsaved.add(job_id)

    def apply_places(self, places: dict[str, QueueInfo], started: int, delta: Delta) -> None:
        """The queue places of queued jobs, read in one listing."""
        for job_id, queue in places.items():
            current = self.jobs.get(job_id)
            if current is None or current.status is not JobStatus.QUEUED:
                continue
            if self.streamed.get(job_id, -1) > started or current.queue == queue:
                continue
            fresh = replace(current, queue=queue)
            self.jobs[job_id] = fresh
            delta.note(current, fresh)

    def forget(self, job_id: str, delta: Delta) -> None:
        """A job the server no longer has."""
        self.cursors.due.discard(job_id)
        self.cursors.needs_metrics.discard(job_id)
        if self.jobs.pop(job_id, None) is not None:
            delta.removed.append(job_id)
            delta.added.pop(job_id, None)
            delta.changed.pop(job_id, None)

    def apply_streamed(self, job_id: str, job: Job | None, delta: Delta) -> bool:
        """One pushed change; True when it made a job final (for the cache)."""
        old = self.jobs.get(job_id)
        self.revision += 1
        self.streamed[job_id] = self.revision
        if job is None:
            if old is not None:
                self.forget(job_id, delta)
            return False
        if old == job:
            return False
        self.jobs[job.id] = job
        delta.note(old, job)
        self.see_created(job)
        return job.status.is_final and (old is None or old.status.is_active)

    def take_cached(self, jobs: list[Job]) -> tuple[Job, ...]:
        """Cached jobs into the known ones (those not known yet); the newest moves the cursor."""
        taken = []
        for job in jobs:
            if job.id in self.jobs:
                continue
            self.jobs[job.id] = job
            taken.append(job)
            self.see_created(job)
        return tuple(taken)

    def see_created(self, job: Job) -> None:
        """Every job listed up to here: the ``created_after`` cursor follows it."""
        if self.cursors.newest is None or job.created > self.cursors.newest:
            self.cursors.newest = job.created

    def put_details(self, job: Job) -> Job | None:
        """A job read by id on demand; returns the one it replaced."""
        old = self.jobs.get(job.id)
        self.jobs[job.id] = job
        return old

    def optimistic(self, job_id: str, intent: str, fields: dict[str, Any]) -> Job | None:
        """Show an edit at once, before the server confirms it; the job as it was before."""
        old = self.jobs.get(job_id)
        if old is None:
            return None
        self.jobs[job_id] = replace(old, **fields)
        self.intents[job_id] = intent
        return old

    def roll_back(self, job_id: str, old: Job, fields: dict[str, Any]) -> Job | None:
        """The server refused an edit: its fields as they were (the rest as polled since)."""
        self.intents.pop(job_id, None)
        current = self.jobs.get(job_id)
        if current is None:
            return None
        self.jobs[job_id] = replace(current, **{name: getattr(old, name) for name in fields})
        return self.jobs[job_id]

    def set_intent(self, job_id: str, intent: str | None) -> None:
        if intent is None:
            self.intents.pop(job_id, None)
        else:
            self.intents[job_id] = intent

    # --- backends, sessions, usage, readings ----------------------------------------------

    def apply_backends(self, backends: list[Backend], stamp: datetime) -> tuple[Backend, ...]:
        """One reading of the backends; their queue lengths join the queue history."""
        changed = []
        for backend in backends:
            history = self.queue_history.setdefault(backend.name, deque(maxlen=self._samples))
            history.append((stamp, backend.queue_length))
            if self.backends.get(backend.name) != backend:
                changed.append(backend)
            self.backends[backend.name] = backend
        return tuple(changed)

    def apply_session(self, session: Session) -> bool:
        """A session as read; True if it changed."""
        if self.sessions.get(session.id) == session:
            return False
        self.sessions[session.id] = session
        return True

    def apply_usage(self, usage: InstanceUsage) -> bool:
        if self.usage == usage:
            return False
        self.usage = usage
        return True

    def reading(self, kind: str, job_id: str) -> Any:
        return self.readings.get((kind, job_id))

    def keep_reading(self, kind: str, job_id: str, value: Any) -> None:
        self.readings[(kind, job_id)] = value

    # --- the history ---------------------------------------------------------------------

    @property
    def active(self) -> list[str]:
        """Jobs still to follow: active ones and those whose final state is not known."""
        return sorted({j.id for j in self.jobs.values() if j.status.is_active} | self.cursors.due)

    def marks(self) -> dict[str, str]:
        """How far the history is known, as the cache records it."""
        cursors = self.cursors
        if cursors.history_complete:
            return {"history": "complete"}
        if cursors.history_before is not None:
            return {"history": "partial", "history_before": cursors.history_before.isoformat()}
        return {}
