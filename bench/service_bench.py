"""Benchmarks of the local job service (issues 2 and 15).

1. The floor: the same job's work done in one process, in a loop, with no service at all. The
   Bell circuit is parsed once and sampled with 100 shots by ``BackendSamplerV2`` over a
   ``BasicSimulator`` (the Qiskit primitive that does what a sampler job does: circuit in, a
   packed bit array per register out). ``backend.run`` of the same circuit is shown beside it,
   a stricter floor with no bit packing.
2. Throughput: 1,000 one-circuit Bell jobs (100 shots) submitted over HTTP by 4 concurrent
   clients to a service with 2 workers and ``--latency-scale 0``, (a) all on
   ``basic_simulator`` (one job at a time: per-job overhead is all that counts), (b) spread
   round-robin over the four backends issue 2's bench used: ``basic_simulator``,
   ``aer_simulator``, ``fake_lima``, ``fake_perth``. The two large fake devices are left out:
   Aer's noisy simulation of a Bell pair on them takes ~0.26 s (``fake_cairo``, 27 qubits) and
   ~24 s (``fake_fez``, 156 qubits) a job in one process, which would make the run take hours
   and measure Aer, not the service. For (b) the table also shows the in-process loop over the
   same mix (each backend's ``BackendSamplerV2`` on the circuit transpiled once for it), the
   floor that case could reach with one worker. Timed from the first submit until
   the clients know that every job is final. Each client submits its jobs one after the other
   (timing each ``POST /jobs``: the submit latency), then waits for its jobs: it asks
   ``GET /jobs?pending=true&created_after=<just before its first job's creation>&limit=1``
   every 10 ms and is done when that count is 0, i.e. when every job created since its first
   (its own and any later ones of the others) is final. That is one cheap indexed count per
   client per poll, it sees a job as final only once the service answers so, and it costs the
   service at most 400 requests a second; the run ends when the last client is done. Every job
   is checked to have Completed.
   Each worker is warmed first (every backend runs a few jobs), so Qiskit's import and each
   backend's construction are not counted: a running service has paid them once.
3. Listing latency: p50 and p95 of ``GET /jobs?limit=200`` with 100,000 jobs stored.

The machine's load average (``os.getloadavg``) is printed with the numbers: they are noisy on a
shared machine, the ratios to the floor measured in the same run less so.

Run: ``python bench/service_bench.py`` (or ``make bench``). Prints markdown tables.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.service_process import ServiceProcess, fill_finished

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
SHOTS = 100
POLL = 0.01
NOTE = (
    "End to end: from the first submit until every client has seen no job pending among those"
    " created since its first (`GET /jobs?pending=true&created_after=...&limit=1` every 10 ms);"
    " every job is checked to"
    " have Completed. The workers are warmed first. The spread case runs noisy simulations of"
    " `fake_lima` and `fake_perth` in Aer (tens of ms a job): its own in-process loop is the"
    " bound it can approach, not BasicSimulator's."
)
SPREAD = ("basic_simulator", "aer_simulator", "fake_lima", "fake_perth")


def floor(jobs: int = 1000) -> dict[str, float]:
    """Jobs per second of the in-process loop: BackendSamplerV2, and backend.run."""
    warnings.simplefilter("ignore")
    from qiskit import qasm2
    from qiskit.primitives import BackendSamplerV2
    from qiskit.providers.basic_provider import BasicSimulator

    backend = BasicSimulator()
    circuit = qasm2.loads(BELL)
    sampler = BackendSamplerV2(backend=backend)

    def rate(step: object) -> float:
        for _ in range(20):
            step()  # type: ignore[operator]
        start = time.perf_counter()
        for _ in range(jobs):
            step()  # type: ignore[operator]
        return jobs / (time.perf_counter() - start)

    sampled = rate(lambda: sampler.run([(circuit,)], shots=SHOTS).result()[0].data.c)
    ran = rate(lambda: backend.run(circuit, shots=SHOTS, memory=True).result().get_memory())
    return {"sampler_per_s": sampled, "run_per_s": ran}


def mix_floor(jobs: int = 200) -> float:
    """Jobs per second of one process running the spread case's mix, round-robin."""
    warnings.simplefilter("ignore")
    from qiskit import qasm2, transpile
    from qiskit.primitives import BackendSamplerV2

    from qjob_tui.service.backends import default_backends
    from qjob_tui.service.simulators import build_backend

    specs = default_backends(0)
    circuit = qasm2.loads(BELL)
    samplers = []
    for name in SPREAD:
        backend = build_backend(specs[name])
        compiled = transpile(circuit, target=backend.target, optimization_level=1)
        samplers.append((BackendSamplerV2(backend=backend), compiled))
    for sampler, compiled in samplers:
        sampler.run([(compiled,)], shots=SHOTS).result()
    start = time.perf_counter()
    for n in range(jobs):
        sampler, compiled = samplers[n % len(samplers)]
        sampler.run([(compiled,)], shots=SHOTS).result()
    return jobs / (time.perf_counter() - start)


