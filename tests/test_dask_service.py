"""The local service on a Dask cluster (``serve --dask``), against real LocalClusters on loopback.

The module's cluster is a ``distributed.LocalCluster`` of two worker processes that the test
starts itself, so the test can look at it from outside: which worker runs which job, and
kill that worker's process. Long jobs are made long by a device's per-shot latency (a sleep
in the worker), which keeps them running until the test has looked.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(300)

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"
APIKEY = "dask-runtime-key"
# fake_cairo sleeps 4 ms a shot: 20,000 shots keep a job running for 80 s.
LONG = {"backend": "fake_cairo", "shots": 20_000}


@contextlib.contextmanager
def kept_environ() -> Iterator[None]:
    """Starting worker processes sets variables in our environment (PYTHONHASHSEED,
    OMP_NUM_THREADS, ...) that later tests' processes would inherit: put it back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        kept_environ(),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def dask(cluster: Any) -> Iterator[Any]:
    """The test's own client of the cluster, to see where jobs run."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, cluster: Any) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("dask-service")
    proc = ServiceProcess(data, "--dask", cluster.scheduler_address).start(timeout=60)
    yield proc
    proc.stop()


@pytest.fixture
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        wait_for(lambda: _idle_workers(c) == 2, "both workers idle")
        yield c


def wait_for(condition: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(0.1)


def _idle_workers(client: httpx.Client) -> int:
    health = client.get("/health").json()
    return sum(1 for w in health.get("workers", []) if w["job_id"] is None)


def interval(client: httpx.Client, job_id: str) -> tuple[datetime, datetime]:
    stamps = client.get(f"/jobs/{job_id}/metrics").json()["timestamps"]
    return datetime.fromisoformat(stamps["running"]), datetime.fromisoformat(stamps["finished"])


def worker_of(dask: Any, job_id: str) -> str | None:
    """The address of the worker whose task is this job, as the scheduler sees it."""
    for address, keys in dask.processing().items():
        if any(job_id in str(key) for key in keys):
            return str(address)
    return None


def test_jobs_on_different_backends_run_at_the_same_time(client: httpx.Client) -> None:
    first = submit(client, backend="fake_perth", shots=3000)  # 1 ms a shot: 3 s
    second = submit(client, backend="fake_cairo", shots=750)  # 4 ms a shot: 3 s
    for job_id in (first, second):
        assert wait_status(client, job_id, timeout=120)["status"] == "Completed"
    (start_a, end_a), (start_b, end_b) = interval(client, first), interval(client, second)
    assert start_a < end_b and start_b < end_a, "the two backends' jobs did not overlap"


def test_one_backend_runs_one_job_at_a_time_in_order(client: httpx.Client) -> None:
    jobs = [submit(client, backend="fake_perth", shots=500) for _ in range(3)]
    for job_id in jobs:
        assert wait_status(client, job_id, timeout=120)["status"] == "Completed"
    spans = [interval(client, job_id) for job_id in jobs]
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start, "a backend ran two jobs at once, or out of order"


def test_never_more_jobs_run_than_the_cluster_has_workers(client: httpx.Client) -> None:
    jobs = [
        submit(client, backend="fake_lima", shots=4000),  # 0.5 ms a shot: 2 s
        submit(client, backend="fake_perth", shots=2000),  # 1 ms a shot: 2 s
        submit(client, backend="fake_cairo", shots=500),  # 4 ms a shot: 2 s
    ]
    for job_id in jobs:
        assert wait_status(client, job_id, timeout=120)["status"] == "Completed"
    spans = [interval(client, job_id) for job_id in jobs]
    # Two workers: the third job starts only once one of the first two has finished.
    assert max(start for start, _ in spans) >= min(end for _, end in spans)
    assert not any("re-queued" in client.get(f"/jobs/{j}/logs").text for j in jobs)


def test_cancel_stops_the_running_job_on_its_worker(client: httpx.Client, dask: Any) -> None:
    job_id = submit(client, **LONG)
    wait_status(client, job_id, ("Running",))
    worker = wait_for(lambda: worker_of(dask, job_id), "the job's task on a worker")
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 204
    assert wait_status(client, job_id)["status"] == "Cancelled"
    # The worker was restarted: the task is gone from the cluster, not left to run 80 s.
    wait_for(lambda: worker_of(dask, job_id) is None, "the cancelled task to leave the cluster")
    wait_for(lambda: worker not in dask.scheduler_info()["workers"], "the worker's restart")
    after = submit(client, backend="fake_cairo", shots=10)
    assert wait_status(client, after, timeout=120)["status"] == "Completed"


def test_a_killed_workers_job_is_requeued_once_then_fails(client: httpx.Client, dask: Any) -> None:
    job_id = submit(client, **LONG)
    for attempt in (1, 2):
        wait_status(client, job_id, ("Running",))
        worker = wait_for(lambda: worker_of(dask, job_id), f"attempt {attempt} on a worker")
        pid = dask.run(os.getpid, workers=[worker])[worker]
        os.kill(pid, signal.SIGKILL)
        if attempt == 1:
            wait_for(
                lambda: "re-queued" in client.get(f"/jobs/{job_id}/logs").text,
                "the job to be re-queued",
            )
    job = wait_status(client, job_id)
    assert job["status"] == "Failed"
    assert "lost twice" in job["state"]["reason"]
    log = client.get(f"/jobs/{job_id}/logs").text
    assert log.count("re-queued") == 1
    # Nothing else is lost: the service still runs jobs on the restarted workers.
    wait_for(lambda: _idle_workers(client) == 2, "the workers to come back")
    after = submit(client, backend="fake_lima", shots=50)
    assert wait_status(client, after, timeout=120)["status"] == "Completed"


def test_backends_report_the_cluster(client: httpx.Client, cluster: Any) -> None:
    devices = client.get("/backends").json()["devices"]
    for device in devices:
        assert device["status"]["name"] == "online"
        assert f"Dask {cluster.scheduler_address}: 2 workers" in device["status"]["reason"]
    status = client.get("/backends/fake_lima/status").json()
    assert status["status"] == "active" and "2 workers" in status["message"]


# --- the scheduler going away ----------------------------------------------------------------


def test_the_service_waits_for_a_missing_scheduler_and_resumes(
    tmp_path: Path,
) -> None:
    """A service pointed at a scheduler that is not (yet) there queues jobs and says why."""
    from tests.service_process import free_port

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    proc = ServiceProcess(tmp_path / "data", "--dask", address).start(timeout=60)
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as c:
            health = c.get("/health").json()
            assert health["status"] == "degraded" and health["connected"] is False
            device = c.get("/backends").json()["devices"][0]
            assert device["status"]["name"] == "paused"
            assert f"Dask scheduler {address} unreachable" in device["status"]["reason"]
            job_id = submit(c, backend="fake_lima", shots=20)
            assert c.get(f"/jobs/{job_id}").json()["status"] == "Queued"
            with (
                kept_environ(),
                distributed.LocalCluster(
                    n_workers=1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    scheduler_port=port,
                    dashboard_address=None,
                ),
            ):
                assert wait_status(c, job_id, timeout=120)["status"] == "Completed"
                assert c.get("/health").json()["status"] == "ok"
            wait_for(lambda: c.get("/health").json()["status"] == "degraded", "the loss seen")
            paused = c.get("/backends/fake_lima/status").json()
            assert paused["status"] == "paused" and "unreachable" in paused["message"]
    finally:
        proc.stop()


# --- the unchanged qiskit-ibm-runtime client, with --dask local:2 ----------------------------


@pytest.fixture(scope="module")
def local_cluster_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("dask-runtime")
    args = ("--latency-scale", "0.2", "--dask", "local:2")
    proc = ServiceProcess(data, *args, env={"QJOB_TUI_IAM_APIKEY": APIKEY}).start(timeout=90)
    yield proc
    proc.stop()


def test_sampler_v2_round_trip_on_a_local_cluster(
    local_cluster_service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from qiskit import QuantumCircuit
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

    monkeypatch.setenv("IAM_URL", local_cluster_service.root)
    monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    runtime = QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token=APIKEY,
        instance=CRN,
        url=f"{local_cluster_service.root}/experimental/api/v1",
    )
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    backend = runtime.backend("fake_lima")
    isa = generate_preset_pass_manager(optimization_level=1, backend=backend).run(circuit)
    job = SamplerV2(mode=backend).run([isa], shots=300)
    counts = job.result()[0].data.meas.get_counts()
    assert sum(counts.values()) == 300
    assert counts.get("00", 0) + counts.get("11", 0) > 240
    assert job.status() == "DONE"
    health = httpx.get(f"{local_cluster_service.url}/health", headers=_bearer(runtime)).json()
    assert health["engine"] == "dask" and len(health["workers"]) == 2


def _bearer(runtime: Any) -> dict[str, str]:
    token = httpx.post(
        f"{os.environ['IAM_URL']}/identity/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY},
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
