"""A full disk under the service's data: submits get 507 in IBM's error body, GET /health says
degraded until space is back, and then ok when asked; every acknowledged job finishes, in its
order, without a restart. The disk is a real 2 MiB tmpfs (the test needs root to mount it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_helpers import sampler_body, wait_status
from tests.service_process import ServiceProcess

# A comment makes each submit big enough to fill the disk in a few steps.
PADDED = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    f"// {'x' * 24_000}\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"a tmpfs could not be mounted here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> Path:
    """A file that takes all but ``leave`` bytes of the disk."""
    filler = mount / "filler"
    free = shutil.disk_usage(mount).free
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave, 0))
    return filler


def test_a_full_disk_refuses_submits_and_loses_no_acknowledged_job(
    small_disk: Path, tmp_path: Path
) -> None:
    service = ServiceProcess(small_disk / "data")
    service.log = tmp_path / "service.log"  # the log must not fill the disk under test
    service.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            filler = _fill(small_disk, leave=160_000)
            acknowledged: list[str] = []
            refused: httpx.Response | None = None
            for _ in range(200):
                response = http.post("/jobs", json=sampler_body(circuit=PADDED, shots=50))
                if response.status_code != 200:
                    refused = response
                    break
                acknowledged.append(response.json()["id"])
            assert refused is not None, "the disk never filled"
            assert refused.status_code == 507, refused.text
            message = refused.json()["errors"][0]["message"]
            assert "the service's disk is full" in message and "bytes free in" in message
            health = http.get("/health").json()
            assert health["status"] == "degraded" and "disk is full" in health["reason"]
            again = http.post("/jobs", json=sampler_body(circuit=PADDED, shots=50))
            assert again.status_code == 507
            assert acknowledged, "no job was acknowledged before the disk filled"

            filler.unlink()  # space is back: no restart
            jobs = [wait_status(http, job_id, timeout=120) for job_id in acknowledged]
            assert [job["status"] for job in jobs] == ["Completed"] * len(jobs)
            started = [
                http.get(f"/jobs/{job_id}/metrics").json()["timestamps"]["running"]
                for job_id in acknowledged
            ]
            assert started == sorted(started), "a job overtook one acknowledged before it"
            assert http.get("/health").json()["status"] == "ok"
            after = http.post("/jobs", json=sampler_body(shots=10))
            assert after.status_code == 200
            assert wait_status(http, after.json()["id"])["status"] == "Completed"
    finally:
        service.stop()


def test_health_tells_the_disks_truth_when_asked(small_disk: Path, tmp_path: Path) -> None:
    """Degraded while the disk is full, and ok as soon as space is back, asked with no job
    write in between: nothing else would clear it (no job change waits to be written)."""
    service = ServiceProcess(small_disk / "data")
    service.log = tmp_path / "service.log"
    service.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            filler = _fill(small_disk, leave=0)
            refused = http.post("/jobs", json=sampler_body(circuit=PADDED, shots=50))
            assert refused.status_code == 507, refused.text  # a client's write: not retried
            for _ in range(3):  # asked again while the disk is still full: still degraded
                health = http.get("/health").json()
                assert health["status"] == "degraded" and "disk is full" in health["reason"]
            filler.unlink()  # space is back
            assert http.get("/health").json() == {"status": "ok", "engine": "processes"}
            assert http.get("/jobs", params={"limit": 1}).json()["count"] == 0  # nothing written
    finally:
        service.stop()
