"""What the store tells its subscribers: change sets and the health of each source.

Plain frozen data, so that a subscriber (the dashboard, ``qjob-tui ls --watch``, a test) can
keep them, compare them and render them without touching the store's state.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class SourceHealth:
    """How a source's polling goes: when it last worked, why it last failed, what's next."""

    source: str
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
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

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.last_success is not None

    @property
    def stale(self) -> bool:
        """True when what is shown may be out of date: the last poll failed."""
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
        )


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one user action on one job."""

    key: JobKey
    ok: bool
    message: str
