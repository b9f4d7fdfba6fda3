"""A relay that has not yet read a source's jobs, backends, a session or the usage says so: an
empty list would read as "no jobs" to a plain REST client, a lookup as "no such job", and a
404 made a viewer's dashboard drop the session for good."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.http_helpers import submit, wait_status
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess, free_port

JOB_ID = "d" + "0" * 19


def test_jobs_of_a_source_never_read_are_refused_until_they_are(tmp_path: Path) -> None:
    port = free_port()
    name = f"127.0.0.1-{port}"
    relay = RelayProcess(
        tmp_path / "relay", "--source", f"http://127.0.0.1:{port}", "--no-web"
    ).start()
    service: ServiceProcess | None = None
    try:
        api = f"{relay.root}/sources/{name}/api/v1"
        listed = httpx.get(f"{api}/jobs")
        assert listed.status_code == 503, listed.text
        error = listed.json()["errors"][0]
        assert error["code"] == "not_listed_yet"
        assert name in error["message"]
        assert listed.headers["retry-after"] == "1"
        for path in (f"/jobs/{JOB_ID}", f"/jobs/{JOB_ID}/metrics", "/backends", "/sessions/s1"):
            assert httpx.get(f"{api}{path}").status_code == 503, path
        usage = httpx.get(f"{api}/instances/usage")
        assert usage.status_code == 503 and usage.json()["errors"][0]["code"] == "not_read_yet"
        # A bad query is still the caller's fault, read or not.
        assert httpx.get(f"{api}/jobs", params={"offset": "many"}).status_code == 400

        service = ServiceProcess(tmp_path / "service", port=port).start()
        with httpx.Client(base_url=service.url, timeout=30) as upstream:
            opened = upstream.post("/sessions", json={"mode": "batch", "backend": "fake_cairo"})
            session_id = opened.json()["id"]
            job_id = submit(upstream, backend="fake_cairo", session_id=session_id)
            wait_status(upstream, job_id)
        deadline = time.monotonic() + 60
        while True:
            listed = httpx.get(f"{api}/jobs")
            if listed.status_code == 200 and job_id in [j["id"] for j in listed.json()["jobs"]]:
                break
            assert time.monotonic() < deadline, listed.text
            time.sleep(0.2)
        assert httpx.get(f"{api}/jobs/{job_id}").status_code == 200
        # Its session, read on the relay's slower clock: not yet read, then read; never gone.
        while (answer := httpx.get(f"{api}/sessions/{session_id}")).status_code != 200:
            assert answer.status_code == 503, answer.text
            assert answer.json()["errors"][0]["code"] == "not_read_yet"
            assert time.monotonic() < deadline + 60, answer.text
            time.sleep(0.2)
        assert answer.json()["id"] == session_id
        assert httpx.get(f"{api}/sessions/nope").status_code == 404
    finally:
        relay.stop()
        if service is not None:
            service.stop()
