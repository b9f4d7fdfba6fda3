"""No test leaves a process behind: every process a test run starts carries a mark, and the run
fails if any marked process still lives at its end.

The mark is an environment variable set before the first test, so the processes the tests start
(services, relays, dashboards, ``ls --watch``, and what those start in sessions of their own)
inherit it, wherever they are reparented. Tests that build an environment from scratch keep
the rest of ``os.environ``, which carries it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

MARK = "QJOB_TESTS_RUN"
_OWN_TRACKER = "from multiprocessing.resource_tracker import main"


def mark_this_run() -> str:
    """Set the mark for this run (once: pytest-xdist's workers inherit the controller's)."""
    return os.environ.setdefault(MARK, uuid.uuid4().hex)


def _marked(run: str) -> list[tuple[int, str]]:
    """The processes of this run still alive (not this one), with their command lines."""
    found = []
    needle = f"{MARK}={run}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if int(parent) == os.getpid() and _OWN_TRACKER in command:
            # This process's multiprocessing resource tracker (a test ran a worker pool in
            # process, without pytest-xdist): it reads until this process exits, then ends.
            continue
        if state != "Z":  # a zombie has ended: only its parent's wait is missing
            found.append((int(entry.name), command.strip()))
    return found


def left_behind(run: str, grace: float = 10.0) -> list[tuple[int, str]]:
    """The marked processes still alive after ``grace`` seconds, killed once listed."""
    deadline = time.monotonic() + grace
    alive = _marked(run)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = _marked(run)
    for pid, _ in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return alive
