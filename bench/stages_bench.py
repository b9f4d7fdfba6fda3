"""Where a tiny job's time goes (issue 26): one sampler job's life in the worker and the service,
stage by stage, for OpenQASM 2 text (as ``qjob-tui submit`` sends it) and for QPY (as
qiskit-ibm-runtime's ``SamplerV2`` sends it).

Each stage is the service's own code, timed alone over many jobs of the same Bell circuit
(100 shots) on ``basic_simulator``, with the worker's caches warm as they are in a run of many
such jobs:

- decode params: the params' JSON and the sampler's checks (``parse_sampler_params``), with the
  circuit found in the worker's cache;
- parse: reading the circuit (``decode_circuit``), what a job pays when the cache misses;
- transpile: the transpiled circuit as a job gets it (a cache hit), and a miss beside it;
- simulate: ``BasicSimulator.run`` of the job's circuit and packing its bits;
- encode the result: the result JSON IBM's client reads;
- hand it to the service: the worker's answer pickled through a pipe and read back;
- write to SQLite: the job's start and end, in the service's transactions;
- publish the change: the stream's two events (Running, Completed) for a listener.

The floor beside them is the one-process loop of issue 26 (``qasm2.loads`` and
``BasicSimulator.run(..., shots=100).result()``), measured in the same run. Prints markdown.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
SHOTS = 100
JOBS = 320
GROUP = 16  # the jobs of one backend a worker takes at once (``pool.BATCH_SIZE``)


def per_job(step: Callable[[], object], jobs: int = JOBS) -> float:
    """Seconds one call of ``step`` takes, the best of three rounds (after a warm-up)."""
    for _ in range(10):
        step()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(jobs):
            step()
        best = min(best, (time.perf_counter() - start) / jobs)
    return best


def bodies() -> dict[str, str]:
    """The params text of each case, encoded as its client encodes it."""
    from qiskit import qasm2

    from qjob_tui.wire.sampler_params import encode_sampler_params

    return {
        "OpenQASM 2 text (`qjob-tui submit`)": json.dumps(encode_sampler_params([BELL], SHOTS)),
        "QPY (`SamplerV2`)": json.dumps(encode_sampler_params([qasm2.loads(BELL)], SHOTS)),
    }


def stages(params_text: str, db_dir: Path) -> dict[str, float]:
    """Seconds per job of each stage, for one params text."""
    from qjob_tui.service.backends import default_backends
    from qjob_tui.service.db import JobRow, now_iso, write_finish, write_insert, write_mark_running
    from qjob_tui.service.programs import sampler_run
    from qjob_tui.service.programs.sampler import parse_sampler_params
    from qjob_tui.service.simulators import build_backend
    from qjob_tui.service.stream import FeedDatabase
    from qjob_tui.service.worker import Task, _params, _sampler_job, run_group, run_task
    from qjob_tui.wire.circuits import decode_circuit
    from qjob_tui.wire.sampler_results import encode_sampler_result

    spec = default_backends(0)["basic_simulator"]
    backend = build_backend(spec)
    params: dict[str, Any] = json.loads(params_text)
    task = parse_sampler_params(params, max_shots=spec.max_shots, max_qubits=spec.num_qubits)
    pub = task.pubs[0]
    wire_circuit = params["pubs"][0][0]
    compiled = sampler_run._compiled(pub, backend, None, "pub 0")
    result = sampler_run.run_sampler(task, backend)
    text = encode_sampler_result(result)
    outcome = run_task(Task("d" * 20, "sampler", params_text, spec))
    assert outcome.ok, outcome.message

    def simulate() -> object:
        memory = sampler_run._outcomes(compiled, backend, SHOTS, None, "pub 0")
        bits = sampler_run._outcome_bits(memory, compiled.num_clbits, "pub 0")
        return sampler_run._registers(pub.circuit, bits.reshape(SHOTS, compiled.num_clbits))

    worker_end, service_end = Pipe()

    def hand_over() -> object:
        worker_end.send(outcome)
        return service_end.recv()

    db = FeedDatabase(db_dir / "jobs.sqlite3")
    rows = []
    for n in range(JOBS * 8 + 100):
        row = JobRow.new("sampler", "basic_simulator", params_text, shots=SHOTS)
        row.id = f"job{n:017d}"
        row.created = row.queued = now_iso()
        rows.append(row)
    db.apply([lambda conn: write_insert(conn, rows)])
    ids = iter(row.id for row in rows)

    def write() -> object:
        job_id = next(ids)
        at = now_iso()
        db.apply([lambda conn: write_mark_running(conn, job_id, at)])
        return db.apply(
            [
                lambda conn: write_finish(
                    conn, job_id, "Completed", at, quantum_seconds=0.001, result=text
                )
            ]
        )

    published = iter(row.id for row in rows)

    def publish() -> object:
        job_id = next(published)
        return db.feed._events([job_id]) + db.feed._events([job_id])

    job = Task("d" * 20, "sampler", params_text, spec)
    group = [Task(f"g{n:019d}", "sampler", params_text, spec) for n in range(GROUP)]

    def write_group() -> object:
        jobs = [next(ids) for _ in range(GROUP)]
        at = now_iso()
        db.apply([lambda conn, j=j: write_mark_running(conn, j, at) for j in jobs])
        return db.apply(
            [
                lambda conn, j=j: write_finish(
                    conn, j, "Completed", at, quantum_seconds=0.001, result=text
                )
                for j in jobs
            ]
        )

    seconds = {
        "decode params": per_job(lambda: (_params(job), _sampler_job(job))),  # as run_task does
        "decode params (cache miss)": per_job(
            lambda: parse_sampler_params(
                json.loads(params_text), max_shots=spec.max_shots, max_qubits=spec.num_qubits
            )
        ),
        "parse (cache miss)": per_job(lambda: decode_circuit(wire_circuit, "pub 0")),
        "transpile": per_job(lambda: sampler_run._compiled(pub, backend, None, "pub 0")),
        "transpile (cache miss)": per_job(
            lambda: sampler_run._transpile(pub.circuit, backend, None, "pub 0"), 30
        ),
        "simulate": per_job(simulate),
        "encode the result": per_job(lambda: encode_sampler_result(result)),
        "hand it to the service": per_job(hand_over),
        "write to SQLite": per_job(write),
        "publish the change": per_job(publish),
        "the worker's whole job (`run_task`)": per_job(lambda: run_task(job)),
        f"the worker's whole job in a group of {GROUP} (`run_group`)": per_job(
            lambda: run_group(group), JOBS // GROUP
        )
        / GROUP,
        f"write to SQLite, a group of {GROUP}: two transactions": per_job(
            write_group, JOBS // GROUP
        )
        / GROUP,
    }
    worker_end.close()
    service_end.close()
    db.close()
    return seconds


def loop_floor() -> float:
    """Seconds per job of issue 26's one-process loop: parse, then run with 100 shots."""
    from qiskit import qasm2
    from qiskit.providers.basic_provider import BasicSimulator

    backend = BasicSimulator()
    return per_job(lambda: backend.run(qasm2.loads(BELL), shots=SHOTS).result())


