"""The service on a Dask cluster against its own process pool (issue 16).

Jobs per second, from the first submit until the last job is final, for
1. ``SMALL_JOBS`` small jobs (a Bell pair, 100 shots) spread over four backends, by 4 clients;
2. 20 large jobs (random circuits of ``LARGE_QUBITS`` qubits, 1,000 shots) spread over four
   Aer simulators,
with the plain process pool of 1, 2 and 4 worker processes and a LocalCluster of 1, 2 and 4
Dask workers (``--dask local:N``), on this machine. Each backend runs one job at a time, so at
most four jobs run at once. Worker processes are warmed up (Qiskit imported, each backend built)
before timing. Ratios are against the process pool of 2 workers (the default), measured in the
same run.

Run: ``python bench/bench_dask.py`` (or ``make bench``). Prints a markdown table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cluster_service import AER_BACKENDS
from tests.service_process import free_port

ROOT = Path(__file__).resolve().parent.parent
# The issue asks for 1,000 small jobs and 20 large ones of 22 qubits. On this shared 2-core
# machine one engine took 9 minutes at 1,000 jobs and 20 qubits (a 22-qubit job takes about
# 10 s), so the defaults are 500 small jobs and 18 qubits; the environment variables restore
# the full sizes.
SMALL_JOBS = int(os.environ.get("QJOB_BENCH_SMALL_JOBS", "500"))
LARGE_JOBS = 20
LARGE_QUBITS = int(os.environ.get("QJOB_BENCH_LARGE_QUBITS", "18"))
SMALL_BACKENDS = ("basic_simulator", "aer_simulator", "fake_lima", "fake_perth")
ENGINES = (
    ("process pool, 1 worker", ("--workers", "1")),
    ("process pool, 2 workers", ("--workers", "2")),
    ("process pool, 4 workers", ("--workers", "4")),
    ("Dask local:1", ("--dask", "local:1")),
    ("Dask local:2", ("--dask", "local:2")),
    ("Dask local:4", ("--dask", "local:4")),
)
FLOOR = "process pool, 2 workers"
BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


def large_circuits(count: int) -> list[str]:
    from qiskit import qasm2, transpile
    from qiskit.circuit.random import random_circuit

    circuits = []
    for seed in range(count):
        circuit = random_circuit(LARGE_QUBITS, 8, measure=True, seed=seed)
        basic = transpile(circuit, basis_gates=["cx", "u", "h", "x", "rz"], optimization_level=0)
        circuits.append(qasm2.dumps(basic))
    return circuits


def body(backend: str, circuit: str = BELL, shots: int = 100) -> dict[str, object]:
    return {
        "program_id": "sampler",
        "backend": backend,
        "params": {"pubs": [[circuit, None, shots]], "version": 2},
    }


class Service:
    """``bench/cluster_service.py`` in a subprocess on a free loopback port."""

    def __init__(self, data: Path, args: tuple[str, ...]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        script = str(ROOT / "bench" / "cluster_service.py")
        command = [sys.executable, script, str(self.port), str(data), *args]
        self.log = (data / "service.log").open("wb")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the service exited")
            try:
                if httpx.get(f"{self.url}/backends", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def wait_final(http: httpx.Client, ids: list[str]) -> int:
    """Wait until every job is final; returns how many completed."""
    pending = set(ids)
    while True:
        listed = http.get("/jobs", params={"pending": "true", "limit": 200}).json()["jobs"]
        still = {job["id"] for job in listed} & pending
        if not still:
            break
        time.sleep(0.1)
    done = 0
    for job_id in ids:
        done += http.get(f"/jobs/{job_id}").json()["status"] == "Completed"
    return done


def run_jobs(url: str, bodies: list[dict[str, object]], clients: int) -> tuple[float, int]:
    ids: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for item in bodies[index::clients]:
                job_id = http.post("/jobs", json=item).json()["id"]
                with lock:
                    ids.append(job_id)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with httpx.Client(base_url=url, timeout=60) as http:
        completed = wait_final(http, ids)
    return time.perf_counter() - start, completed


def warm_up(url: str, workers: int) -> None:
    """A round of jobs on every backend, enough to reach every worker."""
    backends = list(dict.fromkeys(SMALL_BACKENDS + AER_BACKENDS))
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(workers):
            ids = [http.post("/jobs", json=body(name)).json()["id"] for name in backends]
            wait_final(http, ids)


def measure(args: tuple[str, ...], small: list[dict], large: list[dict]) -> dict[str, float]:
    workers = int(args[1].split(":")[-1])
    with tempfile.TemporaryDirectory() as data:
        service = Service(Path(data), args)
        try:
            service.wait_ready()
            warm_up(service.url, workers)
            small_s, small_ok = run_jobs(service.url, small, clients=4)
            large_s, large_ok = run_jobs(service.url, large, clients=1)
        finally:
            service.stop()
    assert small_ok == len(small) and large_ok == len(large), (small_ok, large_ok)
    return {"small": len(small) / small_s, "large": len(large) / large_s}


def main() -> int:
    small = [body(SMALL_BACKENDS[i % len(SMALL_BACKENDS)]) for i in range(SMALL_JOBS)]
    large = [
        body(AER_BACKENDS[i % len(AER_BACKENDS)], circuit, shots=1000)
        for i, circuit in enumerate(large_circuits(LARGE_JOBS))
    ]
    results = {}
    for name, args in ENGINES:
        results[name] = measure(args, small, large)
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    floor = results[FLOOR]
    print("### Dask cluster against the process pool\n")
    print(
        f"{SMALL_JOBS:,} small jobs (Bell pair, 100 shots) over 4 backends; {LARGE_JOBS} large "
        f"jobs ({LARGE_QUBITS}-qubit random circuits, depth 8, 1,000 shots) over 4 Aer "
        "simulators. Jobs per second from the first submit to the last final job; ratios "
        f"against the {FLOOR} (the default), same run.\n"
    )
    load = os.getloadavg()[2]
    print(
        f"Load average over the last 15 minutes at the end: {load:.1f} on "
        f"{len(os.sched_getaffinity(0))} cores; other work on the machine shifts the ratios.\n"
    )
    print("| engine | small jobs/s | ratio | large jobs/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in ENGINES:
        got = results[name]
        print(
            f"| {name} | {got['small']:.1f} | {got['small'] / floor['small']:.2f}x "
            f"| {got['large']:.2f} | {got['large'] / floor['large']:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
