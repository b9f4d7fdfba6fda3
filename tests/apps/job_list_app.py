"""A job list on fixed jobs and a fixed clock, for snapshot tests and trying the widget.

Run it with ``python -m tests.apps.job_list_app``; snapshot tests load it by path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from qjob_tui.model import Job, JobError, JobStatus, QueueInfo, Step
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.jobs.job_rows import JobRows

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

_STATUSES = (
    JobStatus.RUNNING,
    JobStatus.QUEUED,
    JobStatus.DONE,
    JobStatus.ERROR,
    JobStatus.CANCELLED,
    JobStatus.DONE,
    JobStatus.VALIDATING,
    JobStatus.INITIALIZING,
    JobStatus.DONE,
)
_BACKENDS = ("fake_lima", "ibm_sherbrooke", "basic_simulator", None)
_NAMES = (
    "ghz-5",
    None,
    "bell pair [bold]x[/] \x1b[31mred",
    "a rather long experiment name that will not fit in a narrow terminal",
    "vqe h2 sweep",
)
_TAGS = ((), ("nightly",), ("calibration", "qubit-3", "long-running-tag"), ("demo",))


def sample_jobs(count: int = 30, sources: tuple[str, ...] = ("local",)) -> list[Job]:
    """Deterministic jobs of every status, some with hostile names, created a few minutes apart."""
    jobs = []
    for index in range(count):
        status = _STATUSES[index % len(_STATUSES)]
        created = NOW - timedelta(minutes=7 * index + 1)
        steps = [Step("created", created)]
        if status in (JobStatus.RUNNING, JobStatus.DONE, JobStatus.ERROR):
            steps.append(Step("running", created + timedelta(seconds=40)))
        if status in (JobStatus.DONE, JobStatus.ERROR):
            steps.append(Step("finished", created + timedelta(seconds=40 + 13 * index)))
        jobs.append(
            Job(
                id=f"d{index:03d}" + "abcdefghijklmnop"[: 16 - index % 5] + "x",
                source=sources[index % len(sources)],
                status=status,
                created=created,
                backend=_BACKENDS[index % len(_BACKENDS)],
                program="sampler" if index % 3 else "extractor",
                tags=_TAGS[index % len(_TAGS)],
                name=_NAMES[index % len(_NAMES)],
                steps=tuple(steps),
                queue=QueueInfo(position=index + 1 if status is JobStatus.QUEUED else None),
                error=JobError(1234, "failed") if status is JobStatus.ERROR else None,
            )
        )
    return jobs


class JobListApp(App[None]):
    """Just the job list, filling the screen, on ``sample_jobs`` at ``NOW``."""

    def __init__(self, jobs: list[Job] | None = None, show_source: bool | None = None) -> None:
        super().__init__()
        self.jobs = sample_jobs() if jobs is None else jobs
        self.show_source = show_source

    def compose(self) -> ComposeResult:
        yield JobList(JobRows(self.jobs), show_source=self.show_source, clock=lambda: NOW)

    def on_mount(self) -> None:
        job_list = self.query_one(JobList)
        job_list.focus()
        job_list.rows.toggle_mark(job_list.rows.key_at(2))
        job_list.refresh_marks()


if __name__ == "__main__":
    JobListApp().run()
