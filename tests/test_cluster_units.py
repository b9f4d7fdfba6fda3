"""Pure parts of the Dask engine: ``--dask`` addresses and the cluster's status line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qjob_tui.service.cluster.address import ClusterAddress, parse_cluster_address
from qjob_tui.service.cluster.status import (
    ClusterStatus,
    WorkerLoad,
    annotate_backend_status,
    annotate_device,
)


def test_addresses_that_name_a_scheduler_or_a_local_cluster() -> None:
    assert parse_cluster_address("tcp://10.0.0.5:8786") == ClusterAddress("tcp://10.0.0.5:8786")
    assert parse_cluster_address("tcp://[::1]:8786").scheduler == "tcp://[::1]:8786"
    assert parse_cluster_address(" local:4 ") == ClusterAddress(local_workers=4)
    assert str(parse_cluster_address("local:2")) == "local:2"


@pytest.mark.parametrize(
    "text", ["local:0", "local:x", "local:", "10.0.0.5:8786", "tcp://host", "tcp://h:99999", ""]
)
def test_bad_addresses_say_what_would_do(text: str) -> None:
    with pytest.raises(ValueError, match="local:N"):
        parse_cluster_address(text)


def test_serve_with_a_bad_address_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--data", str(tmp_path), "--dask", "x:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--dask takes tcp://HOST:PORT of a Dask scheduler or local:N" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_of_a_connected_cluster_in_the_backends_answers() -> None:
    status = ClusterStatus(
        address="tcp://10.0.0.5:8786",
        connected=True,
        workers=(
            WorkerLoad("tcp://10.0.0.6:1", "d1", cpu_percent=80.0, memory_bytes=2 * 2**30),
            WorkerLoad("tcp://10.0.0.7:1", None, cpu_percent=20.0, memory_bytes=2**29),
        ),
    )
    assert status.summary == (
        "Dask tcp://10.0.0.5:8786: 2 workers, 1 busy, cpu 50%, memory 2.5 GiB"
    )
    device = annotate_device({"name": "fake_lima", "status": {"name": "online"}}, status)
    assert device == {"name": "fake_lima", "status": {"name": "online", "reason": status.summary}}
    body = annotate_backend_status({"state": True, "status": "active", "message": ""}, status)
    assert body["status"] == "active" and body["message"] == status.summary


def test_an_unreachable_scheduler_pauses_the_backends() -> None:
    since = datetime(2026, 12, 1, 23, 5, 9, tzinfo=UTC)
    status = ClusterStatus("tcp://10.0.0.5:8786", connected=False, unreachable_since=since)
    assert status.summary == (
        "Dask scheduler tcp://10.0.0.5:8786 unreachable since 23:05:09 UTC; jobs wait in the queue"
    )
    assert annotate_device({"status": {"name": "online"}}, status)["status"]["name"] == "paused"
    assert annotate_backend_status({"status": "active"}, status)["status"] == "paused"
    assert status.as_json()["connected"] is False