def throughput(spread: bool, jobs: int = 1000, clients: int = 4) -> dict[str, float]:
    """End-to-end jobs/s and submit latencies, on one backend or spread over all."""
    with tempfile.TemporaryDirectory() as data:
        proc = ServiceProcess(Path(data), "--latency-scale", "0", "--workers", "2").start()
        try:
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                listed = {d["name"] for d in http.get("/backends").json()["devices"]}
                backends = [b for b in SPREAD if b in listed] if spread else ["basic_simulator"]
                warm = _warm(http, backends)
            latencies: list[list[float]] = [[] for _ in range(clients)]
            ends: list[float] = [0.0] * clients
            errors: list[BaseException] = []
            start_gate = threading.Barrier(clients + 1)

            def client(index: int) -> None:
                try:
                    with httpx.Client(base_url=proc.url, timeout=60) as http:
                        start_gate.wait()
                        mine: list[str] = []
                        first_created = ""
                        for n in range(jobs // clients):
                            backend = backends[(index + n * clients) % len(backends)]
                            began = time.perf_counter()
                            answer = http.post("/jobs", json=_body(backend))
                            latencies[index].append(time.perf_counter() - began)
                            answer.raise_for_status()
                            mine.append(answer.json()["id"])
                            if not first_created:
                                job = http.get(
                                    f"/jobs/{mine[0]}", params={"exclude_params": "true"}
                                )
                                first_created = job.json()["created"]
                        _wait_mine(http, first_created)
                        ends[index] = time.perf_counter()
                except BaseException as exc:  # reported by the main thread
                    errors.append(exc)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            start_gate.wait()
            start = time.perf_counter()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            took = max(ends) - start
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                done = http.get("/jobs", params={"pending": "false", "limit": 1}).json()["count"]
                completed = _count_completed(http)
        finally:
            proc.stop()
    total = jobs // clients * clients
    assert done == total + warm, (done, total + warm)
    assert completed == total + warm, f"only {completed} of {total + warm} jobs completed"
    samples = sorted(s * 1000 for lane in latencies for s in lane)
    return {
        "jobs": float(total),
        "backends": float(len(backends)),
        "complete_per_s": total / took,
        "total_s": took,
        "submit_p50_ms": statistics.median(samples),
        "submit_p95_ms": samples[int(len(samples) * 0.95) - 1],
    }


def _warm(http: httpx.Client, backends: list[str], per_backend: int = 4) -> int:
    """Run a few jobs on every backend, so that each worker has imported and built them."""
    ids = [
        http.post("/jobs", json=_body(backend)).json()["id"]
        for _ in range(per_backend)
        for backend in backends
    ]
    deadline = time.monotonic() + 300
    while http.get("/jobs", params={"pending": "true", "limit": 1}).json()["count"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the warm-up jobs did not finish")
        time.sleep(0.1)
    return len(ids)


def _wait_mine(http: httpx.Client, created_after: str) -> None:
    """Return once no job created since this client's first is pending (its own among them)."""
    # created_after is exclusive: ask from just before the first job's creation.
    since = _just_before(created_after)
    while True:
        pending = http.get(
            "/jobs", params={"pending": "true", "created_after": since, "limit": 1}
        ).json()["count"]
        if pending == 0:
            return
        time.sleep(POLL)


def _just_before(created: str) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(created.replace("Z", "+00:00")) - timedelta(microseconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _count_completed(http: httpx.Client) -> int:
    count = 0
    offset = 0
    while True:
        page = http.get(
            "/jobs",
            params={"pending": "false", "limit": 200, "offset": offset, "exclude_params": "true"},
        ).json()
        count += sum(1 for job in page["jobs"] if job["status"] == "Completed")
        offset += len(page["jobs"])
        if not page["jobs"] or offset >= page["count"]:
            return count


def _body(backend: str) -> dict[str, object]:
    return {
        "program_id": "sampler",
        "backend": backend,
        "params": {"pubs": [[BELL, None, SHOTS]], "version": 2},
    }


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


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> str:
    lines = ["### Local service", ""]
    load_before = _load()
    base = floor()
    one = throughput(spread=False)
    every = throughput(spread=True)
    base_after = floor()
    mix = mix_floor()
    # The floor is measured before and after the service runs; the better of the two is used.
    sampler = max(base["sampler_per_s"], base_after["sampler_per_s"])
    run = max(base["run_per_s"], base_after["run_per_s"])
    lines += [
        "1,000 one-circuit Bell jobs (100 shots), 4 concurrent clients, 2 workers,"
        f" `--latency-scale 0`; load average before {load_before}, after {_load()}"
        " (1 / 5 / 15 min).",
        "",
        "| case | jobs/s | of the floor | submit p50 (ms) | submit p95 (ms) | wall (s) |",
        "|---|---|---|---|---|---|",
        f"| floor: `BackendSamplerV2(BasicSimulator)` in one process | {sampler:.0f} | 1 | | | |",
        f"| stricter floor: `BasicSimulator.run` in one process | {run:.0f} | | | | |",
    ]
    for label, t in (
        ("all on `basic_simulator`", one),
        (f"spread over {t_backends(every)} backends", every),
    ):
        lines.append(
            f"| end to end, {label} | {t['complete_per_s']:.1f} |"
            f" 1/{sampler / t['complete_per_s']:.1f} |"
            f" {t['submit_p50_ms']:.1f} | {t['submit_p95_ms']:.1f} | {t['total_s']:.1f} |"
        )
    lines.append(
        f"| in-process loop over the spread case's mix ({', '.join(SPREAD)}) | {mix:.0f} |"
        f" 1/{sampler / mix:.1f} | | | |"
    )
    of_mix = every["complete_per_s"] / mix
    lines.append(f"| end to end spread, of the mix's own loop | | {of_mix:.2f} | | | |")
    lines += ["", NOTE, ""]
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


def t_backends(t: dict[str, float]) -> int:
    return int(t["backends"])


if __name__ == "__main__":
    if sys.argv[1:] == ["throughput"]:
        print(_load(), floor(300), mix_floor(), flush=True)
        print(throughput(spread=False), flush=True)
        print(throughput(spread=True), _load(), flush=True)
    else:
        main()
