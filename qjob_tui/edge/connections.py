"""Connections and framing at the HTTP edge that the service and the relay share.

uvicorn times out idle keep-alive connections but not a connection that never finishes its
request, and h11 reads a request with both ``Content-Length`` and ``Transfer-Encoding`` by the
latter, answering the bytes after the chunked body as a second request (a smuggling vector
behind any proxy that reads the former). So:

- ``GuardedH11Protocol``: a request head must arrive whole within ``HEAD_SECONDS`` of its first
  byte (or of the connection), and a body must keep flowing (``BODY_IDLE_SECONDS``); otherwise
  the connection is closed. uvicorn's own settings do the rest (``uvicorn_limits``): at most
  ``MAX_CONNECTIONS`` at once, keep-alive connections closed after ``KEEP_ALIVE_SECONDS`` idle.
- ``RequestFraming``: a request with both headers is refused
  with 400 and its connection closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 5.0
BODY_IDLE_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 1000


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn.Config settings of the edge: the guarded protocol and the caps."""
    return {
        "http": GuardedH11Protocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on the request head and on a stalled body."""

    _deadline: asyncio.TimerHandle | None = None

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
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._arm(BODY_IDLE_SECONDS)  # each piece of body buys the next few seconds
        elif state is h11.IDLE and data:
            if self._deadline is None:
                self._arm(HEAD_SECONDS)  # a new request begins: its head has a deadline
        else:
            self._disarm()

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
