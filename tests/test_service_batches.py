"""Batches handed to warm workers, the circuit cache and grouped writes (issue 15).

Mechanisms, not timings: the order of a batch's messages, a skipped job that never starts, a
cache hit that never decodes or transpiles again, writes that share one transaction and are on
disk once answered, never more worker processes than ``--workers``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from qjob_tui.service.backends import default_backends
from qjob_tui.service.db import Database, JobRow, now_iso, write_insert
from qjob_tui.service.pool import WorkerGone, WorkerPool
from qjob_tui.service.pools import has_room
from qjob_tui.service.programs import circuit_cache
from qjob_tui.service.programs.sampler import parse_sampler_params
from qjob_tui.service.programs.sampler_run import run_sampler
from qjob_tui.service.simulators import build_backend
from qjob_tui.service.worker import Outcome, Started, Task
from qjob_tui.service.writes import GroupWriter
from tests.http_helpers import BELL, FINAL, sampler_body, submit, wait_status
from tests.service_process import ServiceProcess

BASIC = default_backends(0)["basic_simulator"]


def _task(job_id: str, shots: int = 100, spec=BASIC) -> Task:  # type: ignore[no-untyped-def]
    params = json.dumps({"pubs": [[BELL, None, shots]], "version": 2})
    return Task(job_id=job_id, program="sampler", params=params, backend=spec)


# --- batches ------------------------------------------------------------------------------------


def test_a_batch_runs_its_jobs_in_order_one_at_a_time() -> None:
    # A device spends time per shot: its jobs run one after the other, never as a group
    # (zero-latency simulators' groups: tests/test_service_groups.py).
    device = BASIC.__class__(**{**BASIC.__dict__, "shot_latency": 0.0001})

    async def run() -> list[object]:
        pool = WorkerPool(1)
        try:
            tasks = [_task(job_id, spec=device) for job_id in "abc"]
            return [m async for m in pool.run_batch(tasks)]
        finally:
            pool.close()

    messages = asyncio.run(run())
    seen = [(type(m).__name__, m.job_id) for m in messages]  # type: ignore[attr-defined]
    assert seen == [
        ("Started", "a"),
        ("Outcome", "a"),
        ("Started", "b"),
        ("Outcome", "b"),
        ("Started", "c"),
        ("Outcome", "c"),
    ]
    outcomes = [m for m in messages if isinstance(m, Outcome)]
    assert all(o.ok for o in outcomes)
    # One at a time: each job began (by the worker's clock) after the one before it ended.
    for before, after in itertools.pairwise(outcomes):
        assert after.started >= before.ended


def test_a_job_skipped_while_waiting_in_its_batch_never_starts() -> None:
    # The first job takes its device's time (shot latency inside the worker), so the skip
    # reaches the worker while the second job still waits in the batch.
    slow = BASIC.__class__(**{**BASIC.__dict__, "shot_latency": 0.003})

    async def run() -> tuple[list[tuple[str, str]], int]:
        pool = WorkerPool(1)
        seen: list[tuple[str, str]] = []
        try:
            batch = [_task("slow", 1000, slow), _task("skipped"), _task("last")]
            async for message in pool.run_batch(batch):
                seen.append((type(message).__name__, message.job_id))
                if isinstance(message, Started) and message.job_id == "slow":
                    assert pool.kill("skipped")  # it waits in the batch: skipped, not killed
            return seen, pool.processes
        finally:
            pool.close()

    seen, processes = asyncio.run(run())
    assert ("Started", "skipped") not in seen
    assert seen == [
        ("Started", "slow"),
        ("Outcome", "slow"),
        ("Started", "last"),
        ("Outcome", "last"),
    ]
    assert processes == 1  # the worker was kept: a skip kills nothing


def test_a_job_skipped_as_it_began_never_reaches_the_next_batch() -> None:
    # The skip crosses the worker's Started on the way: the worker runs the job it was told to
    # skip. It must not be handed the next batch while it does (that batch read the stale
    # Started, killed its own worker and failed a job nobody had touched: "the worker process
    # running the job died").
    slow = BASIC.__class__(**{**BASIC.__dict__, "shot_latency": 0.01})

    async def run() -> tuple[list[tuple[str, str]], Outcome, int | None, bool]:
        pool = WorkerPool(1)
        seen: list[tuple[str, str]] = []
        try:
            tasks = [_task("quick"), _task("long", 10_000, slow), _task("after", spec=slow)]
            batch = pool.run_batch(tasks)
            first = await anext(batch)
            seen.append((type(first).__name__, first.job_id))
            worker = pool._busy["long"]
            # Nobody reads meanwhile: the worker's next messages (quick's Outcome, long's
            # Started) wait in its inbox (the pool's own queue: no public view of it).
            async with asyncio.timeout(30):
                while worker._inbox is None or worker._inbox.qsize() < 2:
                    await asyncio.sleep(0.01)
            assert pool.kill("long")  # the pool still believes it waits: a skip
            seen += [(type(m).__name__, m.job_id) async for m in batch]
            assert "after" not in pool._busy  # handed back, the caller's to queue again
            following = await pool.run(_task("next"))
            return seen, following, worker.pid, worker.alive
        finally:
            pool.close()

    seen, following, _, old_worker_alive = asyncio.run(run())
    assert seen == [("Started", "quick"), ("Outcome", "quick")]
    assert following.ok and following.job_id == "next"
    assert not old_worker_alive  # it ran what it was told to skip: stopped, never reused


def test_killing_the_running_job_of_a_batch_ends_its_worker() -> None:
    slow = BASIC.__class__(**{**BASIC.__dict__, "shot_latency": 0.01})

    async def run() -> list[str]:
        pool = WorkerPool(1)
        started: list[str] = []
        try:
            with pytest.raises(WorkerGone):
                async for message in pool.run_batch([_task("long", 10_000, slow), _task("next")]):
                    if isinstance(message, Started):
                        started.append(message.job_id)
                        assert pool.kill("long")
            assert pool.processes == 0
            return started
        finally:
            pool.close()

    assert asyncio.run(run()) == ["long"]


def test_dispatched_batches_count_against_the_workers() -> None:
    pool = WorkerPool(2)
    assert pool.slots == 2
    assert has_room(pool, 1)
    assert not has_room(pool, 2)  # a third backend's batch waits: no third process


# --- the circuit cache -------------------------------------------------------------------------


def test_a_repeated_circuit_is_decoded_and_transpiled_once() -> None:
    circuit_cache.decoded.clear()
    circuit_cache.transpiled.clear()
    backend = build_backend(BASIC)
    params = {"pubs": [[BELL, None, 50]], "version": 2}
    first = parse_sampler_params(params)
    second = parse_sampler_params(params)
    assert (circuit_cache.decoded.misses, circuit_cache.decoded.hits) == (1, 1)
    assert second.pubs[0].circuit is first.pubs[0].circuit  # the parse was skipped
    results = [run_sampler(task, backend, seed=7) for task in (first, second)]
    assert (circuit_cache.transpiled.misses, circuit_cache.transpiled.hits) == (1, 1)
    assert results[0]["pubs"][0]["registers"] == results[1]["pubs"][0]["registers"]
    other = BELL.replace("h q[0];", "x q[0];")
    parse_sampler_params({"pubs": [[other, None, 50]], "version": 2})
    assert circuit_cache.decoded.misses == 2  # different text, different entry


@pytest.mark.parametrize("device", ["basic_simulator", "fake_lima"])
def test_the_transpiler_built_once_compiles_as_transpile_does(device: str) -> None:
    """One pass manager per backend and seed serves every job; what it makes of a circuit is
    what ``transpile`` makes of it, job after job."""
    from qiskit import qasm2, transpile

    from qjob_tui.service.programs.sampler_run import _transpile

    backend = build_backend(default_backends(0)[device])
    ghz = BELL.replace("qreg q[2];\ncreg c[2];", "qreg q[3];\ncreg c[3];").replace(
        "cx q[0],q[1];", "cx q[0],q[1];\ncx q[1],q[2];\nrz(0.3) q[2];"
    )
    for text in (BELL, ghz, BELL):
        circuit = qasm2.loads(text)
        expected = transpile(
            circuit, target=backend.target, optimization_level=1, seed_transpiler=7
        )
        compiled = _transpile(circuit, backend, 7, "pub 0")
        assert compiled == expected
        assert compiled.layout == expected.layout
        assert compiled.name == circuit.name


def test_the_cache_is_bounded() -> None:
    cache: circuit_cache.LRU[int, int] = circuit_cache.LRU(size=3)
    for key in range(5):
        cache.get_or_make(key, lambda key=key: key * 10)
    assert len(cache) == 3
    assert cache.get_or_make(4, lambda: -1) == 40  # kept
    assert cache.get_or_make(0, lambda: -1) == -1  # evicted, made again


# --- grouped writes ----------------------------------------------------------------------------


def _row(job_id: str) -> JobRow:
    row = JobRow.new("sampler", "basic_simulator", "{}", shots=1)
    row.id = job_id
    row.created = row.queued = now_iso()
    return row


def test_writes_queued_together_share_one_transaction_and_keep_every_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite3"
    db = Database(path)

    async def run() -> tuple[list[object], int]:
        writer = GroupWriter(db)
        futures = [
            writer.write(lambda conn, n=n: write_insert(conn, [_row(f"job{n:03d}")]))
            for n in range(40)
        ]
        # A write that fails (a duplicate id) fails alone; the others of its group stay.
        futures.insert(20, writer.write(lambda conn: write_insert(conn, [_row("job000")])))
        results = await asyncio.gather(*futures, return_exceptions=True)
        return results, writer.flushes

    results, flushes = asyncio.run(run())
    assert flushes == 1
    assert isinstance(results[20], sqlite3.IntegrityError)
    assert sum(isinstance(r, Exception) for r in results) == 1
    with sqlite3.connect(path) as other:  # another connection: committed, not only written
        assert other.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 40
    db.close()


def test_a_write_is_committed_when_its_future_resolves(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    db = Database(path)

    async def run() -> list[int]:
        writer = GroupWriter(db)
        seen = []
        for n in range(5):
            await writer.write(lambda conn, n=n: write_insert(conn, [_row(f"one{n}")]))
            with sqlite3.connect(path) as other:
                seen.append(other.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
        return seen

    assert asyncio.run(run()) == [1, 2, 3, 4, 5]
    db.close()


# --- through the service -----------------------------------------------------------------------


def test_a_job_cancelled_while_queued_behind_a_running_one_never_runs(tmp_path: Path) -> None:
    """The jobs queued behind the first are handed over together; one cancelled while the
    batch's first runs reads Cancelled, never ran, and the rest still run in order."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "1", "--workers", "1").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as client:
            # fake_lima spends 0.5 ms a shot: 4,000 shots keep a job running for 2 s.
            first = submit(client, backend="fake_lima", shots=4000)
            wait_status(client, first, ("Running", *FINAL))
            queued = [submit(client, backend="fake_lima", shots=4000) for _ in range(3)]
            wait_status(client, queued[0], ("Running", *FINAL))
            assert client.post(f"/jobs/{queued[1]}/cancel").status_code == 204
            cancelled = wait_status(client, queued[1])
            for job_id in (first, queued[0], queued[2]):
                assert wait_status(client, job_id, timeout=120)["status"] == "Completed"
            times = {
                job_id: client.get(f"/jobs/{job_id}/metrics").json()["timestamps"]
                for job_id in (first, *queued)
            }
    finally:
        proc.stop()
    assert cancelled["status"] == "Cancelled"
    assert times[queued[1]]["running"] is None  # it never started
    # One at a time, in order of arrival: each started after the one before it finished.
    assert times[queued[0]]["running"] >= times[first]["finished"]
    assert times[queued[2]]["running"] >= times[queued[0]]["finished"]


