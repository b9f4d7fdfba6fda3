"""ASGI middleware of the service: a request body limit and an error boundary.

Starlette answers an unhandled exception with a 500 and then re-raises it, and uvicorn closes the
connection of any request whose app raised after its response started: a keep-alive client's
next request then fails too. The boundary answers the 500 itself and swallows the exception, so
an error costs one request, never the connection.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qjob_tui.service import views
from qjob_tui.service.db import StorageFull, storage_failure

log = logging.getLogger("qjob_tui.service")

DEFAULT_MAX_BODY = 32 * 1024 * 1024
# A body declared over the limit is read and dropped up to this many times the limit before the
# 413 is sent: a client still uploading reads an answer only from a connection that is not
# reset under it (an unread body makes the close a reset, which takes the 413 with it). Past
# it the connection is closed at once.
DRAIN_FACTOR = 8


class BodyTooLarge(Exception):
    """The request body is over the service's limit; answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than this service's limit of {limit} bytes")
        self.limit = limit


def too_large(limit: int) -> views.JSONResponse:
    response = views.error(413, "payload_too_large", str(BodyTooLarge(limit)))
    # The rest of the body is never read, so this connection cannot carry another request.
    response.headers["connection"] = "close"
    return response


class BodyLimit:
    """Refuses bodies over ``limit`` bytes: by Content-Length at once, or as they stream in."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers") or []:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    if declared <= self.limit * DRAIN_FACTOR:
                        await _drain(receive)
                    await too_large(self.limit)(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


async def _drain(receive: Receive) -> None:
    """Read the request's body to its end, keeping none of it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class ErrorBoundary:
    """Turns any exception into IBM's error body, without closing the connection: a full disk
    into 507 (Insufficient Storage), anything else into 500."""

    def __init__(self, app: ASGIApp, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except BodyTooLarge as exc:
            if not started:
                await too_large(exc.limit)(scope, receive, send)
        except ClientDisconnect:
            # The client hung up, or its stalled body was cut off by the edge: no one to
            # answer, and nothing that went wrong here.
            method, path = scope.get("method"), scope.get("path")
            log.info("%s %s: the client left before its request was read", method, path)
        except Exception as exc:
            if storage_failure(exc):
                log.warning("%s %s: %s", scope.get("method"), scope.get("path"), exc)
                if not started:
                    found = exc if isinstance(exc, StorageFull) else StorageFull(self.data_dir)
                    await views.error(507, "insufficient_storage", str(found))(scope, receive, send)
                return
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                response = views.error(
                    500, "internal_error", "internal error; see the service's log"
                )
                await response(scope, receive, send)
