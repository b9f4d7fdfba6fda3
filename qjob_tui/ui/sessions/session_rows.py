"""The job list grouped by session or batch: which groups, in which order, and how each reads.

Pure functions over jobs and sessions (no Textual), so the grouped view, its tests and its
snapshots agree. A group is one session or batch of one source with its jobs, newest first; the
groups come newest activity first; jobs outside any session are counted, not listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from qjob_tui.model import Job, JobStatus, Session, SessionMode, SessionState
from qjob_tui.store.changes import SessionKey
from qjob_tui.text import counted, one_line
from qjob_tui.ui.formatting import (
    FALLBACK_STYLE,
    MISSING,
    STATUS_LOOKS,
    compact_duration,
    relative_time,
    status_look,
)

# The order job counts are listed in a group row: what needs attention first.
COUNT_ORDER = (
    JobStatus.RUNNING,
    JobStatus.QUEUED,
    JobStatus.VALIDATING,
    JobStatus.INITIALIZING,
    JobStatus.ERROR,
    JobStatus.CANCELLED,
    JobStatus.DONE,
)
STATE_STYLE: dict[SessionState, str] = {
    SessionState.OPEN: "yellow",
    SessionState.ACTIVE: "cyan",
    SessionState.INACTIVE: "yellow",
    SessionState.CLOSED: "dim",
}


@dataclass(frozen=True)
class Group:
    """One session or batch and its (visible) jobs, newest first."""

    key: SessionKey
    session: Session | None
    jobs: tuple[Job, ...]

    @property
    def counts(self) -> Counter[JobStatus]:
        return Counter(job.status for job in self.jobs)

    @property
    def newest(self) -> datetime | None:
        return self.jobs[0].created if self.jobs else None


@dataclass(frozen=True)
class Grouping:
    """The groups to show, and how many visible jobs belong to no session."""

    groups: tuple[Group, ...]
    loose: int

    @property
    def shape(self) -> tuple[tuple[SessionKey, tuple[tuple[str, str], ...]], ...]:
        """Which rows there are, without their contents: equal shapes need no rebuild."""
        return tuple((g.key, tuple(job.key for job in g.jobs)) for g in self.groups)


def group_jobs(jobs: Iterable[Job], sessions: Mapping[SessionKey, Session]) -> Grouping:
    """Group the jobs by session; the sessions known without a visible job are left out."""
    members: dict[SessionKey, list[Job]] = {}
    loose = 0
    for job in jobs:
        if job.session_id:
            members.setdefault((job.source, job.session_id), []).append(job)
        else:
            loose += 1
    groups = []
    for key, items in members.items():
        items.sort(key=lambda job: job.created, reverse=True)
        groups.append(Group(key, sessions.get(key), tuple(items)))
    groups.sort(key=lambda g: (g.newest.timestamp() if g.newest else 0.0, g.key), reverse=True)
    return Grouping(tuple(groups), loose)


def ttl_label(session: Session | None, now: datetime) -> str:
    """The TTL left as "TTL 7 h 40 min"; nothing once closed (the state says so)."""
    if session is None:
        return MISSING
    if session.closed:
        return ""
    left = session.ttl_left(now)
    return MISSING if left is None else f"TTL {compact_duration(left)}"


def counts_text(counts: Counter[JobStatus]) -> Text:
    """Job counts by status, each with its glyph and tone: "▶ 1  … 2  ✔ 5"."""
    text = Text()
    for status in COUNT_ORDER:
        if counts.get(status):
            look = STATUS_LOOKS[status]
            if text:
                text.append("  ")
            text.append(f"{look.glyph} {counts[status]}", style=FALLBACK_STYLE[look.tone])
    return text


STATE_WIDTH = len("inactive, closing")  # the longest state: the columns after it line up


def state_label(session: Session | None, intent: str | None = None) -> tuple[str, str]:
    """The session's state in a word or two, and its style."""
    if intent:
        return f"↻ {intent}", "yellow"
    if session is None:
        return "…", "dim"
    word = session.state.value
    if session.state is SessionState.ACTIVE and not session.accepting_jobs:
        word = "active, closing"
    elif not session.closed and not session.accepting_jobs:
        word = f"{word}, closing"
    return word, STATE_STYLE[session.state]


def group_text(
    group: Group, now: datetime, intent: str | None = None, show_source: bool = False
) -> Text:
    """A group row: mode, state, backend, TTL left, job counts, elapsed time, id."""
    session = group.session
    text = Text(no_wrap=True, overflow="ellipsis")
    mode = session.mode.value if session else "session"
    text.append(f"{mode:<9}", style="bold")
    state, style = state_label(session, intent)
    text.append(f" {state:<{STATE_WIDTH}}", style=style)
    backend = one_line(session.backend, 40) if session and session.backend else MISSING
    text.append(f" {backend}")
    ttl = ttl_label(session, now)
    text.append(f"  {ttl}  " if ttl else "  ")
    text.append_text(counts_text(group.counts))
    elapsed = session.elapsed_seconds if session else None
    if elapsed is not None:
        text.append(f"  {compact_duration(elapsed)} used", style="dim")
    prefix = f"{one_line(group.key[0], 20)}:" if show_source else ""
    text.append(f"  {prefix}{one_line(group.key[1], 60)}", style="dim")
    return text


def job_text(job: Job, now: datetime, intent: str | None = None) -> Text:
    """A job row inside a group: status, id, name, backend, created."""
    look = status_look(job.status, intent)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{look.label:<14}", style=FALLBACK_STYLE[look.tone])
    text.append(f" {one_line(job.id, 40)}")
    if job.name:
        text.append(f"  {one_line(job.name, 40)}")
    text.append(f"  {job.backend or MISSING}", style="dim")
    text.append(f"  {relative_time(job.created, now)}", style="dim")
    return text


def loose_text(count: int) -> Text:
    return Text(f"{counted(count, 'job')} outside sessions (z: the plain list)", style="dim italic")


def session_mode_word(mode: SessionMode) -> str:
    return "Batch" if mode is SessionMode.BATCH else "Session"
