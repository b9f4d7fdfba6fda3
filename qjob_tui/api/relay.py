"""A relay's sources (``GET /sources``), as Sources the dashboard watches like any other.

Each source of a relay is a server of the REST API v1 at ``{relay}/sources/{name}/api/v1``, with
the relay's token. The relay reports each upstream's health there and in its change stream.
"""

from __future__ import annotations

import httpx

from qjob_tui.api.errors import ApiError, BadResponse, NetworkError, NotAuthorized
from qjob_tui.api.source import Source
from qjob_tui.text import one_line


def relay_root(url: str) -> str:
    """The relay's root URL, whether given with ``/sources`` or not."""
    return url.rstrip("/").removesuffix("/sources")


def relay_sources(url: str, token: str | None, *, timeout: float = 10.0) -> list[Source]:
    """The sources a relay serves; ApiError (with a clear message) when it cannot say."""
    root = relay_root(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.get(f"{root}/sources", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NetworkError(f"relay {root} unreachable ({type(exc).__name__})") from None
    if answer.status_code in (401, 403):
        raise NotAuthorized(f"relay {root} refused the token: set QJOB_TUI_RELAY_TOKEN")
    if answer.status_code != 200:
        raise ApiError(f"relay {root} answered HTTP {answer.status_code} on /sources")
    try:
        listed = answer.json()["sources"]
        names = [one_line(item["name"], 80) for item in listed]
    except (ValueError, KeyError, TypeError):
        raise BadResponse(f"{root}/sources is not a relay's source list") from None
    return [Source.local(f"{root}/sources/{name}/api/v1", token, name=name) for name in names]
