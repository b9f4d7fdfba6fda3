"""Hostile input against the real service: each case of issue 11 is a 4xx naming the rule.

Every request here goes over one keep-alive connection (``http.client``), and each test checks
that the connection is still the same socket afterwards: an error costs one request, never the
connection.
"""

from __future__ import annotations

import asyncio
import http.client as httplib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.service.db import Database, JobRow, now_iso
from qjob_tui.service.middleware import ErrorBoundary
from tests.http_helpers import BELL, sampler_body
from tests.service_process import ServiceProcess


class KeepAlive:
    """One persistent HTTP/1.1 connection to the service."""

    def __init__(self, service: ServiceProcess) -> None:
        self.conn = httplib.HTTPConnection("127.0.0.1", service.port, timeout=60)
        self.conn.connect()
        self.sock = self.conn.sock

    def request(
        self, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, dict[str, Any] | None, str]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, f"/api/v1{path}", body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        assert response.getheader("connection") != "close", (method, path, raw[:200])
        assert self.conn.sock is self.sock, "the service closed the keep-alive connection"
        payload = json.loads(raw) if raw and raw[:1] in (b"{", b"[") else None
        return response.status, payload, raw.decode("utf-8", "replace")

    def refused(self, method: str, path: str, body: bytes | None = None) -> str:
        """The error message of a request that must be a 4xx in IBM's error shape."""
        status, payload, raw = self.request(method, path, body)
        assert 400 <= status < 500, (status, raw[:300])
        assert payload is not None and "trace" in payload, raw[:300]
        return str(payload["errors"][0]["message"])


@pytest.fixture
def keep(service: ServiceProcess) -> Iterator[KeepAlive]:
    client = KeepAlive(service)
    yield client
    # The service still answers on the same connection after every refusal.
    status, payload, _ = client.request("GET", "/jobs?limit=5")
    assert status == 200 and payload is not None and "jobs" in payload
    client.conn.close()


def _submit_text(text: str) -> bytes:
    return (
        '{"program_id": "sampler", "backend": "basic_simulator", "params": ' + text + "}"
    ).encode()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ('{"pubs": [["Q", null, 10]], "x": NaN}', "params.x is nan"),
        ('{"pubs": [["Q", null, 10]], "x": Infinity}', "params.x is inf"),
        ('{"pubs": [["Q", null, 10]], "x": [-Infinity]}', "params.x[0] is -inf"),
        ('{"pubs": [["Q", null, 10]], "x": 1e999}', "numbers must be finite"),
        ('{"pubs": [["Q", null, 10]], "shots": ' + str(2**70) + "}", "params.shots is out of"),
        ('{"pubs": [["Q", null, 10]], "shots": ' + "9" * 4000 + "}", "out of range (4000 digits)"),
        ('{"pubs": [["Q", null, ' + str(2**63) + "]]}", "params.pubs[0][2] is out of range"),
    ],
)
def test_bad_numbers_are_400(keep: KeepAlive, params: str, words: str) -> None:
    assert words in keep.refused("POST", "/jobs", _submit_text(params))


def test_deep_nesting_is_400(keep: KeepAlive) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    message = keep.refused("POST", "/jobs", _submit_text('{"pubs": ' + deep + "}"))
    assert "deeper than 64 levels" in message
    shallow_but_too_deep = "[" * 70 + "]" * 70
    message = keep.refused("POST", "/jobs", _submit_text('{"pubs": ' + shallow_but_too_deep + "}"))
    assert "params.pubs" in message and "deeper than 64" in message


def test_lone_surrogate_is_400(keep: KeepAlive) -> None:
    body = json.dumps(sampler_body(name="\ud800")).encode()
    assert "not valid Unicode" in keep.refused("POST", "/jobs", body)


def test_offset_beyond_64_bits_is_400(keep: KeepAlive) -> None:
    assert "offset must be within" in keep.refused("GET", "/jobs?offset=9223372036854775808")
    # A number too long for int() to read is still a number, out of range.
    assert "offset must be within" in keep.refused("GET", "/jobs?offset=" + "9" * 5000)
    assert "offset must be an integer" in keep.refused("GET", "/jobs?offset=%C2%B2")  # '²'


def test_too_many_tag_filters_is_400(keep: KeepAlive) -> None:
    query = "&".join(f"tags=t{i}" for i in range(2000))
    assert "at most 8 different tags" in keep.refused("GET", f"/jobs?{query}")


