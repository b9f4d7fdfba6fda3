"""Benchmarks of the local job service (issues 2, 15 and 26).

1. The floors: the same jobs' work done in one process, in a loop, with no service at all,
   each the best of three rounds, measured before and after the service runs (the better
   kept). Issue 26's loop: ``qasm2.loads`` of the job's text and
   ``BasicSimulator.run(circuit, shots=100).result()``. The batched loop: the same parse for
   each job, then one ``run(list)`` for the 16 jobs a worker takes at once. Beside them,
   ``BackendSamplerV2`` over ``BasicSimulator`` on the circuit parsed once.
2. Throughput, measured as issue 26 measured it: 1,000 one-circuit Bell jobs (100 shots),
   their params as ``qjob-tui submit`` sends OpenQASM 2 text (``encode_sampler_params``: the
   text, an empty ndarray of parameter values, the shots), submitted over HTTP by 4
   concurrent clients to a service with 2 workers and ``--latency-scale 0``; timed from the
   first submit to the last job's completion as the service records it (its ``finished``
   time). Cases: all on ``basic_simulator`` with warm workers; the same with QPY circuits as
   ``SamplerV2`` sends them; the same submitted as soon as a fresh service answers (what a
   user who starts ``qjob-tui serve`` and submits at once gets: the first job waits for the
   worker ``--warm-workers`` starts with the service, still importing Qiskit); the same 20 s
   after the service starts (each of these but the first: the better of two runs); and spread
   round-robin over ``basic_simulator``, ``aer_simulator``,
   ``fake_lima``, ``fake_perth`` (the large fake devices would measure Aer, not the
   service: ~0.26 s a job on ``fake_cairo``, ~24 s on ``fake_fez``), beside the in-process
   loop over the same mix (each backend's ``BackendSamplerV2`` on the circuit transpiled
   once for it). Warm workers ran a few jobs on every backend first, as a service that has
   been up has. Each client submits its jobs one after the other (timing each ``POST /jobs``:
   the submit latency), then asks ``GET /jobs?pending=true&created_after=...&limit=1`` every
   10 ms until none of the jobs created since its first is pending; every job is checked to
   have Completed. The service runs at its default log level, as a user starts it.
3. Listing latency: p50 and p95 of ``GET /jobs?limit=200`` with 100,000 jobs stored.

The machine's load average (``os.getloadavg``) is printed with the numbers: they are noisy on a
shared machine, the ratios to the floors measured in the same run less so.

Run: ``python bench/service_bench.py`` (or ``make bench ONLY=service_bench``); ``python
bench/service_bench.py throughput`` prints the single-backend figures only. Prints markdown.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
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
BATCH = 16  # the jobs of one backend a worker takes at once (``pool.BATCH_SIZE``)
SETTLE = 20.0  # seconds between a service's start and the first submit, in the settled case
NOTE = (
    "End to end: from the first submit to the last job's `finished` time in the service's"
    " records; every job is checked to have Completed. Warm: each worker ran a few jobs"
    " first. Submitted as the service starts: the first jobs wait for the worker the service"
    " starts with it to import Qiskit and the transpiler's plugins (which import"
    " qiskit-ibm-runtime); 20 s later, that worker is ready. The spread case runs noisy"
    " simulations of `fake_lima` and `fake_perth` in Aer (tens of ms a job): its own"
    " in-process loop is the bound it can approach, not BasicSimulator's."
)
SPREAD = ("basic_simulator", "aer_simulator", "fake_lima", "fake_perth")


def floor(jobs: int = 1000) -> dict[str, float]:
    """Jobs per second of the one-process loops: issue 26's (parse the text, run it), the same
    with a batch's circuits in one ``run(list)`` call, and ``BackendSamplerV2``."""
    warnings.simplefilter("ignore")
    from qiskit import qasm2
    from qiskit.primitives import BackendSamplerV2
    from qiskit.providers.basic_provider import BasicSimulator

    backend = BasicSimulator()
    circuit = qasm2.loads(BELL)
    sampler = BackendSamplerV2(backend=backend)

    def rate(step: object, per_step: int = 1) -> float:
        """The best of three rounds: on a shared machine a round can lose the core."""
        for _ in range(20 // per_step + 1):
            step()  # type: ignore[operator]
        rounds = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(jobs // per_step // 3):
                step()  # type: ignore[operator]
            rounds.append(jobs // per_step // 3 * per_step / (time.perf_counter() - start))
        return max(rounds)

    def batch() -> object:
        circuits = [qasm2.loads(BELL) for _ in range(BATCH)]
        return backend.run(circuits, shots=SHOTS).result()

    return {
        "loop_per_s": rate(lambda: backend.run(qasm2.loads(BELL), shots=SHOTS).result()),
        "batched_per_s": rate(batch, BATCH),
        "sampler_per_s": rate(lambda: sampler.run([(circuit,)], shots=SHOTS).result()[0].data.c),
    }


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


def throughput(
    spread: bool,
    jobs: int = 1000,
    clients: int = 4,
    *,
    shape: str = "qasm",
    warm: bool = True,
    settle: float = 0.0,
) -> dict[str, float]:
    """End-to-end jobs/s and submit latencies, on one backend or spread over all.

    ``shape``: the params as ``qjob-tui submit`` sends OpenQASM text ("qasm") or as
    ``SamplerV2`` sends a circuit ("qpy"). ``warm``: each worker ran a few jobs first (a
    service that has been up); else the first submit follows the service's start, as when a
    user starts ``qjob-tui serve`` and submits at once; ``settle`` seconds later, as one who
    runs a script a little after).
    """
    with tempfile.TemporaryDirectory() as data:
        # As a user starts it: the default log level (the test helper's "info" would log
        # every request, 400 a second of them the clients' polls) and one warm worker.
        flags = ("--latency-scale", "0", "--workers", "2", "--log-level", "warning")
        proc = ServiceProcess(Path(data), *flags, "--warm-workers", "1").start()
        time.sleep(settle)
        try:
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                listed = {d["name"] for d in http.get("/backends").json()["devices"]}
                backends = [b for b in SPREAD if b in listed] if spread else ["basic_simulator"]
                warmed = _warm(http, backends, shape) if warm else 0
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
                            answer = http.post("/jobs", json=_body(backend, shape))
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
            first_submit = time.time()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            seen_done = max(ends) - start
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                done = http.get("/jobs", params={"pending": "false", "limit": 1}).json()["count"]
                completed = _count_completed(http)
            last = _last_completion(Path(data))
        finally:
            proc.stop()
    total = jobs // clients * clients
    assert done == total + warmed, (done, total + warmed)
    assert completed == total + warmed, f"only {completed} of {total + warmed} jobs completed"
    samples = sorted(s * 1000 for lane in latencies for s in lane)
    took = last - first_submit
    return {
        "jobs": float(total),
        "backends": float(len(backends)),
        "complete_per_s": total / took,
        "total_s": took,
        "seen_per_s": total / seen_done,
        "submit_p50_ms": statistics.median(samples),
        "submit_p95_ms": samples[int(len(samples) * 0.95) - 1],
    }


def _last_completion(data: Path) -> float:
    """When the last job ended, by the service's own record (seconds since the epoch)."""
    from datetime import datetime

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        (last,) = db.execute("SELECT MAX(finished) FROM jobs").fetchone()
    return datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()


def first_jobs(after: int = 5) -> dict[str, float]:
    """A worker's seconds on its first job and the median over the ``after`` next, each job
    submitted alone once the one before it ended, SETTLE seconds after the service started
    (its warm worker is ready then)."""
    with tempfile.TemporaryDirectory() as data:
        flags = ("--latency-scale", "0", "--workers", "2", "--log-level", "warning")
        proc = ServiceProcess(Path(data), *flags, "--warm-workers", "1").start()
        time.sleep(SETTLE)
        try:
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                seconds = []
                for _ in range(1 + after):
                    job_id = http.post("/jobs", json=_body("basic_simulator")).json()["id"]
                    while True:
                        job = http.get(f"/jobs/{job_id}", params={"exclude_params": "true"})
                        if job.json()["status"] not in ("Queued", "Running"):
                            break
                        time.sleep(POLL)
                    assert job.json()["status"] == "Completed", job.text
                    usage = http.get(f"/jobs/{job_id}/metrics").json()["usage"]
                    seconds.append(usage["seconds"])
        finally:
            proc.stop()
    return {"first_ms": seconds[0] * 1000, "next_ms": statistics.median(seconds[1:]) * 1000}


def _warm(http: httpx.Client, backends: list[str], shape: str, per_backend: int = 4) -> int:
    """Run a few jobs on every backend, so that each worker has imported and built them."""
    ids = [
        http.post("/jobs", json=_body(backend, shape)).json()["id"]
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


def _body(backend: str, shape: str = "qasm") -> dict[str, object]:
    """A job as its client sends it: ``qjob-tui submit``'s OpenQASM text, or SamplerV2's QPY."""
    return {"program_id": "sampler", "backend": backend, "params": _PARAMS[shape]}


def _params() -> dict[str, dict[str, object]]:
    from qiskit import qasm2

    from qjob_tui.wire.sampler_params import encode_sampler_params

    return {
        "qasm": encode_sampler_params([BELL], SHOTS),
        "qpy": encode_sampler_params([qasm2.loads(BELL)], SHOTS),
    }


_PARAMS = _params()


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
    base = floor()
    # The single-backend cases take a second or two (the settled one waits 20 s first): each
    # but the cold one is run three times, the best run kept, since a burst of the shared
    # machine's load can halve one run (the floors are best of three rounds too). The cold one
    # runs once: its time is the worker's start, which the other runs do not have.
    one = best(lambda: throughput(spread=False))
    qpy = best(lambda: throughput(spread=False, shape="qpy"))
    cold = throughput(spread=False, warm=False)
    settled = best(lambda: throughput(spread=False, warm=False, settle=SETTLE))
    every = throughput(spread=True)
    firsts = first_jobs()
    base_after = floor()
    mix = mix_floor()
    # The floors are measured before and after the service runs; the better of the two is used.
    loop = max(base["loop_per_s"], base_after["loop_per_s"])
    batched = max(base["batched_per_s"], base_after["batched_per_s"])
    sampler = max(base["sampler_per_s"], base_after["sampler_per_s"])
    lines += [
        "1,000 one-circuit Bell jobs (100 shots) as `qjob-tui submit` sends them (OpenQASM 2"
        " text; the QPY row: as `SamplerV2` sends a circuit), 4 concurrent clients, 2 workers,"
        " `--latency-scale 0` (the load average is the footer's). End to end: from the first"
        " submit to the last job's completion as the service records it.",
        "",
        "| case | jobs/s | of the loop | of the batched loop | submit p50 (ms) |"
        " submit p95 (ms) | wall (s) |",
        "|---|---|---|---|---|---|---|",
        f"| floor: the loop, `qasm2.loads` + `BasicSimulator.run` in one process | {loop:.0f}"
        " | 1 | | | | |",
        f"| floor: the batched loop, `qasm2.loads` each + one `run(list)` per {BATCH} jobs |"
        f" {batched:.0f} | | 1 | | | |",
        f"| `BackendSamplerV2(BasicSimulator)` in one process | {sampler:.0f} |"
        f" {sampler / loop:.2f} | | | | |",
    ]
    for label, t in (
        ("all on `basic_simulator`, warm workers", one),
        ("all on `basic_simulator`, QPY from `SamplerV2`, warm workers", qpy),
        ("all on `basic_simulator`, submitted as the service starts", cold),
        (f"all on `basic_simulator`, submitted {SETTLE:g} s after the service starts", settled),
        (f"spread over {t_backends(every)} backends, warm workers", every),
    ):
        lines.append(
            f"| end to end, {label} | {t['complete_per_s']:.1f} |"
            f" {t['complete_per_s'] / loop:.3f} | {t['complete_per_s'] / batched:.3f} |"
            f" {t['submit_p50_ms']:.1f} | {t['submit_p95_ms']:.1f} | {t['total_s']:.1f} |"
        )
    lines.append(
        f"| in-process loop over the spread case's mix ({', '.join(SPREAD)}) | {mix:.0f} |"
        f" {mix / loop:.3f} | | | | |"
    )
    of_mix = every["complete_per_s"] / mix
    lines.append(f"| end to end spread, of the mix's own loop | | {of_mix:.2f} | | | | |")
    lines += [
        "",
        NOTE,
        "",
        f"A worker's first job, submitted alone {SETTLE:g} s after the service started:"
        f" {firsts['first_ms']:.1f} ms of the worker's time (it builds its backend's simulator"
        f" and pass manager); each of the next 5, submitted alone: {firsts['next_ms']:.2f} ms"
        " (median).",
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


def best(run: Callable[[], dict[str, float]], times: int = 3) -> dict[str, float]:
    """The run with the most jobs a second of ``times``."""
    return max((run() for _ in range(times)), key=lambda t: t["complete_per_s"])


def t_backends(t: dict[str, float]) -> int:
    return int(t["backends"])


if __name__ == "__main__":
    if sys.argv[1:] == ["throughput"]:
        print(_load(), floor(300), flush=True)
        print(throughput(spread=False), flush=True)
        print(throughput(spread=False, shape="qpy"), flush=True)
        print(throughput(spread=False, warm=False), flush=True)
        print(throughput(spread=False, warm=False, settle=SETTLE), _load(), flush=True)
    else:
        main()
