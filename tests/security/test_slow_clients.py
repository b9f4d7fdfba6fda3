"""Clients that hold a connection by being slow lose it: a body that trickles below its pace,
and a client that stops reading its answers (each held a connection for as long as it liked: a
thousand of them fill the cap, and everyone else gets 503). Honest slow clients keep theirs: a
large upload or a large answer on a slow link."""

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
from tests.edge_server import edge_server

BIG = b"x" * 4 * 1024 * 1024
HUGE = b"y" * 24 * 1024 * 1024  # more than the systems' socket buffers hold on loopback


async def big(request: Request) -> Response:
    return Response(BIG)


async def huge(request: Request) -> Response:
    return Response(HUGE)


async def echo(request: Request) -> Response:
    return Response(await request.body())


async def ok(request: Request) -> Response:
    return Response(b"ok")


@pytest.fixture()
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[uvicorn.Server]:
    """An edge-guarded server in this process, its bounds made short."""
    monkeypatch.setattr(connections, "BODY_IDLE_SECONDS", 0.5)
    monkeypatch.setattr(connections, "BODY_GRACE_SECONDS", 1.5)
    monkeypatch.setattr(connections, "MIN_BODY_RATE", 64 * 1024)
    monkeypatch.setattr(connections, "WRITE_STALL_SECONDS", 1.0)
    monkeypatch.setattr(connections, "MIN_READ_RATE", 64 * 1024)
    routes = [
        Route("/big", big),
        Route("/huge", huge),
        Route("/ok", ok),
        Route("/echo", echo, methods=["POST"]),
    ]
    async with edge_server(Starlette(routes=routes)) as (server, port):
        server.port = port  # type: ignore[attr-defined]
        yield server


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


def _small_window() -> socket.socket:
    """A client socket whose receive window is tiny (set before connecting): what it does not
    read waits in the server's buffer, not in the systems'."""
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.setblocking(False)
    return conn


async def _until_no_connection(server: uvicorn.Server) -> None:
    """The server holds no connection any more, within the test's bound (the check itself)."""
    async with asyncio.timeout(30):
        while server.server_state.connections:
            await asyncio.sleep(0.05)


async def test_a_client_that_stops_reading_loses_its_connection(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    conn = _small_window()
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
        assert got < len(BIG)  # not even one answer was taken
    finally:
        conn.close()


async def test_one_answer_never_read_loses_its_connection(server: uvicorn.Server) -> None:
    # One request, its answer handed over and the connection closing after it: a closing
    # connection lives until the client takes what it holds, so the bound applies there too.
    loop = asyncio.get_running_loop()
    conn = _small_window()
    try:
        await loop.sock_connect(conn, ("127.0.0.1", server.port))  # type: ignore[attr-defined]
        request = b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        await loop.sock_sendall(conn, request)
        async with asyncio.timeout(30):
            while not server.server_state.connections:
                await asyncio.sleep(0.01)
        await _until_no_connection(server)
    finally:
        conn.close()


async def test_a_slow_steady_reader_gets_its_whole_answer(
    server: uvicorn.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 MiB a second: the answer waits for it in the server's buffer through many (shortened)
    # windows, each taking far more than the minimum pace.
    monkeypatch.setattr(connections, "WRITE_STALL_SECONDS", 0.3)
    loop = asyncio.get_running_loop()
    conn = socket.socket()
    conn.setblocking(False)
    try:
        await loop.sock_connect(conn, ("127.0.0.1", server.port))  # type: ignore[attr-defined]
        # Kept alive: the connection stays open (not closing) while its answer waits.
        await loop.sock_sendall(conn, b"GET /huge HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = bytearray()
        async with asyncio.timeout(60):
            while not received.endswith(HUGE):
                chunk = await loop.sock_recv(conn, 64 * 1024)
                assert chunk, f"the connection ended after {len(received)} bytes"
                received += chunk
                await asyncio.sleep(len(chunk) / (4 * 1024 * 1024))
    finally:
        conn.close()


async def test_a_slow_steady_upload_is_received_whole(server: uvicorn.Server) -> None:
    # 1 MiB at about 320 KiB a second: longer than the (shortened) grace, well above the pace.
    body = bytes(range(256)) * 4096
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)  # type: ignore[attr-defined]
    try:
        head = f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n")
        for start in range(0, len(body), 32 * 1024):
            writer.write(body[start : start + 32 * 1024])
            await writer.drain()
            await asyncio.sleep(0.1)
        async with asyncio.timeout(30):
            answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(body)
    finally:
        writer.close()


async def test_a_pipelined_body_that_stalls_is_cut_off(server: uvicorn.Server) -> None:
    # The second request's head and a piece of its body come with the first request: read from
    # the server's buffer after the first answer, its body is bounded all the same.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)  # type: ignore[attr-defined]
    try:
        writer.write(
            b"GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nabc"
        )
        await writer.drain()
        async with asyncio.timeout(30):
            answers = await reader.read()  # to the end: the server closes the connection
        assert answers.startswith(b"HTTP/1.1 200") and answers.endswith(b"ok")
    finally:
        writer.close()
