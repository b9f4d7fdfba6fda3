"""Groups (issue 26): a batch's sampler jobs on a zero-latency simulator run side by side,
their unseeded executions in one ``backend.run(list)`` call.

What must not change is checked against the same jobs run alone: each job's own result (seeded,
bit for bit), its own failure, its place in the queue, its states as the API shows them; and a
cancel of a job running in a group stops it without ending the others.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit.providers.basic_provider import BasicSimulator

from qjob_tui.service.backends import default_backends
from qjob_tui.service.pool import WorkerGone, WorkerPool
from qjob_tui.service.worker import GROUP_MAX_SHOTS, Outcome, Started, Task, run_group, run_task
from qjob_tui.wire.sampler_results import decode_sampler_result
from tests.http_helpers import BELL, wait_status
from tests.service_process import ServiceProcess

BASIC = default_backends(0)["basic_simulator"]
GHZ = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
    "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
)
# Mid-circuit resets make BasicSimulator simulate shot by shot: a job that runs for a while.
SLOW = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\ncreg c[4];\n'
    "h q[0];\nreset q[1];\ncx q[0],q[1];\nh q[2];\ncx q[2],q[3];\nmeasure q -> c;\n"
)


def _params(circuit: str = BELL, shots: int = 100, seed: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"pubs": [[circuit, None, shots]], "version": 2}
    if seed is not None:
        params["options"] = {"simulator": {"seed_simulator": seed}}
    return params


def _task(job_id: str, **kwargs: Any) -> Task:
    return Task(
        job_id=job_id, program="sampler", params=json.dumps(_params(**kwargs)), backend=BASIC
    )


def _data(outcome: Outcome) -> list[object]:
    """What a job returns, without the moments its pubs ran: counts and shots, register by
    register, and the details."""
    assert outcome.ok, outcome.message
    assert outcome.result is not None
    decoded = decode_sampler_result(outcome.result)
    return [
        [(r.name, r.num_bits, dict(r.counts), r.bitstrings) for r in pub.registers]
        for pub in decoded.pubs
    ] + [outcome.details]


def test_a_group_returns_what_each_job_returns_alone() -> None:
    tasks = [
        _task("a", seed=11),
        _task("b", circuit=GHZ, seed=12, shots=300),
        Task(job_id="bad", program="sampler", params="{not json", backend=BASIC),
        _task("c", seed=11, shots=50),
        _task("d", circuit=GHZ, shots=100_000_000),  # above the backend's shots
        _task("e", seed=13),
    ]
    grouped = run_group(tasks)
    alone = [run_task(task) for task in tasks]
    assert [o.job_id for o in grouped] == [t.job_id for t in tasks]
    for together, single in zip(grouped, alone, strict=True):
        assert together.ok == single.ok
        if single.ok:
            assert _data(together) == _data(single)
        else:
            assert (together.code, together.message, together.solution) == (
                single.code,
                single.message,
                single.solution,
            )


def test_unseeded_jobs_of_a_group_share_one_simulator_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real_run = BasicSimulator.run

    def counted(self: BasicSimulator, run_input: Any, **options: Any) -> Any:
        calls.append(len(run_input) if isinstance(run_input, list) else 1)
        return real_run(self, run_input, **options)

    monkeypatch.setattr(BasicSimulator, "run", counted)
    tasks = [_task(f"j{n}", circuit=GHZ if n % 2 else BELL) for n in range(6)]
    outcomes = run_group(tasks)
    assert calls == [6]
    for n, outcome in enumerate(outcomes):
        (pub,) = decode_sampler_result(outcome.result or "").pubs
        (register,) = pub.registers
        assert sum(register.counts.values()) == 100  # its own 100 shots, not the group's
        ones = "111" if n % 2 else "11"
        assert set(register.counts) <= {"0" * len(ones), ones}
        assert outcome.busy is not None and outcome.busy <= outcome.ended - outcome.started


def test_a_group_starts_together_and_each_job_ends_with_its_own_outcome() -> None:
    async def run() -> list[object]:
        pool = WorkerPool(1)
        try:
            return [m async for m in pool.run_batch([_task(job_id) for job_id in "abc"])]
        finally:
            pool.close()

    messages = asyncio.run(run())
    first, *rest = messages
    assert isinstance(first, tuple)
    assert [(s.job_id, type(s)) for s in first] == [(j, Started) for j in "abc"]
    assert [(o.job_id, o.ok) for o in rest if isinstance(o, Outcome)] == [(j, True) for j in "abc"]


def test_cancelling_a_job_running_in_a_group_spares_the_others() -> None:
    async def run() -> tuple[list[str], int]:
        pool = WorkerPool(1)
        ended: list[str] = []
        try:
            tasks = [_task("a", circuit=SLOW, shots=3000), _task("b", circuit=SLOW, shots=3000)]
            async for message in pool.run_batch([*tasks, _task("c")]):
                if isinstance(message, tuple):
                    assert pool.kill("b")  # the service wrote it Cancelled; the others run on
                    assert pool.pid("a") is not None
                elif isinstance(message, Outcome):
                    ended.append(message.job_id)
                    assert message.ok
            return ended, pool.processes
        finally:
            pool.close()

    ended, processes = asyncio.run(run())
    assert ended == ["a", "b", "c"]  # b's outcome comes; its write changes nothing (final)
    assert processes == 1  # nobody killed the worker


def test_stopping_every_job_of_a_running_group_kills_its_worker() -> None:
    async def run() -> list[str]:
        pool = WorkerPool(1)
        stopped: list[str] = []
        try:
            tasks = [_task(job_id, circuit=SLOW, shots=GROUP_MAX_SHOTS) for job_id in "abc"]
            with pytest.raises(WorkerGone):
                async for message in pool.run_batch(tasks):
                    if isinstance(message, tuple):
                        for started in message:
                            assert pool.kill(started.job_id)
                            stopped.append(started.job_id)
            assert pool.processes == 0
            return stopped
        finally:
            pool.close()

    assert asyncio.run(run()) == ["a", "b", "c"]


def test_jobs_run_in_groups_keep_their_results_states_and_places(tmp_path: Path) -> None:
    """Through the service: many seeded jobs at once, from several clients. Each one reads
    Completed with the result its seed gives alone, started after the jobs that arrived
    before it, and ran no earlier than it was created."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "0", "--workers", "1").start()
    ids: list[str] = []
    lock = threading.Lock()
    body = {"program_id": "sampler", "backend": "basic_simulator", "params": _params(seed=5)}

    def client() -> None:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            for _ in range(15):
                response = http.post("/jobs", json=body)
                assert response.status_code == 200
                with lock:
                    ids.append(response.json()["id"])

    try:
        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            jobs = [wait_status(http, job_id) for job_id in ids]
            results = {http.get(f"/jobs/{job_id}/results").text for job_id in ids}
            times = [http.get(f"/jobs/{job_id}/metrics").json()["timestamps"] for job_id in ids]
            listed = http.get("/jobs", params={"limit": 100}).json()["jobs"]
    finally:
        proc.stop()
    assert {job["status"] for job in jobs} == {"Completed"}
    alone = run_task(_task("alone", seed=5))
    counts = {
        json.dumps(_counts(text), sort_keys=True) for text in results
    }  # the same, up to the moments the pubs ran
    assert counts == {json.dumps(_counts(alone.result or ""), sort_keys=True)}
    for stamp in times:
        assert stamp["created"] <= stamp["running"] <= stamp["finished"]
    # The order of arrival (the list is newest first) is the order they started in.
    started = {t_id: t["running"] for t_id, t in zip(ids, times, strict=True)}
    arrival = [job["id"] for job in reversed(listed)]
    assert [started[job_id] for job_id in arrival] == sorted(started[job_id] for job_id in arrival)


