"""An edge-guarded uvicorn server in the test's own process and event loop, on a free loopback
port: the edge's deadlines can be shortened by monkeypatching ``qjob_tui.edge.connections``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

from qjob_tui.edge import connections


@contextlib.asynccontextmanager
async def edge_server(app: ASGIApp) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """The server serving ``app`` once it has started, and its port; stopped on the way out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", **connections.uvicorn_limits()
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        await serving
        sock.close()
