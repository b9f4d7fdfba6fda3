"""The script-friendly subcommands: ``ls``, ``show``, ``submit``, ``cancel``, ``tag``.

Each prints to stdout (plain text, or JSON with ``--json``) and returns an exit code; errors from
the service become one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from dateutil import tz

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError, InvalidId, InvalidSource, NetworkError
from qjob_tui.api.source import Source
from qjob_tui.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from qjob_tui.cli.marks import STATUS_MARK
from qjob_tui.cli.program_file import ProgramFileError, read_program
from qjob_tui.cli.sources import SourceError, resolve_source
from qjob_tui.cli.watch import watch
from qjob_tui.export import job_to_dict
from qjob_tui.model import CancelOutcome, Job, cancel_outcome, tag_problem
from qjob_tui.text import lines as text_lines
from qjob_tui.text import one_line


def _local(moment: datetime) -> str:
    return moment.astimezone(tz.tzlocal()).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def format_jobs(jobs: list[Job], with_source: bool = False) -> str:
    header = ["ID", "STATUS", "BACKEND", "PROGRAM", "CREATED", "NAME", "TAGS"]
    if with_source:
        header.insert(0, "SOURCE")
    rows = [header]
    for job in jobs:
        row = [
            one_line(job.id, 80),
            f"{STATUS_MARK.get(job.status.value, '?')} {job.status.value}",
            one_line(job.backend or "-", 40),
            one_line(job.program or "-", 40),
            _local(job.created),
            one_line(job.name or "", 30),
            one_line(",".join(job.tags), 40),
        ]
        if with_source:
            row.insert(0, one_line(job.source, 40))
        rows.append(row)
    return _table(rows)


def _field(label: str, text: object) -> list[str]:
    """A labelled field whose server text may span lines: each line cleaned and indented, so
    that no newline or tab of the server's reaches the terminal raw."""
    parts = text_lines(text) or ["-"]
    return [f"{label:<10}{parts[0]}", *(f"{'':<10}{part}" for part in parts[1:])]


def format_job(job: Job) -> str:
    """A job for ``show``: every server string on lines of its own, cleaned."""
    lines = [
        f"Job       {one_line(job.id, 80)}",
        f"Source    {one_line(job.source, 80)}",
        f"Status    {STATUS_MARK.get(job.status.value, '?')} {job.status.value}",
        f"Backend   {one_line(job.backend or '-', 80)}",
        f"Program   {one_line(job.program or '-', 80)}",
        f"Created   {_local(job.created)}",
    ]
    if job.name:
        lines.append(f"Name      {one_line(job.name, 120)}")
    lines.append(f"Tags      {one_line(', '.join(job.tags), 400) or '-'}")
    if job.session_id:
        lines.append(f"Session   {one_line(job.session_id, 80)}")
    if job.steps:
        lines.append("Steps")
        lines += [f"  {one_line(step.name, 20):<10}{_local(step.at)}" for step in job.steps]
    queue = job.queue
    if queue.position is not None:
        lines.append(f"Queue     position {queue.position}")
    if queue.estimated_start is not None:
        lines.append(f"Starts    ~{_local(queue.estimated_start)} (estimated)")
    if queue.estimated_completion is not None:
        lines.append(f"Completes ~{_local(queue.estimated_completion)} (estimated)")
    lines.append(f"Usage     {job.usage.quantum_seconds:.3f} s quantum time")
    if job.estimated_running_seconds is not None:
        lines.append(f"Estimate  {job.estimated_running_seconds:.3f} s running time")
    if job.error is not None:
        lines += _field("Error", str(job.error))
        if job.error.solution:
            lines += _field("Solution", job.error.solution)
    return "\n".join(lines)


TIMEOUT_VARIABLE = "QJOB_TUI_TIMEOUT"
DEFAULT_TIMEOUT = 10.0


