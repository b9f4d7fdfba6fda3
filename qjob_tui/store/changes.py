"""What the store tells its subscribers: change sets and the health of each source.

Plain frozen data, so that a subscriber (the dashboard, ``qjob-tui ls --watch``, a test) can
keep them, compare them and render them without touching the store's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from qjob_tui.model import Backend, InstanceUsage, Job, Session

JobKey = tuple[str, str]  # (source, job id)
SessionKey = tuple[str, str]  # (source, session id)


@dataclass(frozen=True)
class SourceInfo:
    """What the ui may know of a source: its name, where it is, and what it allows."""

    name: str
    url: str
    local: bool
    can_rename: bool
    relayed: bool = False  # served by a relay, which takes no jobs (see ``Source.relayed``)


@dataclass(frozen=True)
class SourceHealth:
    """How a source's polling goes: when it last worked, why it last failed, what's next."""

    source: str
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    # Whether that error was the network's (no answer came), not an answer refusing the request.
    no_answer: bool = False
    next_poll: datetime | None = None
    interval: float = 0.0
    failures: int = 0
    paused: bool = False
    # While older history still loads: jobs known, and how many the server has (else None).
    loaded: int = 0
    total: int | None = None
    # A cache write that failed, once, until one works again.
    cache_problem: str | None = None
    streaming: bool = False  # changes are pushed by the server; polls only reconcile
    upstream: str | None = None  # through a relay: its upstream's health ("ok", "stale: …")
    # Why the older history cannot be read further (a server that pages by neither
    # ``created_before`` nor ``offset``), once known.
    history: str | None = None

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.last_success is not None

    @property
    def stale(self) -> bool:
        """True when what is shown may be out of date: the last poll failed, or the source
        has left a request (or its live stream) unanswered past the request timeout."""
        return self.failures > 0


@dataclass(frozen=True)
class ChangeSet:
    """One poll's worth of changes, or one action's."""

    added: tuple[Job, ...] = ()
    changed: tuple[Job, ...] = ()
    removed: tuple[JobKey, ...] = ()
    backends: tuple[Backend, ...] = ()
    health: tuple[SourceHealth, ...] = ()
    # Jobs whose pending action (e.g. "cancelling…") started or ended, by key.
    intents: tuple[JobKey, ...] = ()
    notices: tuple[str, ...] = field(default=())
    # Sessions and batches that are new or changed (or whose action started or ended), and
    # the usage of each source that reported it, as (source, usage).
    sessions: tuple[Session, ...] = ()
    usage: tuple[tuple[str, InstanceUsage], ...] = ()
    # Sources at whose address another server answers now: everything kept of them (jobs,
    # sessions, usage, results read) belongs to the old server and is dropped.
    switched: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.changed
            or self.removed
            or self.backends
            or self.health
            or self.intents
            or self.notices
            or self.sessions
            or self.usage
            or self.switched
        )


def merge_changes(sets: Iterable[ChangeSet]) -> ChangeSet:
    """Several change sets, in order, as one: each job, backend, source and session as it
    was last, a job added and then changed still "added", one removed at the end "removed"."""
    added: dict[JobKey, Job] = {}
    changed: dict[JobKey, Job] = {}
    removed: dict[JobKey, None] = {}
    backends: dict[tuple[str, str], Backend] = {}
    health: dict[str, SourceHealth] = {}
    intents: dict[JobKey, None] = {}
    notices: list[str] = []
    sessions: dict[tuple[str, str], Session] = {}
    usage: dict[str, InstanceUsage] = {}
    switched: dict[str, None] = {}
    for changes in sets:
        for source in changes.switched:
            switched[source] = None
            for kept in (added, changed, sessions):
                for key in [k for k in kept if k[0] == source]:
                    del kept[key]  # type: ignore[attr-defined]
            usage.pop(source, None)
        for job in changes.added:
            removed.pop(job.key, None)
            added[job.key] = job
        for job in changes.changed:
            (added if job.key in added else changed)[job.key] = job
        for key in changes.removed:
            added.pop(key, None)
            changed.pop(key, None)
            removed[key] = None
        backends.update({(b.source, b.name): b for b in changes.backends})
        health.update({h.source: h for h in changes.health})
        intents.update(dict.fromkeys(changes.intents))
        notices += changes.notices
        sessions.update({(s.source, s.id): s for s in changes.sessions})
        usage.update(dict(changes.usage))
    return ChangeSet(
        added=tuple(added.values()),
        changed=tuple(changed.values()),
        removed=tuple(removed),
        backends=tuple(backends.values()),
        health=tuple(health.values()),
        intents=tuple(intents),
        notices=tuple(notices),
        sessions=tuple(sessions.values()),
        usage=tuple(usage.items()),
        switched=tuple(switched),
    )


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one user action on one job."""

    key: JobKey
    ok: bool
    message: str
