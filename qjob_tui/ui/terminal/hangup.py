"""A dashboard always ends with its terminal: a hang-up-safe driver and a watchdog.

Why Textual alone can hang. ``LinuxDriver`` writes through a ``WriterThread`` that takes text from
a ``Queue`` of at most 30 items and writes it to stderr. When the terminal goes away, the next
write or flush raises ``OSError`` (EIO) in that thread, which has no ``try``: the thread dies and
nobody empties the queue again. From then on every ``driver.write`` on the event loop blocks in
``Queue.put`` as soon as 30 items wait, and so does ``WriterThread.stop`` in ``App._shutdown``
(``LinuxDriver.close`` puts ``None`` and joins). A big frame (the first paint of 10,000 cached
jobs) is many writes, so a hang-up during it fills the queue at once. The kernel also sends
SIGCONT with the SIGHUP of a hang-up, and Textual's SIGCONT handler "resumes" application mode:
it starts a second writer thread (the one seen idle in ``Queue.get``) and input thread on the
dead terminal, while the main thread is still blocked on the first writer's full queue.

What we do:
- ``HangupSafeWriter`` never dies: a failed write marks the terminal gone, later text is dropped,
  and ``stop`` waits a bounded time.
- ``HangupSafeDriver`` uses it and ignores SIGCONT once the terminal is gone.
- ``TerminalWatchdog`` (a thread, so that a blocked event loop cannot stop it) notices the
  hang-up (SIGHUP, a failed write, or stdin no longer a terminal), asks the app to exit, and if
  the process is still alive a few seconds later runs the last rites (stop the embedded service)
  and ends the process with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType

from textual.drivers import linux_driver
from textual.drivers._writer_thread import WriterThread

log = logging.getLogger("qjob_tui.hangup")

GRACE_SECONDS = 3.0  # a clean shutdown gets this long before the watchdog ends the process
CHECK_SECONDS = 0.5  # how often the watchdog looks at the terminal
EXIT_HANGUP = 129  # 128 + SIGHUP, as a shell reports a process ended by a hang-up

# The fact "this process's terminal went away": set once, read by the writer, driver, watchdog.
terminal_gone = threading.Event()


class HangupSafeWriter(WriterThread):
    """Textual's writer thread, which survives a terminal that went away."""

    def write(self, text: str) -> None:
        if terminal_gone.is_set():
            return  # nobody will read it
        try:
            self._queue.put(text, timeout=GRACE_SECONDS)
        except queue.Full:
            terminal_gone.set()  # the terminal stopped reading for seconds: treat it as gone

    def run(self) -> None:
        write = self._file.write
        flush = self._file.flush
        while True:
            text = self._queue.get()
            if text is None:
                break
            if terminal_gone.is_set():
                continue  # drain, so that no put ever blocks on a full queue
            try:
                write(text)
                if self._queue.qsize() == 0:
                    flush()
            except (OSError, ValueError):
                terminal_gone.set()
        with contextlib.suppress(OSError, ValueError):
            if not terminal_gone.is_set():
                flush()

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=GRACE_SECONDS)
        self.join(timeout=GRACE_SECONDS)


class HangupSafeDriver(linux_driver.LinuxDriver):
    """``LinuxDriver`` with ``HangupSafeWriter``, and no resume on a dead terminal."""

    def start_application_mode(self) -> None:
        # Textual builds its writer from this module-level name; ours is a drop-in subclass.
        linux_driver.WriterThread = HangupSafeWriter  # type: ignore[misc]
        super().start_application_mode()

    def _sigcont_application(self, *args: object) -> None:
        if terminal_gone.is_set():
            return  # the SIGCONT that comes with a hang-up: nothing to resume
        super()._sigcont_application(*args)


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except (OSError, ValueError):
        return False


class TerminalWatchdog:
    """Ends the process a few seconds after its terminal went away, however the app is stuck.

    ``exit_app`` is called (from the watchdog thread) once when the hang-up is noticed, to ask
    for a clean shutdown; ``last_rites`` run only when that shutdown did not end the process
    within ``grace`` seconds, just before ``os._exit``.
    """

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        self.exit_app: Callable[[], None] | None = None
        self.last_rites: list[Callable[[], None]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qjob-hangup-watchdog", daemon=True)
        self._watched_fds = [fd for fd in (0, 2) if _is_terminal(fd)]

    def start(self) -> TerminalWatchdog:
        global _current
        _current = self
        with contextlib.suppress(ValueError):  # not the main thread: no signal handler
            signal.signal(signal.SIGHUP, self._on_sighup)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The dashboard ended by itself: nothing more to watch."""
        global _current
        self._stopped.set()
        if _current is self:
            _current = None

    def _on_sighup(self, signum: int, frame: FrameType | None) -> None:
        # Runs on the main thread between two bytecodes, maybe inside a Queue.put: only set an
        # event here, everything else happens on the watchdog thread.
        terminal_gone.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            if terminal_gone.wait(CHECK_SECONDS):
                break
            if any(not _is_terminal(fd) for fd in self._watched_fds):
                terminal_gone.set()
        if self._stopped.is_set():
            return
        log.info("the terminal went away: exiting")
        if self.exit_app is not None:
            with contextlib.suppress(Exception):
                self.exit_app()
        if self._stopped.wait(self.grace):
            return
        for rite in self.last_rites:
            with contextlib.suppress(Exception):
                rite()
        os._exit(EXIT_HANGUP)


_current: TerminalWatchdog | None = None


def current_watchdog() -> TerminalWatchdog | None:
    """The watchdog of this process, if the program started one."""
    return _current
