"""The service's limits: request body size, list page size in bytes, per-job time and memory."""

from __future__ import annotations

import http.client as httplib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.service.db import Database, JobQuery, JobRow, now_iso
from tests.http_helpers import sampler_body, wait_status
from tests.service_process import ServiceProcess

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("limited")
    proc = ServiceProcess(data, "--latency-scale", "0", "--max-body", "64KiB").start()
    yield proc
    proc.stop()


@pytest.fixture
def client(limited: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.url, timeout=60) as http:
        yield http


def _padded(size: int) -> dict[str, object]:
    body = sampler_body()
    body["params"]["padding"] = "x" * size  # type: ignore[index]
    return body


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    response = client.post("/jobs", json=_padded(MAX_BODY))
    assert response.status_code == 413
    assert f"limit of {MAX_BODY} bytes" in response.json()["errors"][0]["message"]


def test_streamed_body_over_the_limit_is_413(client: httpx.Client) -> None:
    """Without a Content-Length (chunked), the limit holds as the bytes arrive."""
    raw = json.dumps(_padded(4 * MAX_BODY)).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 8192):
            yield raw[start : start + 8192]

    response = client.post("/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than this service's limit" in response.json()["errors"][0]["message"]


def test_body_under_the_limit_is_taken(client: httpx.Client) -> None:
    response = client.post("/jobs", json=_padded(MAX_BODY // 2))
    assert response.status_code == 200, response.text
    assert client.get("/jobs", params={"limit": 5}).status_code == 200


def test_declared_length_over_the_limit_is_refused_before_reading(limited: ServiceProcess) -> None:
    """A client that announces 100 MB gets its 413 without sending a byte of the body."""
    conn = httplib.HTTPConnection("127.0.0.1", limited.port, timeout=30)
    conn.putrequest("POST", "/api/v1/jobs")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(100 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("connection") == "close"
    conn.close()


def test_a_list_page_is_capped_in_bytes(tmp_path: Path) -> None:
    """Ten 1 MB jobs and a 3.5 MB budget: pages of three, and paging by offset reaches all."""
    db = Database(tmp_path / "jobs.sqlite3")
    rows = []
    for i in range(10):
        row = JobRow.new("sampler", "basic_simulator", json.dumps({"pad": "x" * 1_000_000}))
        row.id = f"dbig{i:016d}"
        row.status = "Completed"
        row.created = row.queued = row.finished = now_iso()
        rows.append(row)
    db.insert_many(rows)
    seen: list[str] = []
    offset = 0
    while offset < 10:
        page, count = db.list(
            JobQuery(limit=200, offset=offset), with_params=True, max_bytes=3_500_000
        )
        assert count == 10
        assert 1 <= len(page) <= 3
        assert all(len(job.params) > 1_000_000 for job in page)
        seen += [job.id for job in page]
        offset += len(page)
    assert sorted(seen) == sorted(row.id for row in rows)
    # One job bigger than the whole budget still makes a page of one, so paging moves on.
    page, _ = db.list(JobQuery(limit=200), with_params=True, max_bytes=10)
    assert len(page) == 1
    # Without params the budget counts only the entries themselves.
    page, _ = db.list(JobQuery(limit=200), with_params=False, max_bytes=3_500_000)
    assert len(page) == 10 and all(job.params == "" for job in page)
    db.close()


# --- per-job time and memory -----------------------------------------------------------------

JOB_MEMORY = 350 * 1024**2
RUNAWAY = "\n".join(
    [
        "OPENQASM 2.0;",
        'include "qelib1.inc";',
        "gate g0 a { x a; }",
        *(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, 40)),
        "qreg q[1];",
        "creg c[1];",
        "g39 q[0];",
        "measure q -> c;",
    ]
)


def _wide(qubits: int) -> str:
    gates = "".join(f"h q[{i}];\n" for i in range(qubits))
    return (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{qubits}];\ncreg c[{qubits}];\n'
        f"{gates}measure q -> c;\n"
    )


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One worker, so that a job stuck in it would hold up every job behind it."""
    data: Path = tmp_path_factory.mktemp("bounded")
    flags = ("--workers", "1", "--job-time", "20", "--job-time-limit", "60")
    proc = ServiceProcess(data, *flags, "--job-memory", str(JOB_MEMORY)).start()
    yield proc
    proc.stop()


@pytest.fixture
def jobs(bounded: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bounded.url, timeout=60) as http:
        yield http


def _submit(http: httpx.Client, **kwargs: object) -> str:
    response = http.post("/jobs", json=sampler_body(**kwargs))  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_cost_defaults_and_ceiling(jobs: httpx.Client) -> None:
    job_id = _submit(jobs)
    assert jobs.get(f"/jobs/{job_id}").json()["cost"] == 20
    job_id = _submit(jobs, cost=45)
    assert jobs.get(f"/jobs/{job_id}").json()["cost"] == 45
    for cost, words in ((61, "within 1..60 seconds"), (0, "within 1..60"), ("5", "whole number")):
        response = jobs.post("/jobs", json=sampler_body(cost=cost))
        assert response.status_code == 400
        assert words in response.json()["errors"][0]["message"]


def test_a_job_past_its_cost_is_cancelled_as_ran_too_long(jobs: httpx.Client) -> None:
    """fake_cairo spends 4 ms a shot: 5,000 shots take 20 s, far past a cost of 2 s."""
    slow = _submit(jobs, backend="fake_cairo", shots=5000, cost=2)
    behind = _submit(jobs, backend="fake_cairo", shots=10)
    job = wait_status(jobs, slow)
    assert job["status"] == "Cancelled"
    assert job["state"]["reason_code"] == 1305
    assert "maximum execution time of 2 s" in job["state"]["reason"]
    assert wait_status(jobs, behind)["status"] == "Completed"


def test_a_job_past_the_memory_limit_fails_and_the_queue_moves_on(jobs: httpx.Client) -> None:
    """24 qubits on BasicSimulator: a 256 MiB state vector and its copies, over 350 MiB."""
    big = _submit(jobs, circuit=_wide(24), shots=10)
    behind = _submit(jobs, shots=10)
    job = wait_status(jobs, big)
    assert job["status"] == "Failed"
    assert job["state"]["reason_code"] == 2001
    assert "ran out of memory" in job["state"]["reason"]
    assert "350 MiB" in job["state"]["reason"]
    assert wait_status(jobs, behind)["status"] == "Completed"


def test_the_runaway_program_fails_at_once_and_the_queue_moves_on(jobs: httpx.Client) -> None:
    """The issue's 2 KB program (gates that call the previous one twice, up to g39)."""
    runaway = _submit(jobs, circuit=RUNAWAY, shots=10)
    behind = _submit(jobs, shots=10)
    job = wait_status(jobs, runaway)
    assert job["status"] == "Failed"
    assert job["state"]["reason_code"] == 1507
    assert "expands to more than 1,000,000 operations" in job["state"]["reason"]
    assert wait_status(jobs, behind)["status"] == "Completed"
