"""The local job service started in the background for the dashboard, and stopped with it.

The service is a separate program, so it runs as a child process (``qjob-tui serve``) on a free
loopback port; the dashboard talks to it over HTTP like to any other source, through ``api/``.
If a service already answers at the configured URL, that one is used instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qjob_tui.api.probe import answers
from qjob_tui.service.datalock import read_note


class EmbeddedError(RuntimeError):
    """The background service could not be started; the message says why."""


class EmbeddedService:
    """A ``qjob-tui serve`` child process on a free loopback port of its choosing."""

    def __init__(
        self, data_dir: Path | None, *, demo: bool = False, log: Path | None = None
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="qjob-tui-demo-")
            data_dir = Path(self._tmp.name)
        self.data_dir = data_dir
        self.demo = demo
        self.url = ""  # known once the child has bound its port (see ``start``)
        self.log = log or data_dir / "service.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> EmbeddedService:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Port 0: the child binds a free port itself (no race with other programs picking
        # one) and writes the URL into the data folder's service note, read below.
        command = [sys.executable, "-m", "qjob_tui", "serve", "--port", "0"]
        command += ["--data", str(self.data_dir), "--log-level", "warning"]
        if self.demo:
            command.append("--demo")
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl+C in the dashboard is not the service's
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-400:].strip()
                raise EmbeddedError(f"the local service exited: {tail or 'no output'}")
            note = read_note(self.data_dir)
            if note and note.get("pid") == self._proc.pid:
                self.url = str(note["url"])
                if answers(self.url):
                    return self
            time.sleep(0.1)
        self.stop()
        raise EmbeddedError(f"the local service did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def abandon(self) -> None:
        """Ask the service to stop without waiting: the last act of a process about to end."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGINT)

    def __enter__(self) -> EmbeddedService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
