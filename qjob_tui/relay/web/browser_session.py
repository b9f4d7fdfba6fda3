"""One browser tab: a dashboard process under Textual's web driver, wired to the tab's websocket.

Browser to relay: textual-serve's JSON envelopes (``["stdin", text]``, ``["resize", {width,
height}]``, ``["ping", t]``, ``["focus"]``, ``["blur"]``). Relay to dashboard: the web driver's
packets on its stdin (``D`` input, ``M`` meta). Dashboard to relay: ``__GANGLION__`` and then
packets on its stdout; ``D`` goes to the tab as binary frames, the meta ``exit`` ends the tab.

The dashboard leads a session of its own and dies with the relay (a hang-up when its parent
goes). A closed tab sends it ``quit``; if it has not ended ``KILL_AFTER`` seconds later its
process group is killed. Its home is a temporary folder, removed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from textual_serve.app_service import AppService

from qjob_tui.relay.viewer_dashboard import (
    SessionCount,
    dashboard_command,
    dashboard_env,
)

log = logging.getLogger("qjob_tui.relay.web")

PRELUDE = b"__GANGLION__\n"
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
KILL_AFTER = 5.0  # seconds between "quit" and SIGKILL of a dashboard that did not end
MAX_SIZE = 500  # columns or rows: more is no screen
STDERR_KEPT = 4096  # bytes of a dashboard's stderr that reach the relay's log
CLOSE_TRY_LATER = 1013  # websocket close code: the server is full


@dataclass(frozen=True)
class WebSettings:
    """What every browser session shares: where the relay is, the limits (the tokens are the
    relay's ``Door``'s)."""

    count: SessionCount
    relay: str = ""  # the relay's own address, once it is bound
    idle_timeout: float = 3600.0
    fps: int = 20  # textual-serve's 60 frames a second is much for a slow link
    dashboard: tuple[str, ...] = ()  # the command that starts one dashboard (tests may set it)


def _size(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, 1), MAX_SIZE)


def _die_with_parent() -> None:
    """In the child: a hang-up when the relay goes, however it goes (Linux's PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGHUP)


class BrowserSession:
    """A dashboard for one websocket, ended with it."""

    def __init__(
        self, websocket: WebSocket, settings: WebSettings, role: str, token: str | None
    ) -> None:
        self.websocket = websocket
        self.settings = settings
        self.role = role
        self.token = token  # the relay's token of this role, which the dashboard shows it
        self._proc: asyncio.subprocess.Process | None = None
        self._home: str | None = None
        self._last_input = time.monotonic()
        self._ending = False
        self._ended = asyncio.Event()

    async def run(self) -> None:
        """Serve the tab until it closes, the dashboard ends, or it stays idle too long."""
        websocket, count = self.websocket, self.settings.count
        await websocket.accept()
        if count.full:
            message = f"qjob-tui relay: {count.limit} sessions are open; try later\r\n"
            await websocket.send_bytes(message.encode())
            await websocket.close(CLOSE_TRY_LATER, "too many sessions")
            return
        count.open.add(self)
        try:
            started = await self._start(
                _size(websocket.query_params.get("width"), 80),
                _size(websocket.query_params.get("height"), 24),
            )
            if not started:
                return
            tasks = {
                asyncio.create_task(self._from_dashboard(), name="web-out"): "it ended",
                asyncio.create_task(self._from_browser(), name="web-in"): "the tab closed",
                asyncio.create_task(self._watch_idle(), name="web-idle"): "it was idle",
            }
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            why = tasks[next(iter(done))]
            for task in pending:
                task.cancel()
            # (gather, not a suppressed CancelledError: a cancel of this session itself goes on)
            await asyncio.gather(*pending, return_exceptions=True)
            await self.end(why)
        finally:
            await self.end("the connection ended")

    async def _start(self, width: int, height: int) -> bool:
        self._home = tempfile.mkdtemp(prefix="qjob-web-")
        env = dashboard_env(
            self._home,
            self.token,
            TERM="xterm-256color",
            TEXTUAL_DRIVER=WEB_DRIVER,
            TEXTUAL_FPS=str(self.settings.fps),
            TEXTUAL_COLOR_SYSTEM="truecolor",
            COLUMNS=str(width),
            ROWS=str(height),
        )
        command = list(self.settings.dashboard) or dashboard_command(self.settings.relay, self.role)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self._home,  # a relative name is the throw-away home's, never the relay's
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            log.error("cannot start a dashboard: %s", exc)
            await self._say("qjob-tui relay: the dashboard could not start\r\n")
            return False
        log.info("browser %s session started: dashboard %d", self.role, self._proc.pid)
        return True

    async def _say(self, text: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.send_bytes(text.encode())

    # --- dashboard to browser ------------------------------------------------------------

    async def _from_dashboard(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        stderr = asyncio.create_task(self._log_stderr())
        try:
            for _ in range(10):  # the web driver's prelude, after what start-up printed
                line = await stdout.readline()
                if not line or line == PRELUDE:
                    break
            while True:
                head = await stdout.readexactly(5)
                payload = await stdout.readexactly(int.from_bytes(head[1:], "big"))
                kind = head[:1]
                if kind == b"D":
                    await self.websocket.send_bytes(payload)
                elif kind == b"M" and not await self._on_meta(payload):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the dashboard closed its output: it ended
        finally:
            # Its last words, for a second at most; a cancel of this task itself goes on.
            done, _ = await asyncio.wait({stderr}, timeout=1.0)
            if not done:
                stderr.cancel()

    async def _on_meta(self, payload: bytes) -> bool:
        """Act on a meta packet; False when the dashboard says it is done."""
        try:
            meta = json.loads(payload)
        except ValueError:
            return True
        kind = meta.get("type") if isinstance(meta, dict) else None
        if kind == "exit":
            return False
        if kind == "open_url":
            url = meta.get("url")
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                body = ["open_url", {"url": url, "new_tab": True}]
                await self.websocket.send_text(json.dumps(body))
        return True

    async def _log_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        kept = b""
        while chunk := await self._proc.stderr.read(4096):
            if len(kept) < STDERR_KEPT:
                kept += chunk[: STDERR_KEPT - len(kept)]
        if kept.strip():
            text = kept.decode("utf-8", "replace").strip()
            log.warning("a browser's dashboard wrote on stderr: %s", text)

    # --- browser to dashboard ------------------------------------------------------------

    async def _from_browser(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return  # the tab closed
            text = message.get("text")
            if not isinstance(text, str):
                continue  # textual-serve's client sends only text
            try:
                envelope = json.loads(text)
            except ValueError:
                continue
            if isinstance(envelope, list) and envelope and isinstance(envelope[0], str):
                await self._on_envelope(envelope[0], envelope[1:])

    async def _on_envelope(self, kind: str, args: list[Any]) -> None:
        if kind == "stdin" and args and isinstance(args[0], str):
            self._last_input = time.monotonic()
            await self._send(AppService.encode_packet(b"D", args[0].encode("utf-8", "replace")))
        elif kind == "resize" and args and isinstance(args[0], dict):
            size = {
                "type": "resize",
                "width": _size(args[0].get("width"), 80),
                "height": _size(args[0].get("height"), 24),
            }
            await self._send(AppService.encode_packet(b"M", json.dumps(size).encode()))
        elif kind == "ping" and args and isinstance(args[0], str):
            await self.websocket.send_text(json.dumps(["pong", args[0][:32]]))
        elif kind in ("focus", "blur"):
            await self._send(AppService.encode_packet(b"M", json.dumps({"type": kind}).encode()))

    async def _send(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            proc.stdin.write(data)
            await proc.stdin.drain()

    async def _watch_idle(self) -> None:
        timeout = self.settings.idle_timeout
        while True:
            idle = time.monotonic() - self._last_input
            if idle >= timeout:
                await self._say(f"\r\nqjob-tui relay: idle for {timeout:.0f} s; bye\r\n")
                return
            await asyncio.sleep(min(timeout - idle, 30.0) + 0.05)

    # --- the end ---------------------------------------------------------------------------

    async def end(self, why: str, code: int | None = None) -> None:
        """End the dashboard (``quit``, then SIGKILL if it lingers) and close the tab."""
        if self._ending:
            await self._ended.wait()
            return
        self._ending = True
        try:
            await self._stop_dashboard(why)
        finally:
            self.settings.count.open.discard(self)
            if self._home is not None:
                home, self._home = self._home, None  # removed off the relay's event loop
                await asyncio.to_thread(shutil.rmtree, home, True)
            if self.websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.websocket.close()
            self._ended.set()

    async def _stop_dashboard(self, why: str) -> None:
        proc = self._proc
        if proc is None:
            return
        log.info("browser %s session ends (%s): dashboard %d", self.role, why, proc.pid)
        if proc.returncode is None:
            await self._send(AppService.encode_packet(b"M", b'{"type": "quit"}'))
            if proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            try:
                async with asyncio.timeout(KILL_AFTER):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # Anything the dashboard started in its session goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
