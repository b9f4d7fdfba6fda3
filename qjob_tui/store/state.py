"""``SourceState``: everything known of one source's server, and its only writer.

Jobs, backends and their queue history, sessions, usage, the user the server says we are,
the readings of finished jobs (results of every program kind), the actions in flight, the
jobs submitted through the store, the cursors of the history, the cache and the identity the
cache is keyed by: all of it lives here, and only its methods write it (each named for what
happened: ``identity_learned``, ``apply_older_page``, ``session_acting`` …).
The parts that fill it (the poller, the stream listener, the session watch, the actions) ask it
to apply what they received and publish the deltas it returns. When another server answers at
a source's address, the source gets a new ``SourceState``: nothing is cleared field by field,
so nothing of the old server can be forgotten in a corner.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from qjob_tui.api.parse import JobMetrics, with_metrics
from qjob_tui.model import Backend, InstanceUsage, Job, JobStatus, QueueInfo, Session
from qjob_tui.store.cache import JobCache
from qjob_tui.store.cache.job_cache import CachePosition

if TYPE_CHECKING:
    from qjob_tui.api.client import JobPage

# A step back of the ``created_before`` cursor when a page brought only jobs at its edge.
CREATED_MARGIN = timedelta(milliseconds=1)


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
        self.submitted: set[str] = set()  # jobs submitted through this store (its session)
        # Finished jobs whose steps were asked for (the history lists them without): each
        # once per server, whatever its answer.
        self.steps_asked: set[str] = set()

    def __repr__(self) -> str:
        return f"SourceState({self.name!r}, {self.identity!r}, {len(self.jobs)} jobs)"

    # --- who the server is, and its cache --------------------------------------------------

    def identity_learned(self, identity: str) -> None:
        """The server said who it is: its cache and every answer from now on are its own."""
        self.identity = identity

    def cache_opened(
        self, cache: JobCache, jobs: list[Job], after: CachePosition | None
    ) -> tuple[Job, ...]:
        """This server's cache is open and its newest jobs read: those shown at once, the
        older ones (after ``after``) still to read."""
        self.cache = cache
        self.cursors.rest_after, self.cursors.rest_due = after, True
        return self.take_cached(jobs)

    def rest_loaded(
        self, jobs: list[Job], active: list[str], marks: dict[str, str], *, backfill: bool
    ) -> tuple[Job, ...]:
        """The rest of the cache: the older jobs, those active at the last stop (still to
        follow) and how far the history was known; the jobs not known yet."""
        cursors = self.cursors
        cursors.rest_due = False
        cursors.due.update(active)
        if (jobs or self.jobs) and backfill:
            # Only what a whole write recorded counts: a cache without marks may have gaps,
            # so its history is read again from the top (known jobs merge by id).
            cursors.history_complete = marks.get("history") == "complete"
            before = marks.get("history_before")
            with contextlib.suppress(ValueError, TypeError):
                cursors.history_before = datetime.fromisoformat(before)  # type: ignore[arg-type]
        return self.take_cached(jobs)

    def unsaved(self) -> tuple[list[str], list[Job], list[str]] | None:
        """What the cache lacks (the ids and jobs of final jobs, the active ids), or None
        when it holds all of it already."""
        cursors, active = self.cursors, self.active
        if not (cursors.unsaved or cursors.marks_dirty or active != cursors.saved_active):
            return None
        ids = list(cursors.unsaved)
        return ids, [self.jobs[i] for i in ids if i in self.jobs], active

    def cache_saved(self, ids: list[str], active: list[str]) -> None:
        """The cache holds these final jobs, this list of active ones and the marks now."""
        self.cursors.saved_active = active
        self.cursors.unsaved.difference_update(ids)
        self.cursors.marks_dirty = False

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
        """A job read by id on demand; returns the one it replaced. A final one that changed
        goes into the cache with the next save, with the rest."""
        old = self.jobs.get(job.id)
        self.jobs[job.id] = job
        if job.status.is_final and old != job:
            self.cursors.unsaved.add(job.id)
        return old

    def lacks_steps(self, job_id: str) -> bool:
        """A finished job without its running and finished times (listed from history: only
        its metrics have them), not asked for yet."""
        job = self.jobs.get(job_id)
        return (
            job is not None
            and job.status.is_final
            and job.finished is None
            and job_id not in self.steps_asked
        )

    def steps_asking(self, job_id: str) -> None:
        """A job's metrics are asked for its steps: not again on this server."""
        self.steps_asked.add(job_id)

    def steps_unanswered(self, job_id: str) -> None:
        """The request got no answer (the network, a rate limit): it may be asked again."""
        self.steps_asked.discard(job_id)

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

    def job_submitted(self, job_id: str) -> None:
        """A job this store submitted (its end is worth telling)."""
        self.submitted.add(job_id)

    def set_intent(self, job_id: str, intent: str | None) -> None:
        if intent is None:
            self.intents.pop(job_id, None)
        else:
            self.intents[job_id] = intent

    # --- backends, sessions, usage, readings ----------------------------------------------

    def apply_backends(
        self, backends: list[Backend], stamp: datetime, next_reading: float | None = None
    ) -> tuple[Backend, ...]:
        """One reading of the backends; their queue lengths join the queue history. A polled
        reading plans the next one (loop time ``next_reading``)."""
        if next_reading is not None:
            self.cursors.next_backends = next_reading
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

    def session_missing(self, session_id: str) -> None:
        """The server does not know this session (deleted, or never its own): not asked again."""
        self.missing_sessions.add(session_id)

    def session_acting(self, session_id: str, intent: str) -> Session | None:
        """A close or cancel sent: the session accepts no jobs from now on, shown at once;
        the session as it is now (None if unknown)."""
        old = self.sessions.get(session_id)
        if old is None:
            return None
        self.session_intents[session_id] = intent
        self.sessions[session_id] = replace(old, accepting_jobs=False)
        return self.sessions[session_id]

    def session_refused(self, session_id: str, old: Session) -> None:
        """The server refused the close or cancel: the session as it was."""
        self.session_intents.pop(session_id, None)
        self.sessions[session_id] = old

    def session_acted(self, session_id: str) -> None:
        """The server took the close or cancel: no action in flight."""
        self.session_intents.pop(session_id, None)

    def own_user_learned(self, user: str | None) -> None:
        """The user id the server says the account has (None: it has no workloads yet)."""
        self.own_user = user

    def workloads_unsupported(self) -> None:
        """The server has no ``GET /workloads``: the own user is never asked again."""
        self.no_workloads = True

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

    def pending_listed(self, ids: set[str]) -> None:
        """The whole pending list arrived: the jobs on it are kept fresh by it, not by id."""
        self.cursors.due -= ids

    def missing_from_pending(self, ids: set[str]) -> None:
        """Active jobs not on the whole pending list ended (or moved): each is read by id."""
        for job_id, job in self.jobs.items():
            if job.status.is_active and job_id not in ids:
                self.cursors.due.add(job_id)

    def metrics_wanted(self, job_ids: Iterable[str]) -> None:
        """These jobs' metrics (steps, queue place, usage) are worth reading next."""
        self.cursors.needs_metrics.update(job_ids)

    def metrics_gone(self, job_id: str) -> None:
        """A job whose metrics cannot be read (gone from the server, or from here)."""
        self.cursors.needs_metrics.discard(job_id)

    def reconcile_planned(self, at: float) -> None:
        """The next reconciliation, at loop time ``at``."""
        self.cursors.next_reconcile = at

    def reconciled(self, next_at: float) -> None:
        """A reconciliation listed its whole window: the next one at loop time ``next_at``."""
        self.cursors.reconcile_due = False
        self.cursors.next_reconcile = next_at

    def round_failed(self) -> None:
        """A round had errors: what it missed is listed again by a reconciliation."""
        self.cursors.reconcile_due = True

    def rounds_settled(self) -> None:
        """No round is under way: the rounds from now on begin after every pushed change."""
        self.streamed.clear()

    def primed_by_cache(self) -> bool:
        """Whether the cache brought the history's newest jobs (a warm start: only what is
        new is listed); if so, the history counts as primed."""
        if self.cursors.newest is None:
            return False
        self.cursors.primed = True
        return True

    def apply_first_pages(self, jobs: list[Job], last: JobPage, started: int, delta: Delta) -> None:
        """A cold start's newest jobs (``last`` the last page read): the cursors follow."""
        for job in jobs:
            self.apply_listed(job, started, delta)
        cursors = self.cursors
        if jobs:
            cursors.newest = max(job.created for job in jobs)
        cursors.total = max(last.count, len(jobs))
        if len(last.jobs) < last.limit or len(jobs) >= last.count:
            cursors.history_complete = True
        elif jobs:
            cursors.history_before = min(job.created for job in jobs)
        cursors.marks_dirty = True
        cursors.primed = True

    def apply_older_page(
        self, page: JobPage, before: datetime | None, started: int, delta: Delta
    ) -> None:
        """A page of the history created before ``before``. A page that brings nothing older
        and nothing new shows the server ignores ``created_before``: paging goes on by offset
        from what is known (every known job is among the newest)."""
        known = len(self.jobs)
        for job in page.jobs:
            self.apply_listed(job, started, delta)
        cursors = self.cursors
        older = [job.created for job in page.jobs if before is None or job.created < before]
        cursors.total = len(self.jobs) + max(page.count - len(page.jobs), 0)
        cursors.marks_dirty = True
        if len(page.jobs) < page.limit or page.count <= len(page.jobs):
            cursors.history_complete = True
        elif older:
            cursors.history_before = min(older)
        elif len(self.jobs) == known:
            cursors.history_offset = known
        else:
            cursors.history_before = before - CREATED_MARGIN  # type: ignore[operator]

    def apply_offset_page(
        self, page: JobPage, offset: int, started: int, delta: Delta
    ) -> str | None:
        """A page of the history at ``offset``; what to say once when a whole page of known
        jobs shows that offsets are not honoured either (then the history stops here)."""
        known = len(self.jobs)
        for job in page.jobs:
            self.apply_listed(job, started, delta)
        cursors = self.cursors
        cursors.history_offset = offset + len(page.jobs)
        cursors.total = max(page.count, len(self.jobs))
        cursors.marks_dirty = True
        if len(page.jobs) < page.limit or cursors.history_offset >= page.count:
            cursors.history_complete = True
        elif len(self.jobs) == known:
            cursors.history_stuck = (
                f"{self.name}: older history cannot be paged (the server ignores "
                "created_before and offset); showing the newest jobs only"
            )
            return cursors.history_stuck
        return None

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
