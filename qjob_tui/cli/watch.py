"""``qjob-tui ls --watch``: the list once, then a line per real change, at the server's time.

The store follows the source; the first whole poll gives the list. From then on a line is
printed only when a job is new (created after the newest one listed) or its status, name or
tags change: jobs older than the list that a poll brings in (a reconciliation, a job beyond
``--limit``) are history, not news. Each line carries the server's time of the change (the
job's creation, the step its status began), never the moment the poll happened to see it. A
source that cannot be read at all is an error on stderr, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from dateutil import tz

from qjob_tui.api.client import JobClient
from qjob_tui.cli.exit_codes import EXIT_ERROR
from qjob_tui.cli.marks import STATUS_MARK
from qjob_tui.export import job_to_dict
from qjob_tui.model import Job, JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet, SourceHealth
from qjob_tui.text import one_line

# The step of a job's timeline at which each status begins.
_STEP_OF = {
    JobStatus.QUEUED: "queued",
    JobStatus.VALIDATING: "validating",
    JobStatus.RUNNING: "running",
    JobStatus.DONE: "finished",
    JobStatus.CANCELLED: "finished",
    JobStatus.ERROR: "finished",
}

Shown = tuple[JobStatus, str | None, tuple[str, ...]]


def _shown(job: Job) -> Shown:
    """What a change line is about: a job's status, name and tags."""
    return (job.status, job.name, job.tags)


def changed_at(job: Job, new: bool) -> datetime | None:
    """When the server says the change happened: a new job's creation, else the start of the
    step its status began with; None where the server has not said."""
    if new:
        return job.created
    name = _STEP_OF.get(job.status)
    moments = [step.at for step in job.steps if step.name == name]
    return moments[-1] if moments else None


def change_line(job: Job, verb: str, at: datetime | None) -> str:
    when = at.astimezone(tz.tzlocal()).strftime("%H:%M:%S") if at else "--:--:--"
    mark = STATUS_MARK.get(job.status.value, "?")
    name = f"  {one_line(job.name, 40)}" if job.name else ""
    backend = one_line(job.backend or "-", 40)
    return (
        f"{when}  {verb:<7} {one_line(job.id, 80)}  {mark} {job.status.value:<10} {backend}{name}"
    )


def change_json(job: Job, verb: str, at: datetime | None) -> str:
    moment = at.astimezone(UTC).isoformat() if at else None
    return json.dumps({"event": verb, "at": moment, "job": job_to_dict(job)}, ensure_ascii=False)


class Watch:
    """What was shown, and what of a change set is worth a line."""

    def __init__(self, jobs: list[Job], as_json: bool, started: datetime) -> None:
        self.shown: dict[str, Shown] = {job.id: _shown(job) for job in jobs}
        # A job a poll brings in later is news if it was created after the newest one known
        # at the start, or after the watch began (by the server's clock); an older one
        # (a reconciliation, a job beyond ``--limit``) is history.
        self.newest = max((job.created for job in jobs), default=None)
        self.started = started
        self.as_json = as_json

    def lines(self, changes: ChangeSet) -> list[str]:
        out = []
        for job in (*changes.added, *changes.changed):
            before = self.shown.get(job.id)
            now = _shown(job)
            if before == now:
                continue  # steps, usage or a queue place: not a change of the list
            self.shown[job.id] = now
            if before is None:
                old = self.newest is not None and job.created <= self.newest
                if old and job.created < self.started:
                    continue  # older than the list and the watch: history, not news
                out.append(self._line(job, "new", changed_at(job, new=True)))
            else:
                out.append(self._line(job, "changed", changed_at(job, new=False)))
        for _, job_id in changes.removed:
            if self.shown.pop(job_id, None) is not None:
                out.append(self._gone(job_id))
        return out

    def _line(self, job: Job, verb: str, at: datetime | None) -> str:
        return change_json(job, verb, at) if self.as_json else change_line(job, verb, at)

    def _gone(self, job_id: str) -> str:
        if self.as_json:
            return json.dumps({"event": "removed", "at": None, "job": {"id": job_id}})
        return f"--:--:--  removed {one_line(job_id, 80)}"

    def listing(self, jobs: list[Job], table: str) -> list[str]:
        """The list the watch starts with."""
        if self.as_json:
            return [
                json.dumps({"event": "listed", "at": None, "job": job_to_dict(j)}) for j in jobs
            ]
        return [table if jobs else "no jobs"]


def _dead(health: SourceHealth) -> bool:
    """Nothing at all came from the source."""
    return health.last_success is None and health.failures > 0


async def watch(
    client: JobClient, args: argparse.Namespace, format_jobs: Callable[[list[Job]], str]
) -> int:
    """Follow the jobs with the store until interrupted (or the reader goes away)."""
    refresh = args.refresh or StoreConfig.interval
    config = StoreConfig(
        interval=refresh,
        calm_interval=max(refresh * 5, refresh),
        history=args.limit,
        backfill=False,  # a watch follows changes; the history is ``ls``'s
    )
    store = JobStore([client], config)
    closed = asyncio.Event()  # the reader went away (``ls --watch | head``)
    held: list[ChangeSet] = []
    watching: Watch | None = None

    def follow(changes: ChangeSet) -> None:
        if watching is None:
            held.append(changes)  # published before the list was printed
            return
        try:
            for health in changes.health:
                if health.failures:
                    print(f"qjob-tui: {health.last_error} (retrying)", file=sys.stderr)
            for notice in changes.notices:
                print(f"qjob-tui: {notice}", file=sys.stderr)
            for line in watching.lines(changes):
                print(line, flush=True)
        except BrokenPipeError:
            closed.set()

    store.subscribe(follow)
    started = datetime.now(UTC)
    try:
        await store.start(poll=False)
        await store.poll_once()
        health = store.health[0]
        if _dead(health):
            print(f"qjob-tui: {health.last_error}", file=sys.stderr)
            return EXIT_ERROR
        jobs = sorted(store.all_jobs(), key=lambda j: j.created, reverse=True)
        listed = jobs[: args.limit]
        watching = Watch(jobs, args.json, started + store.clock_offset(client.source.name))
        for line in watching.listing(listed, format_jobs(listed)):
            print(line, flush=True)
        held.clear()  # all of it is in the list
        await store.start()
        await closed.wait()
    finally:
        await store.stop()
    raise BrokenPipeError
