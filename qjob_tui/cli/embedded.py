"""The local job service started in the background for the dashboard.

The service is a separate program, so it runs as a child process (``qjob-tui serve``) on a free
loopback port of its choosing, in a session of its own; the dashboard talks to it over HTTP like
to any other source, through ``api/``. Where it answers is written in its data folder
(``service.json``), where the commands find it too.

For the data folder of every day the service is shared, not owned (``serve --while-used``): each
dashboard holds a lease on it (``service/datalock.py``) and quitting does not stop it; it stops
by itself once the last dashboard has ended, or crashed. The demo's service, on a temporary
folder no one else knows, is the dashboard's own and stops with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from qjob_tui.api.probe import answers
from qjob_tui.service.datalock import DataInUse, Lease, read_note, running_service
from qjob_tui.text import one_line


class EmbeddedError(RuntimeError):
    """The background service could not be started; the message says why."""


def shared_service(data_dir: Path) -> tuple[str | None, Lease]:
    """A lease on the data folder's background service, and its URL if one already answers.

    The lease comes first: a service that finds itself unused between the look and the lease
    would otherwise stop under this dashboard.
    """
    try:
        lease = Lease(data_dir).acquire()
    except DataInUse as exc:
        raise EmbeddedError(str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise EmbeddedError(f"cannot use the data folder {data_dir}: {reason}") from None
    note = running_service(data_dir)
    url = note.get("url") if note else None
    if isinstance(url, str) and answers(url):
        return url, lease
    return None, lease


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl+C (SIGINT) back until the block has ended, then raise it.

    Only the main thread receives signals; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:  # now as it would have been: KeyboardInterrupt, or nothing if ignored
            signal.raise_signal(signal.SIGINT)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End a service and the workers of its session at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class EmbeddedService:
    """A ``qjob-tui serve`` child process on a free loopback port of its choosing.

    With a ``lease`` it is shared (``--while-used``) and ``stop`` only gives the lease up;
    without one (the demo) ``stop`` stops it.
    """

    def __init__(
        self,
        data_dir: Path | None,
        *,
        demo: bool = False,
        log: Path | None = None,
        lease: Lease | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="qjob-tui-demo-")
            data_dir = Path(self._tmp.name)
        self.data_dir = data_dir
        self.demo = demo
        self.lease = lease
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
        if self.lease is not None:
            command.append("--while-used")
        try:
            # A Ctrl+C between the fork and the assignment would lose the child: it waits.
            with self.log.open("ab") as out, interrupts_deferred():
                self._proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl+C in the dashboard is not the service's
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            return self._ready(timeout)
        except BaseException:
            # Interrupted or failed while starting: no one uses it yet, shared or not.
            self._end()
            raise

    def _ready(self, timeout: float) -> EmbeddedService:
        """Wait until the child answers where its note says; EmbeddedError if it cannot."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                lines = self.log.read_text(errors="replace").strip().splitlines()
                self._proc = None
                said = one_line(lines[-1], 300) if lines else "no output"
                raise EmbeddedError(f"the local service exited: {said} (its log: {self.log})")
            note = read_note(self.data_dir)
            if note and note.get("pid") == self._proc.pid:
                self.url = str(note["url"])
                if answers(self.url):
                    return self
            time.sleep(0.1)
        raise EmbeddedError(f"the local service did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Give the shared service up (it stops when its last user has), or stop the demo's."""
        if self.lease is not None:
            self.lease.release()
            self._proc = None  # it lives on for the other dashboards, in its own session
        else:
            self._end()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _end(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill(proc)
            except BaseException:  # a second Ctrl+C: it must not outlive this process either
                _kill(proc)
                raise

    def abandon(self) -> None:
        """Ask an owned service to stop without waiting: the last act of a process about to
        end. A shared one needs nothing: the lease ends with the process."""
        if self.lease is None and self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGINT)

    def __enter__(self) -> EmbeddedService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
