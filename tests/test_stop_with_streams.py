"""A normal stop (Ctrl+C) of the service or the relay while a dashboard holds its push stream
open is quiet: the server ends its open streams itself, so uvicorn finds no request to cancel,
logs no ERROR and no traceback, and the process exits 0."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx

from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess


def _stop_while_streaming(proc: subprocess.Popen[bytes], stream_url: str) -> int:
    """Open the stream, see its first event, Ctrl+C the server; its exit code."""
    with (
        httpx.Client(timeout=httpx.Timeout(60.0)) as client,
        client.stream("GET", stream_url) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: hello"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        # The server ended the stream itself: what is left of it reads to its end.
        for _ in lines:
            pass
    return code


def _quiet(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert " ERROR " not in text, text
    assert "Traceback" not in text, text


def test_the_service_stops_quietly_with_a_stream_open(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "data").start()
    try:
        assert service.proc is not None
        assert _stop_while_streaming(service.proc, f"{service.url}/stream") == 0
    finally:
        service.stop()
    _quiet(service.log)


def test_the_relay_stops_quietly_with_a_stream_open(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "data").start()
    try:
        relay = RelayProcess(tmp_path / "relay", "--source", service.root).start()
        try:
            assert relay.proc is not None
            (name,) = [s["name"] for s in httpx.get(f"{relay.root}/sources").json()["sources"]]
            stream = f"{relay.root}/sources/{name}/api/v1/stream"
            assert _stop_while_streaming(relay.proc, stream) == 0
        finally:
            relay.stop()
    finally:
        service.stop()
    _quiet(relay.log)