def _worker_processes(pid: int) -> int:
    """The service's worker processes now: its children started by multiprocessing's spawn."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                count += 1
    return count


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_never_more_worker_processes_than_workers(tmp_path: Path) -> None:
    """Four busy backends, two workers: at every look, at most two worker processes."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "0.2", "--workers", "2").start()
    assert proc.proc is not None
    seen: list[int] = []
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as client:
            backends = ("basic_simulator", "aer_simulator", "fake_lima", "fake_perth")
            ids = [submit(client, backend=b, shots=500) for _ in range(3) for b in backends]
            while client.get("/jobs", params={"pending": "true", "limit": 1}).json()["count"]:
                seen.append(_worker_processes(proc.proc.pid))
            statuses = {wait_status(client, job_id)["status"] for job_id in ids}
    finally:
        proc.stop()
    assert statuses == {"Completed"}
    assert seen and max(seen) <= 2, seen


def test_every_answered_submit_survives_a_kill_9(tmp_path: Path) -> None:
    """Submits answered while others' writes share their transaction are all on disk."""
    proc = ServiceProcess(tmp_path, "--latency-scale", "1", "--workers", "1").start()
    answered: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            for _ in range(15):
                response = http.post("/jobs", json=sampler_body(backend="fake_perth", shots=50))
                assert response.status_code == 200
                with lock:
                    answered.append(response.json()["id"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    proc.crash()
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            for job_id in answered:
                assert http.get(f"/jobs/{job_id}").status_code == 200
    finally:
        proc.stop()
    assert len(answered) == 60


def test_a_batch_sent_to_a_starting_worker_never_holds_the_event_loop() -> None:
    # The process reads its pipe only once it has imported Qiskit: a batch larger than the
    # pipe holds was written there and then, and the service's event loop waited that second.
    from qjob_tui.service.pool import Worker

    big = Task(job_id="big", program="sampler", params="x" * 8_000_000, backend=BASIC)
    worker = Worker()
    try:
        worker.send([big])
        # Returned at once: the process has not even said it is ready (after its warm-up).
        assert not worker._conn.poll()
    finally:
        worker.dispose()