PAID = (
    "decode params",
    "transpile",
    "simulate",
    "encode the result",
    "hand it to the service",
    "write to SQLite",
    "publish the change",
)


def table(name: str, seconds: dict[str, float], floor: float) -> list[str]:
    paid = sum(seconds[stage] for stage in PAID)
    lines = [
        f"**{name}**: the stages a job pays add up to {paid * 1000:.2f} ms, "
        f"{paid / floor:.1f}x the loop's {floor * 1000:.2f} ms a job.",
        "",
        "| stage | ms a job | share of the stages paid |",
        "|---|---|---|",
    ]
    for stage, value in seconds.items():
        share = f"{value / paid:.0%}" if stage in PAID else "(not paid: cache hit)"
        if stage.startswith("the worker"):
            share = "(its stages, measured together)"
        if "group" in stage:
            share = "(per job, in place of the rows above)"
        lines.append(f"| {stage} | {value * 1000:.3f} | {share} |")
    return [*lines, ""]


def main() -> str:
    warnings.simplefilter("ignore")
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = ["### Where a tiny job's time goes", ""]
    floor = loop_floor()
    with tempfile.TemporaryDirectory() as data:
        cases = enumerate(bodies().items())
        measured = {name: stages(text, Path(data) / str(n)) for n, (name, text) in cases}
    floor = min(floor, loop_floor())
    lines += [
        f"One Bell job (100 shots) on `basic_simulator`, each stage timed alone over {JOBS} jobs"
        f" (best of three rounds); load average before {load} (1 / 5 / 15 min).",
        "",
    ]
    for name, seconds in measured.items():
        lines += table(name, seconds, floor)
    text = "\n".join(lines).rstrip()
    print(text)
    return text


if __name__ == "__main__":
    main()
