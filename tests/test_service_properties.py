"""Property-based tests: generated bodies and query strings against every endpoint of the service.

Whatever arrives, the answer is never a 5xx, the keep-alive connection survives (except after a
413, which says ``Connection: close``), and the service still answers and lists afterwards.
The example budgets are fixed and derandomized, so the module takes well under a minute.
"""

from __future__ import annotations

import http.client as httplib
import json
import select
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http_helpers import BELL
from tests.service_process import ServiceProcess

BUDGET = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JOB_PATHS = ("", "/metrics", "/results", "/logs", "/cancel", "/tags")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
QUERY_KEYS = (
    "limit",
    "offset",
    "pending",
    "backend",
    "program",
    "tags",
    "session_id",
    "created_after",
    "created_before",
    "sort",
    "exclude_params",
)
# Numbers and strings that broke the service before issue 11, mixed into the generated ones.
NASTY_TEXT = (
    "9223372036854775808",
    "-9223372036854775809",
    "9" * 5000,
    "NaN",
    "Infinity",
    "1e999",
    "\x00",
    "\x1b]52;c;aGk=\x07",
    "\u202e",
    "2026-13-45T99:99:99Z",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
)
NASTY_RAW = (
    b"NaN",
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"name": "\\ud800"}',
    b'{"tags": ["\\udfff"]}',
    b'{"program_id": "sampler", "backend": "basic_simulator", "params": {"pubs": [["\\ud800"]]}}',
    b"\xff\xfe\xfd",
    b'{"a": 1e99999}',
    b'{"params": {"x": -Infinity}}',
    b"{" * 5000,
    b"",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(NASTY_TEXT),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=25,
)
texts = st.text(max_size=40) | st.sampled_from(NASTY_TEXT)
submit_bodies = st.fixed_dictionaries(
    {},
    optional={
        "program_id": st.sampled_from(["sampler", "random-extractor", "estimator"]) | texts,
        "backend": st.sampled_from(["basic_simulator", "aer_simulator", "fake_lima"]) | texts,
        "params": st.fixed_dictionaries(
            {},
            optional={
                "pubs": st.lists(
                    st.tuples(st.just(BELL) | texts, st.none() | json_values, json_values).map(
                        list
                    ),
                    max_size=3,
                )
                | json_values,
                "shots": json_values,
                "version": json_values,
                "options": json_values,
                "raw_job": texts,
            },
        )
        | json_values,
        "tags": st.lists(texts, max_size=10) | json_values,
        "name": texts | json_values,
        "cost": json_values,
        "private": json_values,
        "session_id": json_values,
        "unknown": json_values,
    },
)


class Connection:
    """One keep-alive connection; reopened only after a response that announced ``close``."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.conn = httplib.HTTPConnection("127.0.0.1", service.port, timeout=60)
        self.job_id = ""  # a job of the service's own, for the job endpoints

    def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            return self._send(method, path, body)
        except BaseException:
            self.conn.close()  # so that the next example starts clean and shows its own error
            raise

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        if self.conn.sock is not None and _closed_while_idle(self.conn.sock):
            self.conn.close()  # uvicorn closes connections idle for 5 s: not an error's doing
        if self.conn.sock is None:
            self.conn.connect()
        sock = self.conn.sock
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, f"/api/v1{path}", body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        assert response.status < 500, (method, path[:200], response.status, raw[:300])
        if response.getheader("connection") == "close":
            assert response.status == 413, (method, path[:200], response.status)
            self.conn.close()
        else:
            assert self.conn.sock is sock, f"connection closed after {method} {path[:200]}"
        if response.status >= 400 and raw:
            error = json.loads(raw)
            assert error["errors"][0]["message"], raw[:300]
        return response.status, raw


def _closed_while_idle(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""


@pytest.fixture
def connection(service: ServiceProcess) -> Iterator[Connection]:
    conn = Connection(service)
    status, raw = conn.send("POST", "/jobs", json.dumps(_bell()).encode())
    assert status == 200, raw
    conn.job_id = json.loads(raw)["id"]
    yield conn
    # Afterwards the service still answers, and every list, with params or not, renders.
    for query in ("?limit=200", "?limit=200&exclude_params=false", "?pending=true"):
        status, raw = conn.send("GET", f"/jobs{query}")
        assert status == 200 and "jobs" in json.loads(raw)
    status, raw = conn.send("GET", f"/jobs/{conn.job_id}")
    assert status == 200
    conn.conn.close()


def _bell() -> dict[str, Any]:
    return {
        "program_id": "sampler",
        "backend": "basic_simulator",
        "params": {"pubs": [[BELL, None, 10]], "version": 2},
    }


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # Python writes NaN and Infinity, as hostile clients do


@BUDGET
@given(body=submit_bodies)
def test_submit_with_generated_bodies(connection: Connection, body: dict[str, Any]) -> None:
    connection.send("POST", "/jobs", _encode(body))


@settings(BUDGET, max_examples=40)
@given(raw=st.sampled_from(NASTY_RAW) | st.binary(max_size=200))
def test_raw_bodies_on_every_body_endpoint(connection: Connection, raw: bytes) -> None:
    job = connection.job_id
    for method, path in (
        ("POST", "/jobs"),
        ("PUT", f"/jobs/{job}/tags"),
        ("PATCH", f"/jobs/{job}"),
    ):
        connection.send(method, path, raw)


@BUDGET
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=8), texts | st.integers()),
        max_size=8,
    )
)
def test_list_with_generated_query_strings(
    connection: Connection, pairs: list[tuple[str, object]]
) -> None:
    query = "&".join(f"{quote(key)}={quote(str(value))}" for key, value in pairs)
    connection.send("GET", f"/jobs?{query}")


@settings(BUDGET, max_examples=80)
@given(
    method=st.sampled_from(METHODS),
    job=st.sampled_from(["<own>"]) | texts,
    tail=st.sampled_from(JOB_PATHS),
    body=st.none() | json_values | st.fixed_dictionaries({"tags": json_values, "name": texts}),
    query=texts,
)
def test_job_endpoints_with_generated_input(
    connection: Connection, method: str, job: str, tail: str, body: Any, query: str
) -> None:
    job_id = connection.job_id if job == "<own>" else quote(job, safe="")
    if not job_id or (method == "DELETE" and job == "<own>"):
        return  # /jobs/ is another route; keep the fixture's own job for the checks after
    raw = None if body is None else _encode(body)
    connection.send(method, f"/jobs/{job_id}{tail}?exclude_params={quote(query)}", raw)


@settings(BUDGET, max_examples=30)
@given(
    name=st.sampled_from(["basic_simulator", "fake_lima"]) | texts,
    tail=st.sampled_from(["/status", "/configuration", "/properties", ""]),
)
def test_backend_endpoints_with_generated_names(
    connection: Connection, name: str, tail: str
) -> None:
    connection.send("GET", "/backends")
    connection.send("GET", f"/backends/{quote(name, safe='')}{tail}")
    connection.send("GET", "/instances/usage")
