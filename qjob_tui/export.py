"""Jobs as plain JSON-able dicts and CSV rows, for ``--json`` output and exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from qjob_tui.model import Job

CSV_COLUMNS = ("source", "id", "status", "name", "backend", "program", "created", "tags")


def job_to_dict(job: Job) -> dict[str, Any]:
    """A job with times in UTC ISO 8601 and statuses by their Qiskit names."""
    return {
        "id": job.id,
        "source": job.source,
        "status": job.status.value,
        "name": job.name,
        "backend": job.backend,
        "program": job.program,
        "created": job.created.isoformat(),
        "tags": list(job.tags),
        "session_id": job.session_id,
        "steps": {step.name: step.at.isoformat() for step in job.steps},
        "queue_position": job.queue.position,
        "estimated_start": job.queue.estimated_start.isoformat()
        if job.queue.estimated_start
        else None,
        "estimated_completion": job.queue.estimated_completion.isoformat()
        if job.queue.estimated_completion
        else None,
        "quantum_seconds": job.usage.quantum_seconds,
        "estimated_running_seconds": job.estimated_running_seconds,
        "error": None
        if job.error is None
        else {"code": job.error.code, "message": job.error.message, "solution": job.error.solution},
        "private": job.private,
    }


def jobs_to_csv(jobs: Iterable[Job]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for job in jobs:
        row = job_to_dict(job)
        row["tags"] = ";".join(job.tags)
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
    return out.getvalue()
