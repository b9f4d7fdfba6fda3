"""Connections and framing at the HTTP edge that the service and the relay share.

uvicorn times out idle keep-alive connections but not a connection that never finishes its
request, and h11 reads a request with both ``Content-Length`` and ``Transfer-Encoding`` by the
latter, answering the bytes after the chunked body as a second request (a smuggling vector
behind any proxy that reads the former). So:

- ``GuardedH11Protocol``: a request head must arrive whole within ``HEAD_SECONDS`` of its first
  byte (or of the connection), and a body must keep flowing (``BODY_IDLE_SECONDS``) at an
  average of ``MIN_BODY_RATE`` after its first ``BODY_GRACE_SECONDS``; otherwise the connection
  is closed. A client whose answers wait for it must take ``MIN_READ_RATE`` of them, measured
  over ``WRITE_STALL_SECONDS``, or its connection is reset. Rates, not whole times: a large
  upload or answer on a slow link is honest; a byte now and then is not. uvicorn's own
  settings do the rest (``uvicorn_limits``): at most ``MAX_CONNECTIONS`` at once, keep-alive
  connections closed after ``KEEP_ALIVE_SECONDS`` idle.
- ``RequestFraming``: a request with both headers is refused
  with 400 and its connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from typing import Any

import h11
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 5.0
BODY_IDLE_SECONDS = 10.0
# A body's average pace, after its first seconds (a byte every few seconds kept a connection
# for ever): 2 KiB/s, far below any real uplink.
BODY_GRACE_SECONDS = 60.0
MIN_BODY_RATE = 2048
# Answers waiting for a client: it takes at least this much a second, over each such window.
WRITE_STALL_SECONDS = 30.0
MIN_READ_RATE = 1024
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 1000
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, for 0 s: a close resets the connection


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn.Config settings of the edge: the guarded protocol and the caps."""
    return {
        "http": GuardedH11Protocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with bounds on a slow request head, a slow body and a slow
    reader of its answers."""

    _deadline: asyncio.TimerHandle | None = None
    _body_began: float | None = None  # the loop's time the current body began
    _body_bytes = 0  # what the connection has received since then
    _write_stall: asyncio.TimerHandle | None = None
    _waiting_bytes = 0  # the answers' bytes waiting for the client when its window began

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEAD_SECONDS)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            # Upgraded to a websocket (the relay's browser view): the connection is the
            # websocket protocol's now, and lives as long as its tab; no deadline of ours.
            self._disarm()
            return
        self._guard_request(len(data))

    def on_response_complete(self) -> None:
        # A pipelined request read from the buffer here, not in data_received, is bounded too.
        super().on_response_complete()
        if (
            self.transport.get_protocol() is self
            and not self.transport.is_closing()
            and self.conn.their_state is h11.SEND_BODY
        ):
            self._guard_request(0)

    def _guard_request(self, received: int) -> None:
        """Arm the deadline the request's state calls for after ``received`` more bytes."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            # Each piece of body buys the next few seconds, within the body's average pace.
            now = self.loop.time()
            if self._body_began is None:
                self._body_began, self._body_bytes = now, 0
            self._body_bytes += received
            allowed = BODY_GRACE_SECONDS + self._body_bytes / MIN_BODY_RATE
            left = allowed - (now - self._body_began)
            self._arm(max(min(BODY_IDLE_SECONDS, left), 0.0))
            return
        self._body_began = None
        if state is h11.IDLE and received:
            if self._deadline is None:
                self._arm(HEAD_SECONDS)  # a new request begins: its head has a deadline
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._writes_resumed()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """Answers wait for the client: it has to take them at ``MIN_READ_RATE``."""
        super().pause_writing()
        if self._write_stall is None:
            self._watch_reading()

    def resume_writing(self) -> None:
        self._writes_resumed()
        super().resume_writing()

    def _unsent(self) -> int:
        """What the client has yet to take: the transport's buffer and the system's send
        queue (megabytes on a fast link, taken first, while the buffer waits unchanged)."""
        waiting = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                waiting += struct.unpack("i", queued)[0]
        return waiting

    def _watch_reading(self) -> None:
        self._waiting_bytes = self._unsent()
        self._write_stall = self.loop.call_later(WRITE_STALL_SECONDS, self._check_reading)

    def _writes_resumed(self) -> None:
        if self._write_stall is not None:
            self._write_stall.cancel()
            self._write_stall = None

    def _check_reading(self) -> None:
        self._write_stall = None
        if self.transport.get_protocol() is not self:
            return  # upgraded meanwhile: not ours
        taken = self._waiting_bytes - self._unsent()
        if taken >= MIN_READ_RATE * WRITE_STALL_SECONDS:
            self._watch_reading()  # it reads, if slowly: another window
            return
        # Also once closing (after its answer, or keep-alive's end): a closing transport
        # lives until the client takes what it holds.
        self.logger.info("closing a connection whose client stopped reading its answers")
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # A reset, not a close: the system would keep the connection to send what the
            # client will never read.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        self.transport.abort()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.get_protocol() is not self:
            return  # upgraded meanwhile: not ours to close
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.info("closing a connection that did not send its request in time")
            self.transport.close()


def _refused(status: int, message: str) -> JSONResponse:
    code = {400: "bad_request"}.get(status, "error")
    body = {"errors": [{"code": code, "message": message, "more_info": ""}]}
    return JSONResponse(body, status_code=status)


class RequestFraming:
    """Refuses a request whose length is framed twice, and closes its connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            names = {name for name, _ in scope.get("headers") or []}
            if {b"content-length", b"transfer-encoding"} <= names:
                response = _refused(
                    400, "a request may carry Content-Length or Transfer-Encoding, not both"
                )
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
