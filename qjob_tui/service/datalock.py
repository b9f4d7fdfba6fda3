"""One service per data directory: a lock, a note of where that service answers, and its users.

Two services on one SQLite database would both run the same queued jobs. The lock makes the second
refuse to start with a message naming the first; the note (``service.json``) lets a dashboard and
the commands find and reuse the running service instead of starting another.

A service started in the background for dashboards (``serve --while-used``) is shared, not owned:
each dashboard holds a ``Lease`` (a shared lock on ``service.users``) for as long as it runs, the
OS drops it when the dashboard ends or crashes, and the service stops once it can take that lock
exclusively, that is once no dashboard is left. It keeps the exclusive lock until it has gone, so
a dashboard arriving meanwhile waits and then starts a fresh one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

LOCK = "service.lock"
NOTE = "service.json"
USERS = "service.users"
STARTING = "service.start"


class DataInUse(RuntimeError):
    """Another service holds this data directory."""


class DataLock:
    """Held for the life of the service process; released by the OS if it dies."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the directory, or raise DataInUse naming the service that has it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / LOCK).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            other = read_note(self.data_dir)
            where = f" at {other['url']} (pid {other['pid']})" if other else ""
            raise DataInUse(
                f"another qjob-tui service uses {self.data_dir}{where}; "
                "stop it, or pass --data with another directory"
            ) from None
        self._file = handle

    def announce(self, url: str) -> None:
        """Write where this service answers, once its socket is bound (the port may be 0 before)."""
        note = {"url": url, "pid": os.getpid()}
        (self.data_dir / NOTE).write_text(json.dumps(note))

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                (self.data_dir / NOTE).unlink()
            self._file.close()
            self._file = None


def read_note(data_dir: Path) -> dict[str, object] | None:
    """Where the service of this data directory said it answers, if it did."""
    try:
        note = json.loads((data_dir / NOTE).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(note, dict) and isinstance(note.get("url"), str):
        return note
    return None


def running_service(data_dir: Path) -> dict[str, object] | None:
    """The note of the service of this data directory, if its process still runs.

    A service killed outright (``kill -9``) leaves its note behind: the pid tells. The lock is
    not tried, as taking it even for a moment could turn away a service starting just then.
    """
    note = read_note(data_dir)
    pid = note.get("pid") if note else None
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # another user's process: alive
    return note


def _lock_within(handle: IO[str], kind: int, timeout: float) -> bool:
    """Take ``kind`` (shared or exclusive) on the file, trying until ``timeout``; whether it
    was taken."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, kind | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


class Lease:
    """A dashboard's use of the data directory's background service, held while it runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._file: IO[str] | None = None

    def acquire(self, timeout: float = 30.0) -> Lease:
        """Take a share; wait (up to ``timeout``) while a service with no users is stopping."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / USERS).open("a+")
        if not _lock_within(handle, fcntl.LOCK_SH, timeout):
            handle.close()
            raise DataInUse(
                f"the service of {self.data_dir} did not finish stopping in {timeout:.0f} s"
            )
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def unused(data_dir: Path) -> IO[str] | None:
    """The users file locked exclusively if no dashboard holds a lease, else None.

    The caller keeps the handle open until it has stopped: leases wait for it meanwhile.
    """
    handle = (data_dir / USERS).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def starting(data_dir: Path, timeout: float = 90.0) -> Iterator[None]:
    """Held by the one dashboard that looks for the service and starts it if none runs: two
    dashboards opened at once would otherwise both start one, and the second would fail."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / STARTING).open("a+") as handle:
        if not _lock_within(handle, fcntl.LOCK_EX, timeout):
            raise DataInUse(
                f"another dashboard has been starting the service of {data_dir} for {timeout:.0f} s"
            )
        yield  # the lock goes with the file's closing
