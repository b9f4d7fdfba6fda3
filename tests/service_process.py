"""Start the real local service (``qjob-tui serve``) on a free loopback port for tests."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The line ``qjob-tui serve`` prints once its socket is bound.
_LISTENING = re.compile(rb"qjob-tui service: http://127\.0\.0\.1:(\d+)/api/v1")
_instances = itertools.count()


class ServiceProcess:
    """One ``qjob-tui serve`` process with its own data directory.

    Without a ``port`` the service binds port 0 and the test reads the port the system chose
    from the service's first line: no window in which another test process (pytest-xdist runs
    two) could take a port picked in advance. A given ``port`` (a restart on the same address)
    is used as it is.
    """

    def __init__(
        self,
        data: Path,
        *args: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data = data
        self.args = args
        self.env = env or {}  # secrets go here: ``serve`` refuses them as arguments
        self.port = port or 0  # known once started, when the system chooses it
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data / f"service-{os.getpid()}-{next(_instances)}.log"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/api/v1"

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "qjob_tui", "serve", "--port", str(self.port)]
        # No worker started ahead of the first job (``--warm-workers``): most tests' services
        # run few jobs or none, and the suite would pay a Qiskit import for each; a test may
        # ask for warm workers in ``args``, which come later and win.
        command += ["--data", str(self.data), "--log-level", "info", "--warm-workers", "0"]
        command += list(self.args)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited: {self.log.read_text()[-2000:]}")
            if not self.port:
                said = _LISTENING.search(self.log.read_bytes())
                if said is None:
                    time.sleep(0.05)
                    continue
                self.port = int(said.group(1))
            try:
                response = httpx.get(f"{self.url}/backends", timeout=1.0)
                if response.status_code in (200, 401):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"service did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def crash(self) -> None:
        """kill -9 the service and its worker processes, as a power cut would."""
        assert self.proc is not None
        subprocess.run(["pkill", "-9", "-P", str(self.proc.pid)], check=False)
        self.proc.kill()
        self.proc.wait()
        self.proc = None


def fill_finished(data: Path, count: int, *, tag_every: int = 50) -> None:
    """Store ``count`` completed jobs straight into a service's database, before it starts.

    Submitting them through HTTP would take minutes; a long-lived service simply has them.
    """
    import json
    from datetime import UTC, datetime, timedelta

    from qjob_tui.service.db import Database, JobRow, iso

    db = Database(data / "jobs.sqlite3")
    params = json.dumps({"pubs": [["OPENQASM 2.0;", None, 100]], "version": 2})
    start = datetime.now(UTC) - timedelta(seconds=count + 60)
    rows = []
    for i in range(count):
        at = iso(start + timedelta(seconds=i))
        row = JobRow.new(
            "sampler", "basic_simulator", params, shots=100, tags=[f"t{i % tag_every}"]
        )
        row.id = f"old{i:017d}"
        row.status = "Completed"
        row.created = row.queued = row.running = row.finished = at
        rows.append(row)
    db.insert_many(rows)
    db.close()
