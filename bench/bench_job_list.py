"""How the job list copes with 100,000 jobs: load and first paint, a poll, a filter keystroke.

Run as ``python bench/bench_job_list.py``. It builds realistic jobs (IBM-style ids, four steps,
tags, some names, a tenth still active) newest first, as the API and the cache hand them out, and
drives a ``JobList`` in ``App.run_test`` at 120x40:

- load + first paint: ``JobRows(jobs)``, then the app starts and paints once (includes Textual's
  own start-up of a headless app);
- a poll: a ``ChangeSet`` changing 1,000 random rows (queued to running, running to done), applied
  with ``apply_changes`` and repainted; once sorted by creation time (rows stay in place) and once
  sorted by status (every changed row moves);
- a filter keystroke: ``set_filter`` plus repaint, typing "b", "be", "bel", then backspace (a
  keystroke that widens the filter scans every job again); the first keystroke is shown apart;
- memory: the resident set size of a fresh process holding 100,000 jobs in a painted list.

"Repaint" is ``pilot.pause()``: Textual processes pending messages and paints the screen; its
floor on an idle app is shown as its own row. Medians over a few repetitions. About 40 s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from qjob_tui.model import Job, JobError, JobStatus, QueueInfo, Step
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.jobs.job_rows import JobRows

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SIZE = (120, 40)
BIG = 100_000
REPEATS = 5
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def make_jobs(n: int, seed: int = 1) -> list[Job]:
    """Jobs shaped like IBM's, newest first; every tenth is still queued or running."""
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        created = NOW - timedelta(seconds=31 * i + rng.randrange(30))
        active = i % 10 == 0
        status = (
            rng.choice((JobStatus.QUEUED, JobStatus.RUNNING))
            if active
            else rng.choices((JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED), (8, 1, 1))[0]
        )
        steps = [Step("created", created), Step("queued", created + timedelta(seconds=1))]
        if status is not JobStatus.QUEUED and status is not JobStatus.CANCELLED:
            steps.append(Step("running", created + timedelta(seconds=20 + rng.randrange(600))))
        if status.is_final and len(steps) == 3:
            steps.append(Step("finished", steps[-1].at + timedelta(seconds=rng.randrange(1, 300))))
        jobs.append(
            Job(
                id="d" + "".join(rng.choice(_ALPHABET) for _ in range(19)),
                source="ibm-quantum",
                status=status,
                created=created,
                backend=("ibm_torino", "ibm_brisbane", "ibm_kyiv", "ibm_sherbrooke")[i % 4],
                program="sampler",
                tags=("experiment-a", f"run-{i % 97}") if i % 2 else (),
                name=f"bell {i}" if i % 5 == 0 else None,
                steps=tuple(steps),
                queue=QueueInfo(position=rng.randrange(1, 200))
                if status is JobStatus.QUEUED
                else QueueInfo(),
                error=JobError(1234, "failed") if status is JobStatus.ERROR else None,
            )
        )
    return jobs


def poll(jobs: list[Job], count: int, seed: int) -> ChangeSet:
    """What a poll brings: ``count`` jobs moved one step on (queued to running to done)."""
    rng = random.Random(seed)
    changed = []
    for job in rng.sample(jobs, count):
        if job.status is JobStatus.QUEUED:
            changed.append(dataclasses.replace(job, status=JobStatus.RUNNING, queue=QueueInfo()))
        elif job.status is JobStatus.RUNNING:
            changed.append(dataclasses.replace(job, status=JobStatus.DONE))
        else:
            changed.append(dataclasses.replace(job, tags=(*job.tags, "seen")))
    return ChangeSet(changed=tuple(changed))


