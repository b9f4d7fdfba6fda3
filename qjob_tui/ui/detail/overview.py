"""The Overview tab: everything about the job at a glance, the error first when it failed."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
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
    # The system's zone at that moment (summer time included), without dateutil's import.
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


LABEL_WIDTH = 11


def overview_rows(job: Job, intent: str | None = None) -> list[tuple[str, Text]]:
    """The job's fields as (label, value); server strings are plain text, never markup."""
    rows: list[tuple[str, Text]] = []

    def row(label: str, value: str, style: str = "") -> None:
        rows.append((label, Text(value, style=style)))

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
    row("Tags", ", ".join(one_line(tag, 100) for tag in job.tags) or "-")
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
    return rows


def overview_text(job: Job, intent: str | None = None) -> Text:
    """The rows as one text, label and value per line (for tests and plain output)."""
    text = Text()
    for label, value in overview_rows(job, intent):
        text.append(f"{label:<{LABEL_WIDTH}}", style="bold")
        text.append_text(value)
        text.append("\n")
    text.rstrip()
    return text


def overview_table(job: Job, intent: str | None = None) -> Table:
    """The rows as a grid: a long value (tags, an error) wraps under itself, not the labels."""
    table = Table.grid()
    table.add_column(width=LABEL_WIDTH, no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for label, value in overview_rows(job, intent):
        table.add_row(label, value)
    return table


class OverviewView(Static):
    """Shows the overview of the selected job."""

    def show(self, job: Job | None, intent: str | None = None) -> None:
        self.update(overview_table(job, intent) if job else Text("No job selected.", style="dim"))
