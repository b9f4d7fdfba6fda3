"""How fast the job cache loads and stores, and how big its file grows.

Run as ``python bench/bench_cache.py``. For 1,000, 10,000 and 100,000 realistic finished jobs
(four steps each, tags, a tenth of them failed with an error) it times one ``put`` of all of
them into a fresh cache (one transaction), a second ``put`` that replaces them all, opening the
file again (schema and integrity check) and ``load`` (together what a restart costs), and
``newest_created``, and prints a markdown table of medians with the file size. ``load``
usually includes the one garbage-collector pass over the new objects that follows it. Uses a
temporary directory, never the real cache. About 30 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qjob_tui.model import Job, JobError, JobStatus, Step, Usage
from qjob_tui.store.cache import JobCache

SIZES = (1_000, 10_000, 100_000)
START = datetime(2025, 1, 1, tzinfo=UTC)


def make_jobs(n: int) -> list[Job]:
    """Jobs shaped like IBM's: a d-prefixed id, four steps, a backend, some tags, some errors."""
    jobs = []
    for i in range(n):
        created = START + timedelta(seconds=37 * i, microseconds=i % 1_000_000)
        failed = i % 10 == 0
        jobs.append(
            Job(
                id=f"d{i:019d}x",
                source="ibm-quantum",
                status=JobStatus.ERROR if failed else JobStatus.DONE,
                created=created,
                backend=("ibm_torino", "ibm_brisbane", "ibm_kyiv")[i % 3],
                program="sampler",
                tags=("experiment-a", f"run-{i % 97}") if i % 2 else (),
                name=f"bell {i}" if i % 5 == 0 else None,
                session_id=f"s{i // 50:019d}" if i % 4 == 0 else None,
                steps=(
                    Step("created", created),
                    Step("queued", created + timedelta(seconds=1, microseconds=250)),
                    Step("running", created + timedelta(seconds=60, microseconds=7)),
                    Step("finished", created + timedelta(seconds=75, microseconds=123)),
                ),
                usage=Usage(quantum_seconds=3.0 + i % 7, final=True),
                estimated_running_seconds=4.5,
                error=JobError(1517, "Error in transpilation process.", None) if failed else None,
            )
        )
    return jobs


def median_time(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(n: int, folder: Path) -> tuple[float, float, float, float, float, int]:
    jobs = make_jobs(n)
    reps = 5 if n <= 10_000 else 3
    path = folder / f"bench-{n}.sqlite3"

    def fresh_put() -> None:
        for side in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            side.unlink(missing_ok=True)
        cache = JobCache(path)
        t0 = time.perf_counter()
        assert cache.put(jobs) == n
        timings.append(time.perf_counter() - t0)
        cache.close()

    timings: list[float] = []
    for _ in range(reps):
        fresh_put()
    put_new = statistics.median(timings)

    cache = JobCache(path)
    put_replace = median_time(lambda: cache.put(jobs), reps)
    cache.close()

    opens, loads = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        again = JobCache(path)
        t1 = time.perf_counter()
        loaded = again.load()
        t2 = time.perf_counter()
        assert len(loaded) == n and loaded[0] == jobs[-1]
        again.close()
        del loaded  # freeing 100k jobs takes ~0.1 s, not the cache's doing
        opens.append(t1 - t0)
        loads.append(t2 - t1)
    with JobCache(path) as again:
        newest = median_time(again.newest_created, reps)
    size = path.stat().st_size
    return put_new, put_replace, statistics.median(opens), statistics.median(loads), newest, size


def main() -> None:
    print("### Job cache (SQLite, one file per source)\n")
    print(f"Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}\n")
    print("| jobs | put (fresh) | put (replace all) | open | load | newest_created | file |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            put_new, put_replace, opened, load, newest, size = bench(n, Path(tmp))
            print(
                f"| {n:,} | {put_new * 1e3:.0f} ms | {put_replace * 1e3:.0f} ms "
                f"| {opened * 1e3:.0f} ms | {load * 1e3:.0f} ms | {newest * 1e6:.0f} µs "
                f"| {size / 1e6:.1f} MB ({size / n:.0f} B/job) |"
            )


if __name__ == "__main__":
    main()