def answer_timeout() -> float:
    """Seconds a command waits for each answer (``$QJOB_TUI_TIMEOUT``, default 10); it tries
    five times, telling stderr meanwhile, so it gives up within about six times this."""
    text = os.environ.get(TIMEOUT_VARIABLE, "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise SourceError(f"${TIMEOUT_VARIABLE} must be a number of seconds from 0 to 3600")
    return value


def waiting(line: str) -> None:
    """A request still unanswered: said on stderr, so a silent server is no silent command."""
    print(f"qjob-tui: {line}", file=sys.stderr, flush=True)


def command_client(source: Source) -> JobClient:
    """A client as the commands use it: shorter waits than the dashboard's, said as they go."""
    return JobClient(source, read_timeout=answer_timeout(), progress=waiting)


async def _with_client(
    args: argparse.Namespace, action: Callable[[JobClient], Awaitable[int]]
) -> int:
    source = resolve_source(getattr(args, "source", None))
    async with command_client(source) as client:
        return await action(client)


def run(
    args: argparse.Namespace,
    action: Callable[[JobClient], Awaitable[int]],
    *,
    interrupted: int = EXIT_INTERRUPTED,
) -> int:
    """Run one command against its source, turning every failure into a message. A Ctrl-C
    ends it with ``interrupted``: 130 for a command it cut short (a script must not read it
    as done), 0 for a watch, which only Ctrl-C ends."""
    try:
        return asyncio.run(_with_client(args, action))
    except KeyboardInterrupt:
        return interrupted
    except (SourceError, InvalidSource, InvalidId) as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NetworkError as exc:
        # A demo's service is its own, on a port of its own, and found by no default: the
        # address in its job list's title reaches it.
        hint = (
            " (is the local service running? start it with 'qjob-tui serve', or name one"
            " elsewhere with --source URL: a demo's URL is in the title of its job list)"
        )
        local = exc.source == "local"
        print(f"qjob-tui: {exc}{hint if local else ''}", file=sys.stderr)
        return EXIT_ERROR
    except ApiError as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return EXIT_ERROR


def ls(args: argparse.Namespace) -> int:
    if args.watch:
        return run(args, lambda client: watch(client, args, format_jobs), interrupted=EXIT_OK)

    async def action(client: JobClient) -> int:
        page = await client.jobs(
            limit=args.limit,
            pending=True if args.pending else None,
            backend=args.backend,
            tags=args.tag or (),
        )
        jobs = list(page.jobs)
        if args.json:
            print(json.dumps([job_to_dict(job) for job in jobs], indent=2))
        elif jobs:
            print(format_jobs(jobs))
        else:
            print("no jobs")
        return EXIT_OK

    return run(args, action)


def show(args: argparse.Namespace) -> int:
    async def action(client: JobClient) -> int:
        job = await client.job_details(args.job_id)
        if args.json:
            print(json.dumps(job_to_dict(job), indent=2))
        else:
            print(format_job(job))
        return EXIT_OK

    return run(args, action)


def _tags_refused(tags: list[str]) -> bool:
    """Tags that break IBM's rules, said before any request (a usage error, not the server's)."""
    problem = tag_problem([t.strip() for t in tags])
    if problem is not None:
        print(f"qjob-tui: {problem}", file=sys.stderr)
    return problem is not None


def submit(args: argparse.Namespace) -> int:
    if _tags_refused(args.tag or []):
        return EXIT_USAGE
    try:
        text = read_program(args.file)
    except ProgramFileError as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def action(client: JobClient) -> int:
        job_id = await client.submit(
            [text], args.backend, shots=args.shots, tags=args.tag or (), name=args.name
        )
        print(one_line(job_id, 80))  # the server's text, cleaned as ls cleans it
        return EXIT_OK

    return run(args, action)


def _cancel_said(outcome: CancelOutcome) -> int:
    """The cancel rule's outcome (``cancel --help``): 0 and stdout when the job ends
    cancelled, 1 and stderr when it had already ended otherwise."""
    if outcome.ok:
        print(outcome.message)
        return EXIT_OK
    print(f"qjob-tui: {outcome.message}", file=sys.stderr)
    return EXIT_ERROR


def cancel(args: argparse.Namespace) -> int:
    async def action(client: JobClient) -> int:
        job = await client.job(args.job_id)
        shown = one_line(job.id, 80)
        if job.status.is_final:
            return _cancel_said(cancel_outcome(shown, job.status, job.status))
        try:
            await client.cancel(args.job_id)
        except ApiError:
            job = await client.job(args.job_id)  # it may have ended in between
            if job.status.is_final:
                return _cancel_said(cancel_outcome(shown, job.status, job.status))
            raise
        after = await client.job(args.job_id)
        return _cancel_said(cancel_outcome(shown, job.status, after.status))

    return run(args, action)


def tag(args: argparse.Namespace) -> int:
    if _tags_refused(args.tags):
        return EXIT_USAGE

    async def action(client: JobClient) -> int:
        tags = await client.set_tags(args.job_id, args.tags)
        shown = one_line(", ".join(tags), 400) or "(no tags)"
        print(f"{args.job_id}: {shown}")
        return EXIT_OK

    return run(args, action)