def test_long_filters_are_400(keep: KeepAlive) -> None:
    assert "backend can be at most 100" in keep.refused("GET", "/jobs?backend=" + "b" * 101)
    assert "program can be at most 63" in keep.refused("GET", "/jobs?program=" + "p" * 64)


def test_unknown_and_mistyped_fields_are_400(keep: KeepAlive) -> None:
    body = json.dumps({**sampler_body(), "tag": ["x"]}).encode()
    assert "unknown field 'tag'" in keep.refused("POST", "/jobs", body)
    body = json.dumps({**sampler_body(), "private": "yes"}).encode()
    assert "private must be a boolean" in keep.refused("POST", "/jobs", body)
    body = json.dumps({**sampler_body(), "session_id": 5}).encode()
    assert "session_id must be a string" in keep.refused("POST", "/jobs", body)


@pytest.mark.parametrize(
    "tag",
    ["nul\x00", "esc\x1b[31m", "osc52\x1b]52;c;aGk=\x07", "bel\x07", "c1\x9b31m", "del\x7f"],
)
def test_tags_with_control_characters_are_400(keep: KeepAlive, tag: str) -> None:
    body = json.dumps(sampler_body(tags=[tag])).encode()
    assert "control characters" in keep.refused("POST", "/jobs", body)
    status, payload, _ = keep.request("POST", "/jobs", json.dumps(sampler_body()).encode())
    assert status == 200 and payload is not None
    body = json.dumps({"tags": ["ok", tag]}).encode()
    assert "control characters" in keep.refused("PUT", f"/jobs/{payload['id']}/tags", body)


def test_stored_non_finite_params_never_break_a_list(
    keep: KeepAlive, service: ServiceProcess
) -> None:
    """A job stored before these checks, holding NaN, Infinity and deep nesting, still lists."""
    db = Database(service.data / "jobs.sqlite3")
    row = JobRow.new("sampler", "basic_simulator", '{"x": NaN, "y": [1e999], "pubs": []}')
    row.id = "dstorednan0000000001"
    row.status = "Completed"
    row.created = row.queued = row.finished = now_iso()
    deep = JobRow.new("sampler", "basic_simulator", '{"d": ' + "[" * 5000 + "]" * 5000 + "}")
    deep.id = "dstoreddeep000000001"
    deep.status = "Completed"
    deep.created = deep.queued = deep.finished = now_iso()
    db.insert_many([row, deep])
    db.close()
    status, page, raw = keep.request("GET", "/jobs?limit=200&exclude_params=false")
    assert status == 200, raw[:300]
    assert page is not None
    stored = {job["id"]: job for job in page["jobs"]}
    assert stored[row.id]["params"] == {"x": None, "y": [None], "pubs": []}
    assert stored[deep.id]["params"] is None
    status, job, _ = keep.request("GET", f"/jobs/{row.id}")
    assert status == 200 and job is not None and job["params"]["x"] is None


def test_valid_submit_still_runs(keep: KeepAlive) -> None:
    body = json.dumps(sampler_body(circuit=BELL, shots=10, tags=["fine"], cost=60)).encode()
    status, payload, raw = keep.request("POST", "/jobs", body)
    assert status == 200 and payload is not None and payload["id"], raw


def test_error_boundary_answers_500_and_swallows_the_exception() -> None:
    """An unexpected error is a 500 in IBM's shape, and nothing reaches uvicorn to close on."""

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "keep.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    asyncio.run(ErrorBoundary(broken, Path())(scope, receive, send))
    assert sent[0]["status"] == 500
    assert b"internal error" in sent[1]["body"]
    assert b"boom" not in sent[1]["body"]


def test_corrupt_stored_columns_never_break_a_list(
    keep: KeepAlive, service: ServiceProcess
) -> None:
    """Tags and details that are not JSON (another writer, a bad disk) still list."""
    db = Database(service.data / "jobs.sqlite3")
    row = JobRow.new("sampler", "basic_simulator", "{}", tags=["kept"])
    row.id = "dcorruptcolumns00001"
    row.status = "Completed"
    row.created = row.queued = row.finished = now_iso()
    db.insert(row)
    with db._writer() as conn:
        conn.execute(
            "UPDATE jobs SET tags = '[', details = 'not json', name = CAST(X'FF00' AS TEXT)"
            " WHERE id = ?",
            (row.id,),
        )
    db.close()
    status, page, raw = keep.request("GET", "/jobs?limit=200&pending=false")
    assert status == 200, raw[:300]
    assert page is not None
    found = [job for job in page["jobs"] if job["id"] == row.id]
    assert found and found[0]["tags"] == []
