"""A request whose client hung up before its body was read, or whose stalled body the edge cut
off: no one is left to answer, and nothing went wrong on this side, so it is said at info
level (it was logged as an unexpected error, with a traceback, at every such request)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("qjob_tui.edge")


async def client_left(request: Request, exc: Exception) -> Response:
    """Starlette's handler of ``ClientDisconnect``: an empty answer no one will read."""
    log.info("%s %s: the client left before its request was read", request.method, request.url.path)
    return Response(status_code=400)
