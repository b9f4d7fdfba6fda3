"""The slow-request guard of the HTTP edge stops at a websocket upgrade: the relay's browser
view keeps its websocket for as long as the tab is open (the guard's body deadline used to close
every upgraded connection ten seconds in: the browser dashboard ended by itself)."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from qjob_tui.edge import connections
from tests.edge_server import edge_server


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        await websocket.send_text(await websocket.receive_text())


async def test_a_websocket_outlives_the_edges_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "HEAD_SECONDS", 0.2)
    monkeypatch.setattr(connections, "BODY_IDLE_SECONDS", 0.2)
    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    async with edge_server(app) as (_, port), websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        # Ten times the deadlines: still open, still answering.
        for n in range(20):
            await ws.send(f"ping {n}")
            assert await ws.recv() == f"ping {n}"
            await asyncio.sleep(0.1)
