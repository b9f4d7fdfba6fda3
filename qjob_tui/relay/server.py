"""Run the relay: one store over the sources, served by uvicorn on the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import uvicorn

from qjob_tui.api.client import JobClient
from qjob_tui.api.source import Source
from qjob_tui.api.timeouts import READ_TIMEOUT
from qjob_tui.edge.connections import uvicorn_limits
from qjob_tui.edge.listen import bind, is_loopback
from qjob_tui.edge.shutdown import StreamsFirstServer
from qjob_tui.relay.app import create_relay_app
from qjob_tui.relay.door import Door, RelayTokens
from qjob_tui.store import JobStore, StoreConfig

if TYPE_CHECKING:
    from qjob_tui.relay.web.browser_session import WebSettings

log = logging.getLogger("qjob_tui.relay")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
WS_MAX_SIZE = 1 << 20  # bytes of one message from a browser: keys and sizes, never more


def relay_name(source: Source) -> str:
    """A source's name as a path segment: a URL source becomes ``host-port``."""
    name = source.name
    if "://" in name:
        name = name.split("://", 1)[1].split("/api/v1", 1)[0]
    return _UNSAFE.sub("-", name).strip("-") or "source"


def relay_sources(sources: Sequence[Source]) -> list[Source]:
    """The sources under names fit for ``/sources/{name}``, each name once."""
    named: list[Source] = []
    seen: set[str] = set()
    for source in sources:
        base = name = relay_name(source)
        n = 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        named.append(replace(source, name=name))
    return named


def refusal(host: str, tokens: RelayTokens) -> str | None:
    """Why the relay must not listen on this host, or None if it may."""
    if not is_loopback(host) and tokens.open_to_all:
        return (
            f"refusing to relay on {host} without a token: anyone on the network could watch "
            "and cancel jobs. Set QJOB_TUI_RELAY_TOKEN (viewers) and/or "
            "QJOB_TUI_RELAY_OPERATOR_TOKEN (may act), or relay on 127.0.0.1."
        )
    return None


def relay_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def run_relay(
    sources: Sequence[Source],
    config: StoreConfig,
    host: str,
    port: int,
    door: Door,
    *,
    log_level: str = "warning",
    also: Callable[[str], Awaitable[None]] | None = None,
    web: WebSettings | None = None,
    read_timeout: float = READ_TIMEOUT,
) -> int:
    """Serve until interrupted. ``door`` decides every caller's role, at the API and the
    browser's page alike (and at the SSH door, which ``also(url)`` runs beside the server);
    with ``web``, the dashboard in a browser is served at ``/``. Each upstream request waits
    ``read_timeout`` seconds for an answer; a source silent for longer reads as not answering."""
    clients = [JobClient(source, read_timeout=read_timeout) for source in sources]
    store = JobStore(clients, config)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    url = relay_url(bound_host, bound_port)
    app = create_relay_app(store, door)
    served: Any = app
    if web is not None:
        from qjob_tui.relay.web.routes import WithBrowser, browser_app

        web = replace(web, relay=url)
        served = WithBrowser(app, browser_app(store, web, door))

    async def end_streams() -> None:
        app.state.relay.streams.end_all()

    server = StreamsFirstServer(
        uvicorn.Config(
            served,
            log_level=log_level,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=2,
            ws_max_size=WS_MAX_SIZE,
            **uvicorn_limits(),
        ),
        end_streams,
    )
    await store.start()
    names = ", ".join(store.pollers)
    print(f"qjob-tui relay: {url}/sources  (sources: {names})", file=sys.stderr, flush=True)
    if web is not None:
        print(f"qjob-tui relay: dashboards in a browser at {url}/", file=sys.stderr, flush=True)
    side: asyncio.Task[None] | None = None
    try:
        if also is not None:
            side = asyncio.create_task(also(url), name="relay-side")
        with sock:
            await server.serve(sockets=[sock])
    finally:
        if side is not None:
            side.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await side
        if web is not None:
            await web.count.end_all()
        app.state.relay.streams.end_all()
        await store.stop()
    return 0 if server.started else 1