class BenchApp(App[None]):
    """Just the list, as in the dashboard but without the other panes."""

    def __init__(self, rows: JobRows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield JobList(self.rows, clock=lambda: NOW)


def run(coro: Callable[[], Awaitable[float]]) -> float:
    gc.collect()
    return asyncio.run(coro())


async def first_paint(jobs: list[Job]) -> float:
    start = time.perf_counter()
    app = BenchApp(JobRows(jobs))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        took = time.perf_counter() - start
        assert app.query_one(JobList).cursor_key is not None
    return took


def load_only(jobs: list[Job]) -> float:
    gc.collect()
    start = time.perf_counter()
    JobRows(jobs)
    return time.perf_counter() - start


async def with_list(jobs: list[Job], body: Callable[[Pilot, JobList], Awaitable[None]]) -> None:
    app = BenchApp(JobRows(jobs))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await body(pilot, app.query_one(JobList))


def timed_polls(jobs: list[Job], sort: str) -> tuple[list[float], list[float]]:
    """(apply_changes alone, apply_changes + repaint) for REPEATS polls of 1,000 rows."""
    calls: list[float] = []
    totals: list[float] = []

    async def body(pilot: Pilot, job_list: JobList) -> None:
        job_list.set_sort(sort)
        await pilot.pause()
        for seed in range(REPEATS):
            changes = poll(jobs, 1_000, seed)
            start = time.perf_counter()
            job_list.apply_changes(changes)
            calls.append(time.perf_counter() - start)
            await pilot.pause()
            totals.append(time.perf_counter() - start)

    asyncio.run(with_list(jobs, body))
    return calls, totals


def timed_filter(jobs: list[Job]) -> tuple[list[float], list[float]]:
    """(first keystroke, later keystrokes) of typing "bel" and backspace, with repaint."""
    first: list[float] = []
    later: list[float] = []

    async def body(pilot: Pilot, job_list: JobList) -> None:
        for number, text in enumerate(("b", "be", "bel", "be", "b", "be")):
            start = time.perf_counter()
            problem = job_list.set_filter(text)
            await pilot.pause()
            (first if number == 0 else later).append(time.perf_counter() - start)
            assert problem is None

    for _ in range(3):
        gc.collect()
        asyncio.run(with_list(jobs, body))
    return first, later


def idle_pause(jobs: list[Job]) -> list[float]:
    times: list[float] = []

    async def body(pilot: Pilot, job_list: JobList) -> None:
        for _ in range(REPEATS):
            start = time.perf_counter()
            await pilot.pause()
            times.append(time.perf_counter() - start)

    asyncio.run(with_list(jobs, body))
    return times


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(n: int) -> None:
    """In a fresh process: RSS before, with the jobs alone, and with them listed and painted."""
    before = rss_mb()
    jobs = make_jobs(n)
    gc.collect()
    with_jobs = rss_mb()
    result: dict[str, float] = {}

    async def body(pilot: Pilot, job_list: JobList) -> None:
        job_list.set_filter("bel")  # a filtered copy of the order exists too: the worst case
        await pilot.pause()
        job_list.set_filter("")
        await pilot.pause()
        gc.collect()
        result["listed"] = rss_mb()

    asyncio.run(with_list(jobs, body))
    print(json.dumps({"before": before, "jobs": with_jobs, "listed": result["listed"]}))


def memory(n: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--memory", str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def main() -> None:
    big = make_jobs(BIG)
    small = make_jobs(10_000)
    rows: list[tuple[str, str, str]] = []

    loads = [load_only(big) for _ in range(REPEATS)]
    rows.append(("100,000 jobs: load into `JobRows`", ms(loads), ""))
    paints = [run(lambda: first_paint(big)) for _ in range(REPEATS)]
    rows.append(("100,000 jobs: load + app start + first paint", ms(paints), "< 0.5 s"))
    small_paints = [run(lambda: first_paint(small)) for _ in range(REPEATS)]
    rows.append(("10,000 jobs: load + app start + first paint", ms(small_paints), "< 1 s"))
    rows.append(("repaint floor: `pilot.pause()` on an idle list", ms(idle_pause(big)), ""))

    calls, totals = timed_polls(big, "created")
    rows.append(("poll of 1,000 changed rows, rows stay (sort by created)", ms(totals), "< 50 ms"))
    rows.append(("... of which `apply_changes`", ms(calls), ""))
    calls, totals = timed_polls(big, "status")
    rows.append(("poll of 1,000 changed rows, rows move (sort by status)", ms(totals), "< 50 ms"))
    rows.append(("... of which `apply_changes`", ms(calls), ""))

    first, later = timed_filter(big)
    rows.append(("filter keystroke + repaint", ms(later), "< 100 ms"))
    rows.append(("first filter keystroke + repaint", ms(first), "< 100 ms"))

    mem = memory(BIG)
    rows.append(
        (
            "RSS with 100,000 jobs listed and painted",
            f"{mem['listed']:.0f} MB",
            "< 250 MB",
        )
    )
    rows.append(("... of which the jobs themselves", f"{mem['jobs'] - mem['before']:.0f} MB", ""))

    print("### Job list (Line API), 120x40\n")
    print("| Measure | Median | Aim |")
    print("|---|---|---|")
    for name, value, aim in rows:
        print(f"| {name} | {value} | {aim} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory"]:
        memory_child(int(sys.argv[2]))
    else:
        main()
