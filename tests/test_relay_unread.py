"""A relay that has not yet read a source's jobs says so: an empty list would read as "no
jobs" to a plain REST client, and a lookup as "no such job"."""

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
        for path in (f"/jobs/{JOB_ID}", f"/jobs/{JOB_ID}/metrics"):
            assert httpx.get(f"{api}{path}").status_code == 503, path
        # A bad query is still the caller's fault, read or not.
        assert httpx.get(f"{api}/jobs", params={"offset": "many"}).status_code == 400

        service = ServiceProcess(tmp_path / "service", port=port).start()
        with httpx.Client(base_url=service.url, timeout=30) as upstream:
            job_id = submit(upstream)
            wait_status(upstream, job_id)
        deadline = time.monotonic() + 60
        while True:
            listed = httpx.get(f"{api}/jobs")
            if listed.status_code == 200 and job_id in [j["id"] for j in listed.json()["jobs"]]:
                break
            assert time.monotonic() < deadline, listed.text
            time.sleep(0.2)
        assert httpx.get(f"{api}/jobs/{job_id}").status_code == 200
    finally:
        relay.stop()
        if service is not None:
            service.stop()
