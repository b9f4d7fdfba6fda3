"""The change stream's wire format (``GET .../stream``), one copy for the service and the relay.

Server-sent events: ``event: NAME`` and one ``data:`` line of compact JSON, then a blank line; a
comment line every ``KEEPALIVE`` seconds on an idle stream (the hello says how often), so that
both ends see a dead peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from qjob_tui.wire.rest import KEEPALIVE

KEEPALIVE_LINE = b": keep-alive\n\n"


def sse(event: str, data: object) -> bytes:
    """One server-sent event; JSON data is one line, so one ``data:`` field."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def drain(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    """A subscriber's events as they come, a keep-alive line while idle, until None ends it."""
    while True:
        try:
            async with asyncio.timeout(KEEPALIVE):
                item = await queue.get()
        except TimeoutError:
            yield KEEPALIVE_LINE
            continue
        if item is None:
            return
        yield item


def end_stream(queue: asyncio.Queue[bytes | None]) -> None:
    """End a subscriber's stream: its ``drain`` returns at the None, even if it was full."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):  # it reconciles what it missed
            queue.get_nowait()
    queue.put_nowait(None)
