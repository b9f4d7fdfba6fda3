"""The hang-up of a terminal under a busy Textual app, in a real pseudo-terminal.

The app (``tests/apps/busy_app.py``) repaints all the time and keeps painting for a second after
its terminal goes away, as a dashboard in the middle of its first paint does. With Textual's own
driver that is enough to hang it for ever (see ``qjob_tui/ui/terminal/hangup.py`` for why); with
``HangupSafeDriver`` it exits by itself, and when a shutdown does hang the watchdog ends it.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.ui.terminal import hangup

ROOT = Path(__file__).resolve().parent.parent
ENDS_WITHIN = 30.0  # a bound on the wait on a busy machine; the watchdog acts after ~3 s


def run_and_hang_up(tmp_path: Path, driver: str, watchdog: str) -> tuple[int, Path]:
    """Start the busy app as the leader of its own session on a fresh pty (as sshd does),
    close the terminal once it has painted, and return its exit code."""
    ready = tmp_path / "ready"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.apps.busy_app", driver, watchdog, str(ready)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_terminal,
        cwd=ROOT,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the app never painted"
            if select.select([master], [], [], 0.1)[0]:
                os.read(master, 65536)  # a terminal reads what the app writes
        os.close(master)  # the terminal goes away
        master = -1
        try:
            return proc.wait(timeout=ENDS_WITHIN), ready.with_name("ready.rites")
        except subprocess.TimeoutExpired:
            pytest.fail(f"the app outlived its terminal by {ENDS_WITHIN:.0f} s")
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_safe_driver_exits_by_itself(tmp_path: Path) -> None:
    code, _ = run_and_hang_up(tmp_path, "safe", "off")
    assert code == 0


def test_watchdog_ends_a_shutdown_that_hangs(tmp_path: Path) -> None:
    # Textual's own driver hangs in WriterThread.stop; the watchdog runs the last rites and ends it.
    code, rites = run_and_hang_up(tmp_path, "textual", "on")
    assert code == hangup.EXIT_HANGUP
    assert rites.read_text() == "ran"


def test_clean_shutdown_needs_no_watchdog(tmp_path: Path) -> None:
    code, rites = run_and_hang_up(tmp_path, "safe", "on")
    assert code == 0
    assert not rites.exists()


class DeadTerminal(io.StringIO):
    """stderr after a hang-up: every write fails with EIO."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


@pytest.fixture
def fresh_terminal() -> Iterator[None]:
    hangup.terminal_gone.clear()
    yield
    hangup.terminal_gone.clear()


def test_writer_survives_a_dead_terminal(fresh_terminal: None) -> None:
    writer = hangup.HangupSafeWriter(DeadTerminal())
    writer.start()

    def write_a_lot_then_stop() -> None:
        for i in range(200):  # far more than the queue's 30 places
            writer.write(f"frame {i}")
        writer.stop()

    worker = threading.Thread(target=write_a_lot_then_stop, daemon=True)
    worker.start()
    worker.join(timeout=ENDS_WITHIN)
    assert not worker.is_alive(), "a write or stop blocked on the dead terminal"
    assert not writer.is_alive()
    assert hangup.terminal_gone.is_set()
