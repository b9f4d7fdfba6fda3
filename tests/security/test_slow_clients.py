"""Clients that hold a connection by being slow lose it: a body that trickles past its whole
time, and a client that stops reading its answers (each held a connection for as long as it
liked: a thousand of them fill the cap, and everyone else gets 503)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qjob_tui.edge import connections

BIG = b"x" * 4 * 1024 * 1024


async def big(request: Request) -> Response:
    return Response(BIG)


async def echo(request: Request) -> Response:
    return Response(await request.body())


@pytest.fixture()
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[uvicorn.Server]:
    """An edge-guarded server in this process, its bounds made short."""
    monkeypatch.setattr(connections, "BODY_IDLE_SECONDS", 0.5)
    monkeypatch.setattr(connections, "BODY_SECONDS", 1.5)
    monkeypatch.setattr(connections, "WRITE_STALL_SECONDS", 1.0)
    app = Starlette(routes=[Route("/big", big), Route("/echo", echo, methods=["POST"])])
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
        server.port = sock.getsockname()[1]  # type: ignore[attr-defined]
        yield server
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def test_a_body_that_trickles_past_its_time_is_cut_off(server: uvicorn.Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)  # type: ignore[attr-defined]
    writer.write(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")

    async def trickle() -> None:  # a byte every 0.1 s: well within the idle bound
        with contextlib.suppress(ConnectionError):
            for _ in range(1000):
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.1)

    sending = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(30):  # the whole body would take 100 s
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass
        assert not sending.done()  # closed by the server, long before the body could end
    finally:
        sending.cancel()
        writer.close()


async def test_a_client_that_stops_reading_loses_its_connection(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, to count
    conn.setblocking(False)
    asked = len(BIG) * 8
    try:
        await loop.sock_connect(conn, ("127.0.0.1", server.port))  # type: ignore[attr-defined]
        await loop.sock_sendall(conn, b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 8)
        got = 0
        async with asyncio.timeout(30):
            while not server.server_state.connections:
                await asyncio.sleep(0.01)
            while server.server_state.connections:  # a byte now and then: never enough
                await asyncio.sleep(0.5)
                got += len(await loop.sock_recv(conn, 1))
            with contextlib.suppress(ConnectionError):  # dropped: what is left, then the end
                while chunk := await loop.sock_recv(conn, 65536):
                    got += len(chunk)
        assert got < asked
    finally:
        conn.close()
