"""Reads never starve execution (issue 11): the local service under 50 concurrent pollers.

With 10,000 jobs stored, 50 clients poll ``GET /jobs?limit=200`` back to back (each waits for
its answer, then asks again). Meanwhile tiny jobs are submitted one after another and timed from
submit until ``GET /jobs/{id}`` says Completed. The same is measured without the pollers.
Aims: a tiny job finishes within 2 s under the load, and the list's p50 stays under 250 ms.

Run: ``python bench/load_bench.py`` (or ``make bench``). Prints a markdown section.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.service_process import ServiceProcess, fill_finished

STORED = 10_000
POLLERS = 50
TINY_JOBS = 8
BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
TINY = {
    "program_id": "sampler",
    "backend": "basic_simulator",
    "params": {"pubs": [[BELL, None, 10]], "version": 2},
}


async def tiny_job(http: httpx.AsyncClient) -> float:
    """Seconds from submit until the job reads Completed."""
    start = time.perf_counter()
    job_id = (await http.post("/jobs", json=TINY)).json()["id"]
    while True:
        status = (await http.get(f"/jobs/{job_id}", params={"exclude_params": "true"})).json()
        if status["status"] in ("Completed", "Failed", "Cancelled"):
            assert status["status"] == "Completed", status
            return time.perf_counter() - start
        await asyncio.sleep(0.02)


async def poller(port: int, latencies: list[float], stop: asyncio.Event, spread: int) -> None:
    """A keep-alive client that reads answers with as little work as it can.

    httpx would spend more CPU per 90 KB answer than the service does, and on a 2-core
    machine the client would then be what is measured.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    asked = 0
    try:
        while not stop.is_set():
            # spread 0: one query for all; otherwise a new offset on every request.
            offset = (spread * 7919 + asked * 101) % 9000 if spread else 0
            asked += 1
            start = time.perf_counter()
            writer.write(
                f"GET /api/v1/jobs?limit=200&offset={offset} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:100]
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            assert len(body) > 1000
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def measure(url: str, port: int, pollers: int, shared: bool = True) -> dict[str, float]:
    latencies: list[float] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=120) as own:
        tasks = [
            asyncio.create_task(poller(port, latencies, stop, 0 if shared else 1 + i))
            for i in range(pollers)
        ]
        if pollers:
            while len(latencies) < 2 * pollers:  # every poller is in its stride
                await asyncio.sleep(0.05)
        started = time.perf_counter()
        count_before = len(latencies)
        finish = [await tiny_job(own) for _ in range(TINY_JOBS)]
        took = time.perf_counter() - started
        served = len(latencies) - count_before
        stop.set()
        await asyncio.gather(*tasks)
        if not pollers:
            for _ in range(100):
                start = time.perf_counter()
                response = await own.get("/jobs", params={"limit": 200})
                assert response.status_code == 200
                latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {
        "finish_p50": statistics.median(finish),
        "finish_max": max(finish),
        "list_p50": statistics.median(latencies) * 1000,
        "list_p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "lists_per_s": served / took if pollers else 0.0,
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as data:
        fill_finished(Path(data), STORED)
        proc = ServiceProcess(Path(data), "--latency-scale", "0", "--workers", "2").start()
        try:
            # Warm the workers first: Qiskit's import is not timed.
            asyncio.run(measure(proc.url, proc.port, 0))
            idle = asyncio.run(measure(proc.url, proc.port, 0))
            loaded = asyncio.run(measure(proc.url, proc.port, POLLERS))
            apart = asyncio.run(measure(proc.url, proc.port, POLLERS, shared=False))
        finally:
            proc.stop()
    print(f"### Local service under load: {STORED:,} jobs stored, {POLLERS} pollers\n")
    print(
        f"| measure | idle | {POLLERS} pollers of `GET /jobs?limit=200` | {POLLERS} pollers, "
        "a new `offset` each time | aim under load |"
    )
    print("|---|---:|---:|---:|---|")
    rows = [
        ("tiny job, submit to Completed, median (s)", "finish_p50", "{:.2f}", "< 2 s"),
        ("tiny job, submit to Completed, slowest (s)", "finish_max", "{:.2f}", "< 2 s"),
        ("`GET /jobs?limit=200` p50 (ms)", "list_p50", "{:.1f}", "< 250 ms"),
        ("`GET /jobs?limit=200` p95 (ms)", "list_p95", "{:.1f}", ""),
        ("lists answered per second", "lists_per_s", "{:.0f}", ""),
    ]
    for label, key, shape, aim in rows:
        shown_idle = shape.format(idle[key]) if key != "lists_per_s" else "-"
        cells = f"{shape.format(loaded[key])} | {shape.format(apart[key])}"
        print(f"| {label} | {shown_idle} | {cells} | {aim} |")
    print(
        f"\n{TINY_JOBS} tiny jobs (Bell pair, 10 shots) one after another; the pollers run "
        "closed-loop (each asks again as soon as it has its answer) in one asyncio client process "
        "on the same machine, reading answers with plain sockets. Pollers of one query share "
        "a rendered page until the next write; with a new offset on every request, almost "
        "every answer is built anew, which shows the scheduler's own threads at work rather "
        "than the page cache. Idle lists repeat one query, so they too are mostly answered "
        "from the shared page."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
