"""Who answers behind each of a relay's sources, as a qjob-tui service says who it is.

A dashboard keys its cache and state by who its server is (``GET /version``'s ``instance_id``,
and the ``X-Qjob-Tui-Instance`` header of every answer). Through a relay, that is the upstream
server the relay reads now: another server behind the same source (a fresh service on the same
port) is another instance, so a viewer never shows one server's cached jobs as another's. The id
is derived from the source's name and the upstream's identity; until the relay knows who
answers upstream, ``/version`` says so (503) and no answer carries the header.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qjob_tui.store import JobStore
from qjob_tui.wire import rest


def relay_instance(store: JobStore, source: str) -> str | None:
    """The instance id a relay's source answers under; None while upstream is unknown."""
    upstream = store.identity(source)
    if upstream is None:
        return None
    return hashlib.sha256(f"relay source {source}\n{upstream}".encode()).hexdigest()[:32]


class SourceInstanceHeader:
    """Adds the source's instance id (``relay_instance``) to every answer under its path."""

    def __init__(self, app: ASGIApp, store: JobStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = scope.get("path_params", {}).get("source")
        if scope["type"] != "http" or not isinstance(source, str):
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                instance = relay_instance(self.store, source)  # as it is when answering
                if instance is not None:
                    header = (rest.INSTANCE_HEADER.lower().encode(), instance.encode())
                    message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, stamped)
