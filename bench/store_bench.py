"""Benchmark of the job store's polling cost (issue 4), beside the naive approach.

For 100, 10,000 and 100,000 stored finished jobs plus 20 active ones on the local service:
- the store: requests and bytes of one steady poll cycle, and bytes per minute at the default
  2 s interval;
- naive: list every job (pages of 200) and ask each one's status (``GET /jobs/{id}``).
At 100,000 jobs the naive per-job requests are timed on a sample of 2,000 and scaled up; the
listing pages are all fetched.

Run: ``python bench/store_bench.py`` (or ``make bench``). Prints a markdown table.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess, fill_finished

ACTIVE = 20
INTERVAL = 2.0
SAMPLE = 2000


def _submit_active(url: str) -> None:
    with httpx.Client(base_url=url) as http:
        for _ in range(ACTIVE):
            body = {
                "program_id": "sampler",
                "backend": "fake_cairo",
                "params": {"pubs": [[BELL, None, 100_000]], "version": 2},
            }
            http.post("/jobs", json=body).raise_for_status()


async def _store_cycle(url: str, stored: int) -> tuple[float, float]:
    store = JobStore(
        [JobClient(Source.local(url))],
        StoreConfig(use_cache=False, history=stored + ACTIVE, backend_interval=3600),
    )
    await store.start(poll=False)
    client = store.client("local")
    try:
        await store.poll_once()
        assert len(store.jobs) == stored + ACTIVE, len(store.jobs)
        requests, received = client.stats.requests, client.stats.bytes_received
        cycles = 10
        for _ in range(cycles):
            await store.poll_once()
        return (
            (client.stats.requests - requests) / cycles,
            (client.stats.bytes_received - received) / cycles,
        )
    finally:
        await store.stop()


async def _naive_cycle(url: str, stored: int) -> tuple[float, float]:
    async with JobClient(Source.local(url)) as client:
        ids = [job.id async for job in client.iter_jobs()]
        list_requests, list_bytes = client.stats.requests, client.stats.bytes_received
        sample = ids if len(ids) <= SAMPLE * 2 else ids[:: len(ids) // SAMPLE][:SAMPLE]
        for job_id in sample:
            await client.job(job_id)
        per_job = (client.stats.bytes_received - list_bytes) / len(sample)
    return list_requests + len(ids), list_bytes + per_job * len(ids)


def measure(stored: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        fill_finished(Path(data), stored)
        proc = ServiceProcess(Path(data), "--latency-scale", "1").start()
        try:
            _submit_active(proc.url)
            store_req, store_bytes = asyncio.run(_store_cycle(proc.root, stored))
            naive_req, naive_bytes = asyncio.run(_naive_cycle(proc.root, stored))
        finally:
            proc.stop()
    per_minute = 60 / INTERVAL
    return {
        "store_req": store_req,
        "store_kb_min": store_bytes * per_minute / 1024,
        "naive_req": naive_req,
        "naive_kb_min": naive_bytes * per_minute / 1024,
    }


def main() -> None:
    lines = [
        "### Job store: cost of one steady poll (20 active jobs, 2 s interval)",
        "",
        "| stored jobs | store: requests/poll | store: KB/min | naive: requests/poll "
        "| naive: KB/min | naive / store (bytes) |",
        "|---|---|---|---|---|---|",
    ]
    for stored in (100, 10_000, 100_000):
        r = measure(stored)
        ratio = r["naive_kb_min"] / r["store_kb_min"] if r["store_kb_min"] else float("inf")
        lines.append(
            f"| {stored:,} | {r['store_req']:.0f} | {r['store_kb_min']:,.0f} "
            f"| {r['naive_req']:,.0f} | {r['naive_kb_min']:,.0f} | {ratio:,.0f}x |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
