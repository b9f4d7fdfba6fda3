"""One SSH session: a dashboard process in a pseudo-terminal, wired to the SSH channel.

The dashboard leads its own session on a fresh pty of the client's size and TERM, so that a
window change is a SIGWINCH to it, and closing the pty's master side when the connection drops
is a hang-up that ends it (the dashboard's watchdog sees to that; this side kills its process
group if it is still there ``KILL_AFTER`` seconds later). Nothing of it outlives the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pty
import shutil
import signal
import struct
import tempfile
import termios
import time

from qjob_tui.relay.viewer_dashboard import (
    SessionCount,
    dashboard_command,
    dashboard_env,
)
from qjob_tui.ssh.options import SshOptions
from qjob_tui.ssh.quiet_asyncssh import asyncssh

log = logging.getLogger("qjob_tui.ssh")

KILL_AFTER = 10.0  # seconds between the hang-up and SIGKILL of a dashboard that did not end
READ_SIZE = 65536


def _winsize(fd: int, width: int, height: int, pixwidth: int = 0, pixheight: int = 0) -> None:
    size = struct.pack("HHHH", max(height, 1), max(width, 1), pixwidth, pixheight)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)


def _controlling_terminal() -> None:
    """In the child: lead a new session whose controlling terminal is the pty (as sshd)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class DashboardSession(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """A dashboard per session; the SSH channel carries its terminal both ways."""

    def __init__(
        self, options: SshOptions, relay: str, role: str, token: str | None, count: SessionCount
    ) -> None:
        self.options = options
        self.relay = relay
        self.role = role
        self.token = token  # the relay's token of this role, which the dashboard shows it
        self.count = count
        self._chan: asyncssh.SSHServerChannel | None = None  # type: ignore[type-arg]
        self._term = "xterm-256color"
        self._size = (80, 24, 0, 0)
        self._has_pty = False
        self._master = -1
        self._proc: asyncio.subprocess.Process | None = None
        self._home: str | None = None
        self._last_input = time.monotonic()
        self._idle: asyncio.Task[None] | None = None
        self._ending = False

    # --- the SSH side --------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:  # type: ignore[type-arg]
        self._chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], modes: object
    ) -> bool:
        if term_type:
            self._term = term_type[:64]
        if term_size[0] and term_size[1]:
            self._size = term_size
        self._has_pty = True
        return True

    def shell_requested(self) -> bool:
        return True  # the "shell" is the dashboard, and nothing else

    def exec_requested(self, command: str) -> bool:
        log.warning("refused exec of %r on the SSH relay", command[:80])
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        asyncio.get_running_loop().create_task(self._start(), name="ssh-dashboard")

    def data_received(self, data: bytes, datatype: object) -> None:
        self._last_input = time.monotonic()
        if self._master >= 0:
            with contextlib.suppress(OSError):
                os.write(self._master, data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._size = (width, height, pixwidth, pixheight)
        if self._master >= 0:
            with contextlib.suppress(OSError):
                _winsize(self._master, width, height, pixwidth, pixheight)

    def eof_received(self) -> bool:
        asyncio.get_running_loop().create_task(self.end("the client closed its input"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        asyncio.get_running_loop().create_task(self.end("the connection dropped"))

    def pause_writing(self) -> None:
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)

    def resume_writing(self) -> None:
        if self._master >= 0 and not self._ending:
            asyncio.get_running_loop().add_reader(self._master, self._on_output)

    # --- the dashboard -------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if self._chan is not None:
            with contextlib.suppress(Exception):
                self._chan.write(text.encode())

    async def _start(self) -> None:
        assert self._chan is not None
        if not self._has_pty:
            self._write("qjob-tui relay: a terminal is needed; connect with ssh -t\r\n")
            self._chan.exit(1)
            return
        if self.count.full:
            self._write(f"qjob-tui relay: {self.count.limit} sessions are open; try later\r\n")
            self._chan.exit(1)
            return
        self.count.open.add(self)
        self._home = tempfile.mkdtemp(prefix="qjob-ssh-")
        master, slave = pty.openpty()
        _winsize(slave, *self._size)
        env = dashboard_env(self._home, self.token, TERM=self._term)
        command = list(self.options.dashboard) or dashboard_command(self.relay, self.role)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                preexec_fn=_controlling_terminal,
            )
        except OSError as exc:
            os.close(master)
            os.close(slave)
            log.error("cannot start a dashboard: %s", exc)
            self._write("qjob-tui relay: the dashboard could not start\r\n")
            await self.end("it could not start")
            return
        os.close(slave)
        self._master = master
        asyncio.get_running_loop().add_reader(master, self._on_output)
        self._idle = asyncio.get_running_loop().create_task(self._watch_idle())
        log.info("SSH %s session started: dashboard %d", self.role, self._proc.pid)
        code = await self._proc.wait()
        await self.end(f"the dashboard exited ({code})", code)

    def _on_output(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except OSError:
            data = b""  # EIO: the dashboard closed its terminal
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
            return
        if self._chan is not None:
            try:
                self._chan.write(data)
            except Exception:
                asyncio.get_running_loop().create_task(self.end("the channel closed"))

    async def _watch_idle(self) -> None:
        timeout = self.options.idle_timeout
        while True:
            idle = time.monotonic() - self._last_input
            if idle >= timeout:
                await self.end(f"idle for {timeout:.0f} s")
                return
            await asyncio.sleep(min(timeout - idle, 30.0) + 0.05)

    async def end(self, why: str, code: int | None = None) -> None:
        """End the dashboard (hang up its terminal, then kill it if it lingers) and the channel."""
        if self._ending:
            return
        self._ending = True
        log.info("SSH %s session ends: %s", self.role, why)
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
        if self._master >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)  # the hang-up: SIGHUP to the dashboard
            self._master = -1
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                async with asyncio.timeout(KILL_AFTER):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if proc is not None:
            # Anything the dashboard started in its session goes with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.count.open.discard(self)
        if self._home is not None:
            home, self._home = self._home, None  # removed off the relay's event loop
            await asyncio.to_thread(shutil.rmtree, home, True)
        if self._chan is not None:
            with contextlib.suppress(Exception):
                if code is None and why.startswith("idle"):
                    self._chan.write(f"\r\nqjob-tui relay: {why}; bye\r\n".encode())
                self._chan.exit(code if code is not None else 0)
