"""How jobs read on screen: status looks, relative times and compact durations.

Pure functions with no Textual in them, so the job list, the detail pane and the command line
all say "3 min ago" and "✔ done" the same way, and tests can pin them with a fixed ``now``.
Every status has a glyph and a word, so it reads without colour (NO_COLOR, 16 colours, a screen
reader); colour is a *tone* the widget maps to theme variables, never a fixed colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rich.text import Text

from qjob_tui.model import Job, JobStatus

Tone = Literal["success", "error", "warning", "accent", "muted"]

# A plain Rich colour per tone, for output outside Textual (``qjob-tui ls``); widgets use the theme.
FALLBACK_STYLE: dict[Tone, str] = {
    "success": "green",
    "error": "red",
    "warning": "yellow",
    "accent": "cyan",
    "muted": "dim",
}

MISSING = "\N{EN DASH}"  # shown for a value the service did not give


@dataclass(frozen=True)
class StatusLook:
    """A status as shown: a glyph and a word that carry it without colour, and a tone."""

    glyph: str
    word: str
    tone: Tone

    @property
    def label(self) -> str:
        return f"{self.glyph} {self.word}"

    def text(self) -> Text:
        """The label as Rich text in the fallback colour (for non-Textual output)."""
        return Text(self.label, style=FALLBACK_STYLE[self.tone])


STATUS_LOOKS: dict[JobStatus, StatusLook] = {
    JobStatus.INITIALIZING: StatusLook("◌", "initializing", "muted"),
    JobStatus.VALIDATING: StatusLook("◇", "validating", "warning"),
    JobStatus.QUEUED: StatusLook("…", "queued", "warning"),
    JobStatus.RUNNING: StatusLook("▶", "running", "accent"),
    JobStatus.DONE: StatusLook("✔", "done", "success"),
    JobStatus.ERROR: StatusLook("✖", "error", "error"),
    JobStatus.CANCELLED: StatusLook("⊘", "cancelled", "muted"),
}

INTENT_GLYPH = "↻"
# The widest label above or of an intent such as "↻ cancelling…": the status column's width.
STATUS_WIDTH = max(len(look.label) for look in STATUS_LOOKS.values())


def status_look(status: JobStatus, intent: str | None = None) -> StatusLook:
    """How a job's status is shown; an action in flight ("cancelling…") wins until it ends.

    The store marks a job with an intent as soon as the user acts, so the list says
    "↻ cancelling…" at once instead of "▶ running" until the server confirms.
    """
    if intent:
        return StatusLook(INTENT_GLYPH, intent, "warning")
    return STATUS_LOOKS[status]


def status_label(status: JobStatus, intent: str | None = None) -> str:
    """The status as plain words with its glyph, e.g. "✔ done" or "↻ cancelling…"."""
    return status_look(status, intent).label


def relative_time(moment: datetime, now: datetime) -> str:
    """How long ago: "12 s ago" under a minute, then "3 min ago", "5 h ago", "5 d ago".

    ``now`` is explicit so the list, its tests and its snapshots agree on one clock. A moment a
    few seconds in the future (clock skew between a server and this machine) reads "just now".
    """
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        if seconds > -60:
            return "just now"
        return "in " + _ago(-seconds)
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    return _ago(seconds) + " ago"


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    days = hours // 24
    if days < 60:
        return f"{days} d"
    if days < 730:
        return f"{days // 30} mo"
    return f"{days // 365} y"


def compact_duration(seconds: float | None) -> str:
    """A duration in at most two units: "850 ms", "12 s", "3 min 4 s", "2 h 5 min", "3 d 4 h".

    None (not known) is shown as a dash; a negative duration (clock skew) as zero.
    """
    if seconds is None:
        return MISSING
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{int(seconds * 1000)} ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _two(minutes, "min", secs, "s")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _two(hours, "h", minutes, "min")
    days, hours = divmod(hours, 24)
    return _two(days, "d", hours, "h")


def _two(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big} {big_unit} {small} {small_unit}" if small else f"{big} {big_unit}"


def duration_bounds(job: Job) -> tuple[datetime, datetime | None] | None:
    """When the job's running time starts and ends (None while it goes on), if it has one.

    A finished job's duration is its running time, from the "running" step to "finished"; a
    job that never ran (cancelled in the queue) or whose steps are unknown has none. An active
    job's duration is the time so far: since it started running, or since it was created while
    it still waits.
    """
    started = job.step_time("running")
    if job.status.is_final:
        finished = job.finished
        if started is None or finished is None:
            return None
        return started, finished
    return (started or job.created), None


def job_duration(job: Job, now: datetime) -> float | None:
    """Seconds of running time, or time so far for an active job (see ``duration_bounds``)."""
    bounds = duration_bounds(job)
    if bounds is None:
        return None
    start, end = bounds
    return max(((end or now) - start).total_seconds(), 0.0)


def queue_position(job: Job) -> int | None:
    """The job's place in its backend's queue while it waits, if the service says.

    A position left over from before the job started running is not shown: it is stale.
    """
    if job.status.is_final or job.status is JobStatus.RUNNING:
        return None
    return job.queue.position


def queue_label(job: Job) -> str:
    """The queue position as shown: blank once the job left the queue, a dash if unknown."""
    if job.status.is_final or job.status is JobStatus.RUNNING:
        return ""
    position = job.queue.position
    return MISSING if position is None else str(position)


_STATUS_PHRASES = {
    JobStatus.DONE: "has finished",
    JobStatus.ERROR: "failed",
    JobStatus.CANCELLED: "was cancelled",
}


def status_phrase(status: JobStatus) -> str:
    """The status as the end of "the job ...": "is queued", "failed", "was cancelled"."""
    return _STATUS_PHRASES.get(status, f"is {status.value.lower()}")
