"""A header added to every HTTP answer, its value read as the answer starts.

The service names itself in every answer, and the relay names, per source, the server behind it
(``X-Qjob-Tui-Instance``); one middleware serves both, each with its own way to find the value.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseHeader:
    """Adds ``name: value(scope)`` to every HTTP answer; no header where the value is None."""

    def __init__(self, app: ASGIApp, name: str, value: Callable[[Scope], str | None]) -> None:
        self.app = app
        self.name = name.lower().encode("latin-1")
        self.value = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = self.value(scope)  # as it is when answering
                if value is not None:
                    header = (self.name, value.encode("latin-1"))
                    message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, stamped)
