"""A relay's sources (``GET /sources``), as Sources the dashboard watches like any other.

Each source of a relay is a server of the REST API v1 at ``{relay}/sources/{name}/api/v1``, with
the relay's token. The relay reports each upstream's health there and in its change stream.
"""

from __future__ import annotations

import time
from dataclasses import replace

import httpx

from qjob_tui.api.errors import ApiError, BadResponse, NetworkError, NotAuthorized
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.source import Source
from qjob_tui.text import one_line


def relay_root(url: str) -> str:
    """The relay's root URL, whether given with ``/sources`` or not."""
    return url.rstrip("/").removesuffix("/sources")


def relay_sources(
    url: str, token: str | None, *, timeout: float = 10.0, policy: RetryPolicy | None = None
) -> list[Source]:
    """The sources a relay serves; ApiError (with a clear message) when it cannot say.

    A relay that cannot be reached is tried again, as every request of the client is: one
    started a moment before the dashboard may not listen yet.
    """
    root = relay_root(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    policy = policy or RetryPolicy()
    for attempt in range(1, policy.max_tries + 1):
        try:
            answer = httpx.get(f"{root}/sources", headers=headers, timeout=timeout)
            break
        except httpx.HTTPError as exc:
            if attempt == policy.max_tries:
                raise NetworkError(
                    f"relay {root} unreachable ({type(exc).__name__}) after {attempt} tries"
                ) from None
            time.sleep(policy.delay(attempt))
    if answer.status_code in (401, 403):
        raise NotAuthorized(f"relay {root} refused the token: set QJOB_TUI_RELAY_TOKEN")
    if answer.status_code == 404:
        raise ApiError(
            f"{root} has no /sources: it is no relay; if it is a job service, watch it with "
            f"--source {root}"
        )
    if answer.status_code != 200:
        raise ApiError(f"relay {root} answered HTTP {answer.status_code} on /sources")
    try:
        listed = answer.json()["sources"]
        names = [one_line(item["name"], 80) for item in listed]
    except (ValueError, KeyError, TypeError):
        raise BadResponse(f"{root}/sources is not a relay's source list") from None
    return [
        replace(Source.local(f"{root}/sources/{name}/api/v1", token, name=name), relayed=True)
        for name in names
    ]
