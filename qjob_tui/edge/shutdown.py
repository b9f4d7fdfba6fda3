"""A normal stop that ends the open push streams first, the service's and the relay's alike.

A change stream (``GET .../stream``) never ends by itself, and uvicorn runs the app's shutdown
only after its graceful wait for the requests in progress: a stream open at Ctrl+C would hold
that wait to its timeout and then be cancelled, with an ERROR and a traceback in the log.
``StreamsFirstServer`` ends the streams as its shutdown begins, so the wait finds them done.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import uvicorn


class StreamsFirstServer(uvicorn.Server):
    """uvicorn's server, calling ``end_streams`` before it waits for the requests in progress."""

    def __init__(self, config: uvicorn.Config, end_streams: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._end_streams = end_streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self._end_streams()
        await super().shutdown(sockets)
