"""The service keeps everything across restarts, and recovers from a kill -9."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess


def test_restart_keeps_jobs_tags_results_and_timestamps(tmp_path: Path) -> None:
    proc = ServiceProcess(tmp_path, "--latency-scale", "0").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            job_id = submit(client, tags=["keep"], name="kept")
            before = wait_status(client, job_id)
            metrics = client.get(f"/jobs/{job_id}/metrics").json()
            result = client.get(f"/jobs/{job_id}/results").text
    finally:
        proc.stop()
    proc = ServiceProcess(tmp_path, "--latency-scale", "0", port=proc.port).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            after = client.get(f"/jobs/{job_id}").json()
            assert after == before
            assert after["tags"] == ["keep"] and after["name"] == "kept"
            assert (
                client.get(f"/jobs/{job_id}/metrics").json()["timestamps"] == metrics["timestamps"]
            )
            assert client.get(f"/jobs/{job_id}/results").text == result
            assert client.get("/jobs", params={"tags": "keep"}).json()["count"] == 1
    finally:
        proc.stop()


def test_kill_9_while_running_requeues_and_finishes_the_job(tmp_path: Path) -> None:
    proc = ServiceProcess(tmp_path).start()
    with httpx.Client(base_url=proc.url, timeout=30) as client:
        # fake_cairo takes 4 ms a shot: 2,500 shots run for 10 s.
        running = submit(client, backend="fake_cairo", shots=2_500, tags=["crash"])
        queued = submit(client, backend="fake_cairo", shots=10)
        wait_status(client, running, ("Running",))
    proc.crash()
    proc = ServiceProcess(tmp_path, "--latency-scale", "0", port=proc.port).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            first = wait_status(client, running)
            second = wait_status(client, queued)
            assert first["status"] == second["status"] == "Completed"
            assert first["tags"] == ["crash"]
            log = client.get(f"/jobs/{running}/logs").text
            assert "re-queued: the service stopped while this job was running" in log
            stamps = client.get(f"/jobs/{running}/metrics").json()["timestamps"]
            assert (
                stamps["finished"]
                <= client.get(f"/jobs/{queued}/metrics").json()["timestamps"]["running"]
            )
    finally:
        proc.stop()
