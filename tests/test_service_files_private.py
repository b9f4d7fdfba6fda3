"""The service's data (circuits, results, logs) is its user's alone: what it creates is
readable by no other user, whatever the umask it was started with (it was 755 and 644)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess


def test_what_the_service_creates_no_one_else_can_read(tmp_path: Path) -> None:
    data = tmp_path / "data"  # the harness makes it (its log is there); the rest is the service's
    old = os.umask(0o022)  # the usual umask, inherited by the service
    try:
        proc = ServiceProcess(data, "--latency-scale", "0").start()
    finally:
        os.umask(old)
    try:
        with httpx.Client(base_url=proc.url) as http:
            wait_status(http, submit(http))
        made = [p for p in data.rglob("*") if not p.name.startswith("service-")]
        assert any(p.name == "jobs.sqlite3" for p in made)
        for path in made:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, (path, oct(mode))
    finally:
        proc.stop()