def _counts(text: str) -> list[object]:
    return [
        [(r.name, dict(r.counts), r.bitstrings) for r in pub.registers]
        for pub in decode_sampler_result(text).pubs
    ]


def test_a_job_cancelled_while_its_group_runs_reads_cancelled_and_the_others_complete(
    tmp_path: Path,
) -> None:
    """One worker, busy with a device's job (fake_lima spends 0.5 ms a shot), while four slow
    simulator jobs queue: they are handed over together and start as one group. One of them,
    cancelled while the group runs, reads Cancelled at once and keeps no result; the others
    complete with theirs."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "1", "--workers", "1").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            blocker = http.post(
                "/jobs",
                json={
                    "program_id": "sampler",
                    "backend": "fake_lima",
                    "params": _params(shots=4000),
                },
            ).json()["id"]
            wait_status(http, blocker, ("Running", "Completed", "Failed", "Cancelled"))
            slow = {
                "program_id": "sampler",
                "backend": "basic_simulator",
                "params": _params(circuit=SLOW, shots=GROUP_MAX_SHOTS),
            }
            group = [http.post("/jobs", json=slow).json()["id"] for _ in range(4)]
            assert wait_status(http, blocker, timeout=120)["status"] == "Completed"
            wait_status(http, group[1], ("Running", "Completed"), timeout=120)
            assert http.post(f"/jobs/{group[1]}/cancel").status_code == 204
            assert http.get(f"/jobs/{group[1]}").json()["status"] == "Cancelled"
            ended = [wait_status(http, job_id, timeout=120) for job_id in group]
            times = [http.get(f"/jobs/{job_id}/metrics").json()["timestamps"] for job_id in group]
            results = [http.get(f"/jobs/{job_id}/results") for job_id in group]
    finally:
        proc.stop()
    assert [job["status"] for job in ended] == ["Completed", "Cancelled", "Completed", "Completed"]
    # Each was Running from the moment the worker started the group, its first included.
    assert len({stamp["running"] for stamp in times}) == 1
    assert results[1].status_code == 204  # no result kept for the cancelled job
    for response in (results[0], results[2], results[3]):
        (pub,) = decode_sampler_result(response.text).pubs
        assert sum(pub.registers[0].counts.values()) == GROUP_MAX_SHOTS


def _worker_pids(pid: int) -> set[int]:
    """The service's worker processes now: its children started by multiprocessing's spawn."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_warm_worker_starts_with_the_service_and_runs_its_first_job(tmp_path: Path) -> None:
    """``--warm-workers 1`` (the default of ``qjob-tui serve``): a worker process exists
    before any job is sent, and the first job runs on it, not on a new one."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "0", "--warm-workers", "1").start()
    assert proc.proc is not None
    try:
        deadline = time.monotonic() + 120
        while not (warm := _worker_pids(proc.proc.pid)):
            assert time.monotonic() < deadline, "no worker started with the service"
            time.sleep(0.05)
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            body = {"program_id": "sampler", "backend": "basic_simulator", "params": _params()}
            job_id = http.post("/jobs", json=body).json()["id"]
            assert wait_status(http, job_id, timeout=120)["status"] == "Completed"
            assert _worker_pids(proc.proc.pid) == warm
    finally:
        proc.stop()


def test_only_small_jobs_share_a_group() -> None:
    # A group runs as one and each of its jobs is charged its time and memory: a large job in
    # it failed the small ones on their limits (out of memory, or "ran too long").
    from collections import deque

    from qjob_tui.service.worker import GROUP_MAX_QUBITS, next_group

    wide = (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{GROUP_MAX_QUBITS + 1}];\n'
        f"creg c[{GROUP_MAX_QUBITS + 1}];\nh q;\nmeasure q -> c;\n"
    )
    waiting = deque(
        [
            _task("small-1"),
            _task("wide", circuit=wide),
            _task("small-2"),
            _task("many-shots", shots=GROUP_MAX_SHOTS + 1),
            _task("small-3"),
            _task("small-4"),
        ]
    )
    groups = []
    while waiting:
        groups.append([task.job_id for task in next_group(waiting)])
    assert groups == [["small-1"], ["wide"], ["small-2"], ["many-shots"], ["small-3", "small-4"]]
