"""Plain ``qjob-tui`` with no service running: a background service shared, not owned.

The first dashboard starts it; the commands find it (the hint on the empty list works as shown);
a second dashboard uses the same one; quitting the first leaves it to the second; and it stops by
itself once the last dashboard is gone, even one that crashed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.ui.empty_hint import SAMPLE_CIRCUIT
from tests.http_helpers import BELL

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    env.update(XDG_STATE_HOME=str(home / "state"), TERM="xterm-256color")
    env["PYTHONPATH"] = str(ROOT)
    return env


class Dashboard:
    """``qjob-tui`` on a pseudo-terminal of its own; what it draws is read as it comes."""

    def __init__(self, home: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qjob_tui"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            cwd=home,
            env=_env(home),
        )
        os.close(slave)
        self.master = master
        self.written = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready = select.select([self.master], [], [], 0.2)[0]
                chunk = os.read(self.master, 65536) if ready else b""
            except OSError:
                return
            if ready and not chunk:
                return
            self.written += chunk

    def wait_for(self, what: bytes, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while what not in self.written:
            assert self.proc.poll() is None, self.written[-2000:]
            assert time.monotonic() < deadline, self.written[-2000:]
            time.sleep(0.1)

    def quit(self) -> int:
        os.write(self.master, b"q")
        return self.proc.wait(timeout=60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)
        self._reader.join(timeout=5)


def _note(home: Path) -> dict[str, object] | None:
    try:
        return dict(json.loads((home / "data" / "qjob-tui" / "service.json").read_text()))
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    note = _note(tmp_path)  # never leave the background service behind, whatever failed
    if note and isinstance(note.get("pid"), int) and _alive(int(note["pid"])):  # type: ignore[arg-type]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(note["pid"]), signal.SIGKILL)  # type: ignore[arg-type]


def _qjob(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(home),
        cwd=home,
        stdin=subprocess.DEVNULL,
    )


def test_the_background_service_is_shared_and_ends_with_its_last_user(home: Path) -> None:
    first = Dashboard(home)
    second: Dashboard | None = None
    try:
        first.wait_for(b"Send one: qjob-tui submit --source ")
        note = _note(home)
        assert note is not None
        pid, url = int(note["pid"]), str(note["url"])  # type: ignore[call-overload]
        # The hint names this service (that the whole hint runs as typed, the shipped circuit
        # included, is test_empty_hint's: read off the screen there, then run).
        address = url.removesuffix("/api/v1")
        first.wait_for(f"Send one: qjob-tui submit --source {address} ".encode())
        sent = _qjob("submit", "--source", address, str(SAMPLE_CIRCUIT), home=home)
        assert sent.returncode == 0, sent.stderr
        assert httpx.get(f"{url}/jobs/{sent.stdout.strip()}").status_code == 200
        # And plain ``submit`` from there finds the same service.
        (home / "circuit.qasm").write_text(BELL)
        sent = _qjob("submit", "circuit.qasm", home=home)
        assert sent.returncode == 0, sent.stderr
        job_id = sent.stdout.strip()
        assert httpx.get(f"{url}/jobs/{job_id}").status_code == 200
        assert job_id in _qjob("ls", home=home).stdout
        # A second dashboard uses the same service; quitting the first leaves it running.
        second = Dashboard(home)
        second.wait_for(job_id.encode())
        assert first.quit() == 0
        assert _qjob("ls", home=home).returncode == 0
        assert _alive(pid) and _note(home) == note
        assert httpx.get(f"{url}/jobs/{job_id}").status_code == 200
        # The last user crashes: the service stops by itself.
        second.proc.kill()
        second.proc.wait()
        _wait(lambda: not _alive(pid))
        assert _note(home) is None
    finally:
        first.close()
        if second is not None:
            second.close()


def test_two_dashboards_opened_at_once_share_one_service(home: Path) -> None:
    dashboards = [Dashboard(home), Dashboard(home)]
    try:
        for dashboard in dashboards:
            dashboard.wait_for(b"Send one: qjob-tui submit --source ")
        note = _note(home)
        assert note is not None
        pid = int(note["pid"])  # type: ignore[call-overload]
        # Only one service was started: the log of the folder holds no refusal.
        log = (home / "data" / "qjob-tui" / "service.log").read_text()
        assert "another qjob-tui service" not in log
        for dashboard in dashboards:
            assert dashboard.quit() == 0
        _wait(lambda: not _alive(pid))
    finally:
        for dashboard in dashboards:
            dashboard.close()
