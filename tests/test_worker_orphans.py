"""A worker ends with its service: killed with SIGKILL (or by the system for memory), the
service left its worker to run its job on, and once restarted ran the same job again beside it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.http_helpers import sampler_body, wait_status
from tests.security.test_service_circuits import _descendants
from tests.service_process import ServiceProcess


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its reaper has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_services_worker_ends_with_it(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "data").start()
    workers: list[int] = []
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            body = sampler_body("fake_cairo", shots=100_000)  # minutes of the device's time
            job_id = http.post("/jobs", json=body).json()["id"]
            wait_status(http, job_id, ("Running",))
        assert service.proc is not None
        workers = [pid for pid in _descendants(service.proc.pid) if _alive(pid)]
        assert workers
        service.proc.kill()  # the service alone, as the system's memory killer would
        service.proc.wait()
        deadline = time.monotonic() + 30
        while alive := [pid for pid in workers if _alive(pid)]:
            assert time.monotonic() < deadline, f"workers {alive} outlived their service"
            time.sleep(0.1)
    finally:
        service.proc = None
        for pid in workers:  # never left behind, whatever failed
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
