"""Connections and framing at the HTTP edge that the service and the relay share.

The edge parses HTTP with httptools (llhttp, in C): h11, in pure Python, was a sixth of the
service's time for each request. uvicorn times out idle keep-alive connections but not a
connection that never finishes its request, and puts no bound on a request's head. So:

- ``GuardedHttpProtocol``: a request head must arrive whole within ``HEAD_SECONDS`` of its first
  byte (or of the connection), and hold at most ``MAX_HEAD_BYTES``; a body must keep flowing
  (``BODY_IDLE_SECONDS``); otherwise the connection is closed. uvicorn's own settings do the
  rest (``uvicorn_limits``): at most ``MAX_CONNECTIONS`` at once, keep-alive connections
  closed after ``KEEP_ALIVE_SECONDS`` idle.
- ``RequestFraming``: a request with both ``Content-Length`` and ``Transfer-Encoding`` (the
  bytes after a chunked body would be read as a second request: a smuggling vector behind any
  proxy that reads the former) is refused with 400 and its connection closed. llhttp refuses
  it too, before the app; this stays for a parser that would not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_SECONDS = 5.0
BODY_IDLE_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 1000
# A request line and headers, together (h11's own bound was 16 KiB; browsers send a few KiB).
MAX_HEAD_BYTES = 64 * 1024
# How long a refused connection's input is still read (and dropped) before it is closed.
LINGER_SECONDS = 1.0

_TOO_LARGE_TEXT = b"the request's head is over 64 KiB"
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    + f"content-length: {len(_TOO_LARGE_TEXT)}\r\n".encode()
    + b"connection: close\r\n\r\n"
    + _TOO_LARGE_TEXT
)


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn.Config settings of the edge: the guarded protocol and the caps."""
    return {
        "http": GuardedHttpProtocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a bound on the request head, and a
    deadline on a stalled body."""

    _deadline: asyncio.TimerHandle | None = None
    _in_head = False  # a request's head has begun and is not whole yet
    _in_body = False  # its head is whole, its body is not
    _head_bytes = 0
    _refused = False  # answered 431: closing

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEAD_SECONDS)  # the first request's head

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: what else comes is read and dropped
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            # Upgraded to a websocket (the relay's browser view): the connection is the
            # websocket protocol's now, and lives as long as its tab; no deadline of ours.
            self._disarm()
            return
        if self._in_head:
            # Counted after the parser read it, so that a body sent with its head is not
            # counted as head: a chunk still in the head is head (or a pipelined tail).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                self._refuse_head()
        elif self._in_body:
            self._arm(BODY_IDLE_SECONDS)  # each piece of body buys the next few seconds

    def _refuse_head(self) -> None:
        """Answer 431 and end the connection. Its input is read and dropped for a moment
        before the close: a close with unread input resets the connection, and the client,
        still sending, would lose the answer."""
        self.logger.info("closing a connection whose request head is too large")
        self._refused = True
        self.transport.write(_HEAD_TOO_LARGE)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._disarm()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._in_body, self._head_bytes = True, False, 0
        if self._deadline is None:
            self._arm(HEAD_SECONDS)  # a new request begins: its head has a deadline

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._arm(BODY_IDLE_SECONDS)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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
        if not self.transport.is_closing():
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
