"""The Overview tab: everything about the job at a glance, the error first when it failed."""

from __future__ import annotations

from datetime import datetime

from dateutil import tz
from rich.text import Text
from textual.widgets import Static

from qjob_tui.model import Job, JobStatus
from qjob_tui.text import clean, one_line

_STATUS_STYLE = {
    JobStatus.DONE: "bold green",
    JobStatus.ERROR: "bold red",
    JobStatus.CANCELLED: "bold yellow",
    JobStatus.RUNNING: "bold cyan",
}


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(tz.tzlocal()).strftime("%Y-%m-%d %H:%M:%S %Z")


def overview_text(job: Job, intent: str | None = None) -> Text:
    """The job's fields as plain text with styles; server strings are never markup."""
    text = Text()

    def row(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:<11}", style="bold")
        text.append(value, style=style)
        text.append("\n")

    status = job.status.value + (f"  ({intent})" if intent else "")
    row("Status", status, _STATUS_STYLE.get(job.status, "bold"))
    if job.error is not None:
        code = f"code {job.error.code}: " if job.error.code is not None else ""
        row("Error", code + clean(job.error.message), "red")
        if job.error.solution:
            row("Solution", clean(job.error.solution))
    row("Job", f"{job.id}  ({job.source})")
    row("Name", one_line(job.name or "-", 120))
    row("Backend", job.backend or "-")
    row("Program", job.program or "-")
    row("Created", local_time(job.created))
    if job.finished is not None:
        row("Finished", local_time(job.finished))
    row("Tags", ", ".join(job.tags) or "-")
    if job.session_id:
        row("Session", job.session_id)
    if job.user_id:
        row("User", job.user_id)
    usage = f"{job.usage.quantum_seconds:.3f} s" + ("" if job.usage.final else " so far")
    row("Usage", usage)
    if job.estimated_running_seconds is not None:
        row("Estimate", f"{job.estimated_running_seconds:.3f} s running time")
    if job.private:
        row("Private", "results can be read only once")
    text.rstrip()
    return text


class OverviewView(Static):
    """Shows ``overview_text`` of the selected job."""

    def show(self, job: Job | None, intent: str | None = None) -> None:
        self.update(overview_text(job, intent) if job else Text("No job selected.", style="dim"))
