"""What keeps web pages out of a server that takes no token.

A server without a token trusts every program of this machine, and a browser on it runs pages
of any site. Two tricks would let such a page act through it: a name of the page's own that
rebinds to 127.0.0.1 (the browser then treats the server as the page's site, answers included),
and a simple cross-site POST (a cancel), sent blind. So where no token is needed a request must
be addressed to a loopback name, and, if it says where it comes from (``Origin``: browsers send
it with every cross-site POST, fetch and websocket), come from the server's own address.
Programs (qjob-tui, qiskit-ibm-runtime, curl) send no ``Origin`` and name the address they use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui.edge.listen import is_loopback


def _hostname(host: str) -> str:
    """The name of a ``Host`` header's value, without port or brackets."""
    try:
        return urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""


@lru_cache(maxsize=256)  # asked of every request without a token; parsing an address is not free
def is_loopback_host(host: str) -> bool:
    """True when a ``Host`` header (``127.0.0.1:8000``, ``localhost``, ``[::1]:80``) names this
    machine's loopback, by the rule of where a server may listen without a token."""
    return is_loopback(_hostname(host))


def same_origin(headers: Mapping[str, str]) -> bool:
    """True when the request's ``Origin`` (if any) is the host it was sent to.

    A browser always sends ``Origin`` with a websocket, a fetch and a cross-site post; a program
    that sends none is no page of another site.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc == headers.get("host", "")


# Sec-Fetch-Site values of a request a page of another site (or another port) made.
CROSS_SITE = ("cross-site", "same-site")


def page_refusal(headers: Mapping[str, str]) -> str | None:
    """Why a request that no token vouches for may not come in, or None if it may."""
    if not is_loopback_host(headers.get("host", "")):
        return (
            "this server takes no token, so it answers only requests sent to a loopback "
            "address (127.0.0.1, [::1] or localhost)"
        )
    # A browser names where a request comes from in Sec-Fetch-Site, even for a GET with no
    # Origin (an <img> of another page, which could read a private job's result away).
    if not same_origin(headers) or headers.get("sec-fetch-site") in CROSS_SITE:
        return "this server takes no token, so it answers no web page of another site"
    return None


class PagesKeptOut:
    """ASGI middleware: requests that ``unvouched(headers)`` says get in without a token must
    pass ``page_refusal``; a refused one gets ``refuse(reason)``'s 403."""

    def __init__(
        self,
        app: ASGIApp,
        unvouched: Callable[[Mapping[str, str]], bool],
        refuse: Callable[[str], ASGIApp],
    ) -> None:
        self.app = app
        self.unvouched = unvouched
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                key.decode("latin-1").lower(): value.decode("latin-1")
                for key, value in scope.get("headers") or []
            }
            if self.unvouched(headers):
                reason = page_refusal(headers)
                if reason is not None:
                    await self.refuse(reason)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
