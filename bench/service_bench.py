"""Benchmarks of the local job service (issue 2).

1. Throughput: 1,000 small sampler jobs submitted by 4 concurrent clients, timed from the first
   submit until the last job is final.
2. Listing latency: p50 and p95 of ``GET /jobs?limit=200`` with 100,000 jobs stored.

Run: ``python bench/service_bench.py`` (or ``make bench``). Prints a markdown table.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.service_process import ServiceProcess, fill_finished

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
BACKENDS = ("basic_simulator", "aer_simulator", "fake_lima", "fake_perth")


def throughput(jobs: int = 1000, clients: int = 4) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        proc = ServiceProcess(Path(data), "--latency-scale", "0", "--workers", "2").start()
        try:
            ids: list[str] = []
            lock = threading.Lock()
            # Warm the worker processes so that Qiskit's import is not counted.
            with httpx.Client(base_url=proc.url, timeout=60) as warm:
                for backend in BACKENDS[:2]:
                    job = warm.post("/jobs", json=_body(backend)).json()["id"]
                    _wait_final(warm, [job])

            def client(index: int) -> None:
                with httpx.Client(base_url=proc.url, timeout=60) as http:
                    for n in range(jobs // clients):
                        backend = BACKENDS[(index + n) % len(BACKENDS)]
                        job_id = http.post("/jobs", json=_body(backend)).json()["id"]
                        with lock:
                            ids.append(job_id)

            start = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            submitted = time.perf_counter() - start
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                _wait_final(http, ids)
                done = time.perf_counter() - start
                failed = http.get("/jobs", params={"pending": "false", "limit": 1}).json()
        finally:
            proc.stop()
    assert failed["count"] == jobs + 2, failed["count"]
    return {
        "jobs": float(len(ids)),
        "submit_per_s": len(ids) / submitted,
        "complete_per_s": len(ids) / done,
        "total_s": done,
    }


def _body(backend: str) -> dict[str, object]:
    return {
        "program_id": "sampler",
        "backend": backend,
        "params": {"pubs": [[BELL, None, 100]], "version": 2},
    }


def _wait_final(http: httpx.Client, ids: list[str]) -> None:
    while True:
        pending = http.get("/jobs", params={"pending": "true", "limit": 1}).json()["count"]
        if pending == 0:
            return
        time.sleep(0.1)


def list_latency(stored: int = 100_000, requests: int = 300) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as data:
        fill_finished(Path(data), stored)
        proc = ServiceProcess(Path(data)).start()
        results: dict[str, dict[str, float]] = {}
        try:
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                cases = {
                    "GET /jobs?limit=200": {"limit": 200},
                    "GET /jobs?limit=200&exclude_params=true": {
                        "limit": 200,
                        "exclude_params": "true",
                    },
                    "GET /jobs?pending=true": {"pending": "true"},
                    "GET /jobs?tags=t7&limit=200": {"tags": "t7", "limit": 200},
                    "GET /jobs?limit=200&offset=50000": {"limit": 200, "offset": 50_000},
                }
                for name, params in cases.items():
                    for _ in range(10):
                        http.get("/jobs", params=params)
                    samples = []
                    for _ in range(requests):
                        start = time.perf_counter()
                        response = http.get("/jobs", params=params)
                        samples.append((time.perf_counter() - start) * 1000)
                        assert response.status_code == 200
                    samples.sort()
                    results[name] = {
                        "p50_ms": statistics.median(samples),
                        "p95_ms": samples[int(len(samples) * 0.95) - 1],
                        "bytes": float(len(response.content)),
                    }
        finally:
            proc.stop()
    return results


def main() -> str:
    lines = ["### Local service", ""]
    t = throughput()
    lines += [
        "| 1,000 small jobs, 4 concurrent clients, 2 workers | value |",
        "|---|---|",
        f"| submitted (jobs/s) | {t['submit_per_s']:.0f} |",
        f"| completed end to end (jobs/s) | {t['complete_per_s']:.1f} |",
        f"| wall time for all 1,000 (s) | {t['total_s']:.1f} |",
        "",
    ]
    latency = list_latency()
    lines += [
        "| request, 100,000 jobs stored | p50 (ms) | p95 (ms) | body (KB) |",
        "|---|---|---|---|",
    ]
    for name, row in latency.items():
        lines.append(
            f"| `{name}` | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['bytes'] / 1024:.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
