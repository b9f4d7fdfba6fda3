"""The detail of a session or batch: its state, TTLs and times, then its jobs.

Shown in place of the job's tabs while the cursor of the grouped list is on a group row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from qjob_tui.model import Job, Session
from qjob_tui.store.changes import SessionKey
from qjob_tui.text import one_line
from qjob_tui.ui.detail.overview import local_time
from qjob_tui.ui.formatting import FALLBACK_STYLE, compact_duration, status_look
from qjob_tui.ui.sessions.session_rows import counts_text, session_mode_word, state_label

MAX_JOBS = 200  # listed in the pane; the rest counted


def _seconds(value: float | None) -> str:
    return "-" if value is None else compact_duration(value)


def session_text(
    key: SessionKey,
    session: Session | None,
    jobs: Sequence[Job],
    now: datetime,
    intent: str | None = None,
) -> Text:
    """Every field of the session as plain text with styles; server strings never markup."""
    text = Text()

    def row(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:<16}", style="bold")
        text.append(value, style=style)
        text.append("\n")

    if session is None:
        row("Session", f"{one_line(key[1], 100)}  ({one_line(key[0], 40)})")
        row("Status", "not read yet (the server may not know it)", "dim")
    else:
        row(session_mode_word(session.mode), f"{session.id}  ({session.source})")
        state, style = state_label(session, intent)
        row("State", f"{state} · {session.status_text}", style)
        if session.state_reason:
            row("Reason", session.state_reason)
        row("Backend", session.backend or "-")
        row("Accepting jobs", "yes" if session.accepting_jobs else "no")
        row("TTL left", _seconds(session.ttl_left(now)))
        if session.interactive_left(now) is not None:
            row("Idle time left", _seconds(session.interactive_left(now)))
        row("Max TTL", _seconds(session.max_ttl))
        row("Interactive TTL", _seconds(session.interactive_ttl))
        row("Usage", _seconds(session.elapsed_seconds))
        row("Started", local_time(session.started_at))
        if session.activated_at:
            row("Activated", local_time(session.activated_at))
        if session.last_job_started:
            row("Last job start", local_time(session.last_job_started))
        if session.last_job_completed:
            row("Last job end", local_time(session.last_job_completed))
        if session.closed_at:
            row("Closed", local_time(session.closed_at))
        if session.user_id:
            row("User", session.user_id)
    text.append("\n")
    count = len(jobs)
    text.append(f"{count} job" + ("" if count == 1 else "s") + "  ", style="bold")
    text.append_text(counts_text(Counter(job.status for job in jobs)))
    text.append("\n")
    for job in jobs[:MAX_JOBS]:
        look = status_look(job.status)
        text.append(f"  {look.label:<14}", style=FALLBACK_STYLE[look.tone])
        text.append(f" {job.id}")
        if job.name:
            text.append(f"  {one_line(job.name, 40)}")
        text.append("\n")
    if count > MAX_JOBS:
        text.append(f"  … and {count - MAX_JOBS} more\n", style="dim")
    text.rstrip()
    return text


class SessionDetail(VerticalScroll):
    """A session's or batch's details, with its jobs."""

    def compose(self) -> ComposeResult:
        yield Static(id="session-view")

    def show(
        self,
        key: SessionKey,
        session: Session | None,
        jobs: Sequence[Job],
        now: datetime,
        intent: str | None = None,
    ) -> None:
        self.query_one("#session-view", Static).update(
            session_text(key, session, jobs, now, intent)
        )
