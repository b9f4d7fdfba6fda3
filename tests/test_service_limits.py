"""The service's limits: request body size, list page size in bytes, per-job time and memory."""

from __future__ import annotations

import http.client as httplib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.service.db import Database, JobQuery, JobRow, now_iso
from tests.http_helpers import sampler_body
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
