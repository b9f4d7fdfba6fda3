"""The Timeline tab: each step with its time, and how long each phase took, as bars."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from qjob_tui.model import Job, JobStatus
from qjob_tui.ui.detail.overview import local_time
from qjob_tui.ui.sized_text import SizedText

# On IBM Quantum, RUNNING covers classical pre- and post-processing as well as QPU time.
RUNNING_NOTE = (
    "Note: on IBM Quantum, RUNNING includes classical pre-processing (transpiling, "
    "loading) and post-processing, not only time on the QPU; see Usage for QPU time."
)

_PHASES = {
    "created": "submitting",
    "queued": "queued",
    "validating": "validating",
    "running": "running",
}
# The last step is named for how the job ended, so a cancelled job's timeline ends "cancelled".
_ENDINGS = {JobStatus.DONE: "done", JobStatus.ERROR: "failed", JobStatus.CANCELLED: "cancelled"}
_STYLES = {"queued": "yellow", "running": "cyan", "validating": "magenta", "submitting": "blue"}


def duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def timeline_text(job: Job, width: int = 60, now: datetime | None = None) -> Text:
    """Steps, phase durations and a bar per phase scaled to the longest."""
    now = now or datetime.now(UTC)
    text = Text()
    steps = list(job.steps)
    if not steps:
        return Text("No steps recorded yet.", style="dim")
    text.append("Steps\n", style="bold")
    ending = _ENDINGS.get(job.status)
    for step in steps:
        name = ending if step.name == "finished" and ending else step.name
        text.append(f"  {name:<11}{local_time(step.at)}\n")
    if ending and job.finished is None:
        text.append(f"  {ending:<11}", style="bold")
        text.append("time not reported by the service\n", style="dim")
    phases: list[tuple[str, float, bool]] = []
    for index, step in enumerate(steps):
        if step.name == "finished":
            break
        end = steps[index + 1].at if index + 1 < len(steps) else None
        ongoing = end is None and job.status.is_active
        if end is None and not ongoing:
            continue
        seconds = max(((end or now) - step.at).total_seconds(), 0.0)
        phases.append((_PHASES.get(step.name, step.name), seconds, ongoing))
    if phases:
        text.append("\nPhases\n", style="bold")
        longest = max(seconds for _, seconds, _ in phases) or 1.0
        bar_width = max(width - 34, 10)
        for name, seconds, ongoing in phases:
            cells = max(1, round(bar_width * seconds / longest)) if seconds > 0 else 0
            text.append(f"  {name:<11}")
            text.append("█" * cells, style=_STYLES.get(name, "white"))
            text.append(" " * (bar_width - cells + 1))
            label = duration(seconds) + (" so far" if ongoing else "")
            text.append(f"{label}\n")
        total = sum(seconds for _, seconds, _ in phases)
        text.append(f"  {'total':<11}{' ' * (bar_width + 1)}{duration(total)}\n", style="bold")
    text.append("\n" + RUNNING_NOTE, style="dim italic")
    return text


class TimelineView(SizedText):
    """Shows ``timeline_text`` of the selected job."""

    def show(self, job: Job | None, now: datetime | None = None) -> None:
        if job is None:
            self.show_message("No job selected.")
            return
        self.draw(lambda width: timeline_text(job, width=max(width, 40), now=now))
