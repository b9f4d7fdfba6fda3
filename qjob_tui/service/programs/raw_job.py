"""A job another job reads as its input, handed from the scheduler to a program."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawJob:
    """A job that another job reads as input, as the scheduler found it at dispatch time.

    The worker has no database, so the scheduler reads the job for it; ``status`` is None
    when there is no such job, and ``result`` is the stored result text of a completed job.
    """

    job_id: str
    status: str | None
    program: str | None = None
    result: str | None = None
