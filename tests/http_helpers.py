"""Small helpers for tests that talk HTTP to the local service."""

from __future__ import annotations

import time
from typing import Any

import httpx

FINAL = ("Completed", "Cancelled", "Failed")

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


def sampler_body(
    backend: str = "basic_simulator", circuit: str = BELL, shots: int = 100, **extra: Any
) -> dict[str, Any]:
    return {
        "program_id": "sampler",
        "backend": backend,
        "params": {"pubs": [[circuit, None, shots]], "version": 2},
        **extra,
    }


def submit(client: httpx.Client, **kwargs: Any) -> str:
    response = client.post("/jobs", json=sampler_body(**kwargs))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def wait_status(
    client: httpx.Client, job_id: str, statuses: tuple[str, ...] = FINAL, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.05)
