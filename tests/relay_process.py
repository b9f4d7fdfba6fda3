"""Start ``qjob-tui relay`` on a free loopback port for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.service_process import free_port


class RelayProcess:
    """One ``qjob-tui relay`` process over the given sources."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.args = args
        self.port = free_port()
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"relay-{self.port}.log"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> RelayProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "qjob_tui", "relay", "--port", str(self.port)]
        command += [*self.args]
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_DATA_HOME": str(self.home / "data"),
            **self.env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        headers = {}
        token = self.env.get("QJOB_TUI_RELAY_TOKEN") or self.env.get(
            "QJOB_TUI_RELAY_OPERATOR_TOKEN"
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"relay exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.root}/sources", headers=headers, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"relay did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
